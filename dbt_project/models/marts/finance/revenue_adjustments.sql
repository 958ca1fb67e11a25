{{ config(materialized='incremental', full_refresh=false, on_schema_change='append_new_columns') }}
{#- A late source change to a closed month: the difference between what the data says now and what was
    published (plus adjustments already recorded), booked in the earliest open month. Append-only. A cost
    correction (a closed month's COGS as the data says it now, docs/costs.md) is one too: cogs_usd and
    gross_margin_usd; a month published without COGS (before costs existed) never gets a COGS adjustment. -#}
{#- a ledger written before COGS existed has no cogs_usd yet (on_schema_change appends it after this select);
    a unit test's `this` is a string -#}
{%- set recorded_columns = (adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list)
    if is_incremental() and this is not string else [] %}
with live as (
    select * from {{ ref('channel_revenue_monthly') }}
),

closed as (
    select * from {{ ref('period_closes') }}
),

recorded as (
    -- adjustments already recorded per closed month (none on the first build)
    select
        original_month,
        channel,
        sum(orders_delta) as orders,
        sum(gross_sales_usd) as gross_sales_usd,
        sum(discounts_usd) as discounts_usd,
        sum(refunds_usd) as refunds_usd,
        sum(marketplace_fees_usd) as marketplace_fees_usd,
        sum(amount_usd) as net_revenue_usd,
        sum({{ 'cogs_usd' if 'cogs_usd' in recorded_columns else 'cast(0 as decimal(18, 2))' }}) as cogs_usd
    {%- if is_incremental() %}
        from {{ this }}
    {%- else %}
        from (
            select
                cast(null as date) as original_month,
                cast(null as {{ dbt.type_string() }}) as channel,
                0 as orders_delta,
                {{ to_money(0) }} as gross_sales_usd,
                {{ to_money(0) }} as discounts_usd,
                {{ to_money(0) }} as refunds_usd,
                {{ to_money(0) }} as marketplace_fees_usd,
                {{ to_money(0) }} as amount_usd,
                {{ to_money(0) }} as cogs_usd
        ) as nothing_recorded
        where false
    {%- endif %}
    group by original_month, channel
),

open_month as (
    -- the first month that is not closed: where late changes are counted
    select min(revenue_month) as booked_month
    from (
        select revenue_month from live
        where not {{ month_is_closable('revenue_month') }}
        union all
        select {{ dbt.dateadd('month', 1, 'max(revenue_month)') }} from closed
    ) as candidates
),

deltas as (
    select
        closed.revenue_month as original_month,
        closed.channel,
        coalesce(live.orders, 0) - closed.orders - coalesce(recorded.orders, 0) as orders_delta,
        coalesce(live.gross_sales_usd, 0) - closed.gross_sales_usd
        - coalesce(recorded.gross_sales_usd, 0) as gross_sales_usd,
        coalesce(live.discounts_usd, 0) - closed.discounts_usd - coalesce(recorded.discounts_usd, 0) as discounts_usd,
        coalesce(live.refunds_usd, 0) - closed.refunds_usd - coalesce(recorded.refunds_usd, 0) as refunds_usd,
        coalesce(live.marketplace_fees_usd, 0) - closed.marketplace_fees_usd
        - coalesce(recorded.marketplace_fees_usd, 0) as marketplace_fees_usd,
        coalesce(live.net_revenue_usd, 0) - closed.net_revenue_usd
        - coalesce(recorded.net_revenue_usd, 0) as amount_usd,
        coalesce(coalesce(live.cogs_usd, 0) - closed.cogs_usd - coalesce(recorded.cogs_usd, 0), 0) as cogs_usd
    from closed
    left join live on live.revenue_month = closed.revenue_month and live.channel = closed.channel
    left join recorded on recorded.original_month = closed.revenue_month and recorded.channel = closed.channel
)

select
    deltas.original_month,
    cast(open_month.booked_month as date) as booked_month,
    deltas.channel,
    {{ to_money('deltas.amount_usd') }} as amount_usd,
    cast(deltas.orders_delta as integer) as orders_delta,
    {{ to_money('deltas.gross_sales_usd') }} as gross_sales_usd,
    {{ to_money('deltas.discounts_usd') }} as discounts_usd,
    {{ to_money('deltas.refunds_usd') }} as refunds_usd,
    {{ to_money('deltas.marketplace_fees_usd') }} as marketplace_fees_usd,
    cast(
        'late source change to a closed month: net revenue ' || cast(deltas.amount_usd as varchar)
        || ' USD (gross ' || cast(deltas.gross_sales_usd as varchar)
        || ', discounts ' || cast(deltas.discounts_usd as varchar)
        || ', refunds ' || cast(deltas.refunds_usd as varchar)
        || ', fees ' || cast(deltas.marketplace_fees_usd as varchar)
        || ', orders ' || cast(deltas.orders_delta as varchar)
        || ', cogs ' || cast(deltas.cogs_usd as varchar) || ')' as varchar
    ) as reason,  -- text on PostgreSQL
    current_timestamp as detected_at,
    {{ to_money('deltas.cogs_usd') }} as cogs_usd,
    {{ to_money('deltas.gross_sales_usd - deltas.discounts_usd - deltas.refunds_usd - deltas.cogs_usd') }}
        as gross_margin_usd
from deltas
cross join open_month
where deltas.amount_usd <> 0 or deltas.orders_delta <> 0 or deltas.gross_sales_usd <> 0
    or deltas.discounts_usd <> 0 or deltas.refunds_usd <> 0 or deltas.marketplace_fees_usd <> 0
    or deltas.cogs_usd <> 0
