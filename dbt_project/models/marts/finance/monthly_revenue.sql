{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='revenue_month',
          on_schema_change='append_new_columns') }}
{#- Finance's monthly revenue (docs/architecture.md, Data path and Month close): closed months exactly as published; open months live,
    plus the adjustments of closed months booked into them (net revenue; COGS and gross margin alike:
    docs/costs.md).
    Partitioned (Dagster monthly partitions; vars partition_start / partition_end, month starts, inclusive,
    '' = unbounded): a run rebuilds exactly those months (delete + insert); without them it rebuilds every month. -#}
{%- set partition_start = run_var('partition_start') -%}
{%- set partition_end = run_var('partition_end') -%}
with live as (
    select * from {{ ref('channel_revenue_monthly') }}
),

closed as (
    select * from {{ ref('period_closes') }}
),

adjustments as (
    select
        booked_month,
        channel,
        sum(amount_usd) as adjustments_usd,
        sum(coalesce(cogs_usd, 0)) as cogs_adjustments_usd,
        sum(coalesce(gross_margin_usd, 0)) as gross_margin_adjustments_usd
    from {{ ref('revenue_adjustments') }}
    group by booked_month, channel
),

open_months as (
    select live.*
    from live
    where not exists (
            select 1 from closed
            where closed.revenue_month = live.revenue_month and closed.channel = live.channel
        )
),

open_rows as (
    -- open months with live data, and open months that only receive adjustments
    select
        coalesce(o.revenue_month, a.booked_month) as revenue_month,
        coalesce(o.channel, a.channel) as channel,
        coalesce(o.orders, 0) as orders,
        coalesce(o.gross_sales_usd, 0) as gross_sales_usd,
        coalesce(o.discounts_usd, 0) as discounts_usd,
        coalesce(o.refunds_usd, 0) as refunds_usd,
        coalesce(o.net_sales_usd, 0) as net_sales_usd,
        coalesce(o.marketplace_fees_usd, 0) as marketplace_fees_usd,
        coalesce(a.adjustments_usd, 0) as adjustments_usd,
        coalesce(o.net_revenue_usd, 0) + coalesce(a.adjustments_usd, 0) as net_revenue_usd,
        'open' as period_status,
        cast(null as timestamp with time zone) as closed_at,
        case
            when coalesce(o.channel, a.channel) <> 'b2b'
                then coalesce(o.cogs_usd, 0) + coalesce(a.cogs_adjustments_usd, 0)
        end as cogs_usd,
        case
            when coalesce(o.channel, a.channel) <> 'b2b'
                then coalesce(o.gross_margin_usd, 0) + coalesce(a.gross_margin_adjustments_usd, 0)
        end as gross_margin_usd,
        coalesce(a.cogs_adjustments_usd, 0) as cogs_adjustments_usd
    from open_months as o
    full outer join adjustments as a on a.booked_month = o.revenue_month and a.channel = o.channel
),

closed_rows as (
    select
        revenue_month, channel, orders, gross_sales_usd, discounts_usd, refunds_usd, net_sales_usd,
        marketplace_fees_usd, cast(0 as decimal(18, 2)) as adjustments_usd, net_revenue_usd,
        'closed' as period_status, closed_at, cogs_usd, gross_margin_usd,
        cast(0 as decimal(18, 2)) as cogs_adjustments_usd
    from closed
)

select
    cast(revenue_month as date) as revenue_month,
    channel,
    cast(orders as integer) as orders,
    {{ to_money('gross_sales_usd') }} as gross_sales_usd,
    {{ to_money('discounts_usd') }} as discounts_usd,
    {{ to_money('refunds_usd') }} as refunds_usd,
    {{ to_money('net_sales_usd') }} as net_sales_usd,
    {{ to_money('marketplace_fees_usd') }} as marketplace_fees_usd,
    {{ to_money('adjustments_usd') }} as adjustments_usd,
    {{ to_money('net_revenue_usd') }} as net_revenue_usd,
    period_status,
    cast(closed_at as timestamp with time zone) as closed_at,
    {{ to_money('cogs_usd') }} as cogs_usd,
    {{ to_money('gross_margin_usd') }} as gross_margin_usd,
    {{ to_money('cogs_adjustments_usd') }} as cogs_adjustments_usd
from (
    select * from closed_rows
    union all
    select * from open_rows
) as months
where
    {% if partition_start %}revenue_month >= cast('{{ partition_start }}' as date){% else %}true{% endif %}
    and {% if partition_end %}revenue_month <= cast('{{ partition_end }}' as date){% else %}true{% endif %}
