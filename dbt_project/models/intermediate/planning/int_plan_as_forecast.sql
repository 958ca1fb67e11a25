{#- The plan as a forecast (marts.forecast_accuracy's method 'plan'): for a forecast made at forecast_month (a month
    start, with what was known before it) of target_month, horizon h = 1..3 months ahead (1 = the month starting at
    forecast_month), the target of the latest plan version published on or before forecast_month that covers the
    month. No row where no published version covers it yet (a budget is published Dec 1: January's 3-month-ahead
    forecast made in November has no plan). -#}
with targets as (
    select * from {{ ref('int_plan_targets') }}
),

plan as (
    select plan_version, published_date, month_start, channel, sum(net_revenue_usd) as net_revenue_usd
    from targets
    group by plan_version, published_date, month_start, channel
),

horizons as (
    select 1 as horizon
    union all
    select 2 as horizon
    union all
    select 3 as horizon
),

known as (
    select
        p.plan_version,
        p.published_date,
        p.month_start as target_month,
        p.channel,
        p.net_revenue_usd,
        h.horizon,
        cast({{ dbt.dateadd('month', '1 - h.horizon', 'p.month_start') }} as date) as forecast_month
    from plan as p
    cross join horizons as h
),

ranked as (
    select
        known.*,
        row_number() over (
            partition by forecast_month, target_month, channel order by published_date desc, plan_version desc
        ) as recency
    from known
    where published_date <= forecast_month
)

select
    forecast_month,
    target_month,
    horizon,
    channel,
    plan_version,
    published_date,
    {{ to_money('net_revenue_usd') }} as forecast_usd
from ranked
where recency = 1
