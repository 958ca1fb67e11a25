{#- Marketplace fee lines as posted (int_marketplace_fees): positive = charged to us, negative = credited back;
    marketplace fees (the metric) are the rows with counts_as_marketplace_fee. -#}
with fees as (
    select * from {{ ref('int_marketplace_fees') }}
)

select
    f.fee_posting_key,
    f.order_key,
    f.channel,
    f.fee_posting_id,
    f.order_id,
    f.fee_event,
    f.posted_at,
    f.posted_date,
    f.currency,
    f.order_counts_as_sale,
    {{ to_money('f.fee_amount') }} as fee_amount,
    {{ to_usd('f.fee_amount', usd_per_unit('r', 'f.currency')) }} as fee_amount_usd,
    f.fee_type,
    f.sku,
    f.counts_as_marketplace_fee
from fees as f
{{ join_fx_rate('r', 'f.currency', 'f.posted_date') }}
