{#- Refund postings of every commerce channel in one shape (refund currency), with the refunded order's key
    and whether it counts as a sale from int_orders. A refund of an order the warehouse does not hold (an
    Amazon financial event of an order the Orders API has not delivered or ingestion quarantined) counts:
    only refunds of test or cancelled orders are left out of sales. -#}
with refunds as (
    select * from {{ ref('int_shopify__refunds') }}
    union all
    select * from {{ ref('int_amazon__refunds') }}
    union all
    select * from {{ ref('int_ebay__refunds') }}
)

select
    {{ dbt.hash(dbt.concat(["r.channel", "'|'", "r.refund_line_id"])) }} as refund_line_key,
    o.order_key,
    r.channel,
    r.refund_id,
    r.refund_line_id,
    r.order_id,
    r.refunded_at,
    cast(r.refunded_at as date) as refund_date,
    r.currency,
    {{ posting_counts_as_sale('o') }} as order_counts_as_sale,
    r.refund_amount,
    r.sku
from refunds as r
left join {{ ref('int_orders') }} as o on o.channel = r.channel and o.order_id = r.order_id
