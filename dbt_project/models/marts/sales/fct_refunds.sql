{#- Every refund posting of every commerce channel (int_refunds), booked on its own UTC date. Restocked units
    (Shopify refunds with restock: the world's only restocking channel) return their cost to stock, at the unit cost
    the sale was costed at (its order date's); null when that sale has no cost (docs/costs.md). -#}
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
    j.sku,
    cast(coalesce(s.quantity, 0) as integer) as restocked_quantity,
    case
        when coalesce(s.quantity, 0) = 0 then cast(0 as decimal(18, 2))
        else {{ to_money('s.quantity * c.unit_cost_usd') }}
    end as restocked_cost_usd
from refunds as j
left join {{ ref('stg_shopify__refund_line_items') }} as s
    on j.channel = 'shopify' and cast(s.refund_line_item_id as varchar) = j.refund_line_id and s.is_restocked
left join {{ ref('int_order_line_costs') }} as c
    on c.channel = 'shopify' and c.order_id = j.order_id and c.line_id = cast(s.line_item_id as varchar)
{{ join_fx_rate('r', 'j.currency', 'j.refund_date') }}
