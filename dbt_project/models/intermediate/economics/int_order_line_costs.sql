{#- Every commerce order line costed at the unit cost valid on its order date (int_product_cost_ranges), in USD at
    the order date's rate of the cost's currency, plus the SKU's landed-cost extras (seed product_landed_costs).
    A line whose SKU has no cost on that date (no SKU, a SKU Shopify does not cost, a cleared cost) has
    is_cost_missing true and null cost: counted by the check cost_is_missing, never costed at zero. -#}
with lines as (
    select * from {{ ref('int_order_lines') }}
),

landed as (
    select
        sku,
        coalesce(shipping_in_usd, 0) + coalesce(packaging_usd, 0) as extras_usd
    from {{ ref('product_landed_costs') }}
),

costed as (
    select
        l.order_line_key,
        l.channel,
        l.order_id,
        l.line_id,
        l.sku,
        l.order_date,
        l.quantity,
        l.counts_as_sale,
        c.version_number as cost_version,
        c.unit_cost,
        c.unit_cost_currency,
        {{ to_money('coalesce(x.extras_usd, 0)') }} as landed_extras_usd,
        case
            when c.unit_cost is not null
                then {{ to_usd('c.unit_cost', usd_per_unit('r', 'c.unit_cost_currency')) }} + coalesce(x.extras_usd, 0)
        end as unit_cost_usd
    from lines as l
    left join {{ ref('int_product_cost_ranges') }} as c
        on c.sku = l.sku and c.valid_from <= l.order_date and c.valid_to > l.order_date
    left join landed as x on x.sku = l.sku
    {{ join_fx_rate('r', 'c.unit_cost_currency', 'l.order_date') }}
)

select
    order_line_key,
    channel,
    order_id,
    line_id,
    sku,
    order_date,
    quantity,
    counts_as_sale,
    cost_version,
    unit_cost,
    unit_cost_currency,
    landed_extras_usd,
    {{ to_money('unit_cost_usd') }} as unit_cost_usd,
    {{ to_money('unit_cost_usd * quantity') }} as cogs_usd,
    unit_cost_usd is null as is_cost_missing
from costed
