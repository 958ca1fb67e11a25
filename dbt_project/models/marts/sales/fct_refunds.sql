{#- Every refund posting of every commerce channel (int_refunds), booked on its own UTC date. -#}
with refunds as (
    select * from {{ ref('int_refunds') }}
)

select
    j.refund_line_key,
    j.order_key,
    j.channel,
    j.refund_id,
    j.refund_line_id,
    j.order_id,
    j.refunded_at,
    j.refund_date,
    j.currency,
    j.order_counts_as_sale,
    {{ to_money('j.refund_amount') }} as refund_amount,
    {{ to_usd('j.refund_amount', usd_per_unit('r', 'j.currency')) }} as refund_amount_usd,
    j.sku
from refunds as j
{{ join_fx_rate('r', 'j.currency', 'j.refund_date') }}
