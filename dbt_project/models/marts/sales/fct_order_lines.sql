{#- One row per order line of every commerce channel (current state of the order), gross in the line's
    currency and in USD at the order date's rate. Rounded per line: Σ lines' gross_sales_usd may differ by
    a cent from fct_orders.gross_sales_usd, which is rounded per order (fct_orders is the revenue figure). Costed at
    the unit cost valid on the order date (int_order_line_costs, docs/costs.md). -#}
-- built after fct_orders, in the Dagster run that holds its relationship test to fct_orders:
-- depends_on: {{ ref('fct_orders') }}
with lines as (
    select * from {{ ref('int_order_lines') }}
)

select
    l.order_line_key,
    l.order_key,
    l.product_key,
    l.customer_key,
    l.channel,
    l.order_id,
    l.line_id,
    l.sku,
    l.order_date,
    l.quantity,
    l.currency,
    l.counts_as_sale,
    {{ to_money('l.gross_sales') }} as gross_sales,
    {{ usd_per_unit('r', 'l.currency') }} as usd_per_unit,
    {{ to_usd('l.gross_sales', usd_per_unit('r', 'l.currency')) }} as gross_sales_usd,
    c.unit_cost_usd,
    c.cogs_usd,
    c.is_cost_missing
from lines as l
left join {{ ref('int_order_line_costs') }} as c on c.order_line_key = l.order_line_key
{{ join_fx_rate('r', 'l.currency', 'l.order_date') }}
