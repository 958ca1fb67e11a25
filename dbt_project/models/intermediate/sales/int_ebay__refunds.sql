{{ config(materialized='view') }}
{#- eBay refunds in the conformed refund shape (int_refunds); a cancellation shows as a full refund (it never
    counts: its order does not count as a sale, see int_refunds). A line refund carries its line's SKU
    (lineItems[].refunds[]); an order-level refund (a cancellation) has none. -#}
select
    'ebay' as channel,
    r.refund_id as refund_line_id,
    r.refund_id,
    o.order_id,
    r.refunded_at,
    r.currency,
    r.amount as refund_amount,
    lr.sku
from {{ ref('stg_ebay__refunds') }} as r
inner join {{ ref('stg_ebay__orders') }} as o on o.order_id = r.order_id
left join {{ ref('stg_ebay__line_item_refunds') }} as lr on lr.refund_id = r.refund_id
