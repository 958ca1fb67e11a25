{{ config(materialized='view') }}
{#- eBay refunds in the conformed refund shape (int_refunds); a cancellation shows as a full refund (it never
    counts: its order does not count as a sale, see int_refunds). -#}
select
    'ebay' as channel,
    r.refund_id as refund_line_id,
    r.refund_id,
    o.order_id,
    r.refunded_at,
    r.currency,
    r.amount as refund_amount
from {{ ref('stg_ebay__refunds') }} as r
inner join {{ ref('stg_ebay__orders') }} as o on o.order_id = r.order_id
