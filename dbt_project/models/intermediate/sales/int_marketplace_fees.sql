{#- Marketplace fee postings of every channel in one shape (fee currency; positive = charged to us, negative =
    credited back), with the order's key and whether it counts as a sale from int_orders. A fee of an order the
    warehouse does not hold (see int_refunds) counts. -#}
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
    f.fee_amount
from fees as f
left join {{ ref('int_orders') }} as o on o.channel = f.channel and o.order_id = f.order_id
