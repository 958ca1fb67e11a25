{#- Marketplace fee lines of every channel in one shape (fee currency; positive = charged to us, negative =
    credited back), with the order's key, whether it counts as a sale from int_orders (a fee of an order the
    warehouse does not hold, or of no order at all - a subscription, a storage fee - counts) and whether its fee
    type is a marketplace fee (counts_as_marketplace_fee, macros/sales_rules.sql). -#}
with fees as (
    select * from {{ ref('int_amazon__marketplace_fees') }}
    union all
    select * from {{ ref('int_ebay__marketplace_fees') }}
)

select
    {{ dbt.hash(dbt.concat(["f.channel", "'|'", "f.fee_posting_id"])) }} as fee_posting_key,
    o.order_key,
    f.channel,
    f.fee_posting_id,
    f.order_id,
    f.fee_event,
    f.posted_at,
    cast(f.posted_at as date) as posted_date,
    f.currency,
    {{ posting_counts_as_sale('o') }} as order_counts_as_sale,
    f.fee_amount,
    f.fee_type,
    f.sku,
    {{ counts_as_marketplace_fee('f.fee_type') }} as counts_as_marketplace_fee
from fees as f
left join {{ ref('int_orders') }} as o on o.channel = f.channel and o.order_id = f.order_id
