{{ config(tags=['planning']) }}
{#- Plan against actual net revenue per month × channel × plan version (docs/architecture.md, Metric definitions:
    plan variance). The actual is finance.monthly_revenue's net_revenue_usd (closed months as published); a month
    up to the newest month with any revenue that has no revenue row for the channel had no sales (actual 0); a
    later month has no actual yet (null, and so are its variances). -#}
with targets as (
    select * from {{ ref('int_plan_targets') }}
),

revenue as (
    select * from {{ ref('monthly_revenue') }}
),

plan as (
    select
        plan_version,
        version_kind,
        published_date,
        month_start as revenue_month,
        channel,
        sum(net_revenue_usd) as plan_net_revenue_usd
    from targets
    group by plan_version, version_kind, published_date, month_start, channel
),

ranked as (
    select
        plan.*,
        row_number() over (
            partition by revenue_month, channel order by published_date desc, plan_version desc
        ) as recency,
        row_number() over (
            partition by revenue_month, channel, version_kind order by published_date desc, plan_version desc
        ) as recency_in_kind
    from plan
),

budget as (
    select revenue_month, channel, plan_net_revenue_usd as budget_net_revenue_usd
    from ranked
    where version_kind = 'budget' and recency_in_kind = 1
),

latest_reforecast as (
    select
        revenue_month,
        channel,
        plan_version as latest_reforecast_version,
        plan_net_revenue_usd as latest_reforecast_net_revenue_usd
    from ranked
    where version_kind = 'reforecast' and recency_in_kind = 1
),

data_through as (
    select max(revenue_month) as last_month from revenue
),

joined as (
    select
        r.revenue_month,
        r.channel,
        r.plan_version,
        r.version_kind,
        r.published_date as plan_published_date,
        r.recency = 1 as is_latest_version,
        r.plan_net_revenue_usd,
        case when r.revenue_month <= d.last_month then coalesce(a.net_revenue_usd, 0) end as actual_net_revenue_usd,
        coalesce(
            a.period_status, case when r.revenue_month <= d.last_month then 'no_sales' else 'future' end
        ) as actual_status,
        b.budget_net_revenue_usd,
        lr.latest_reforecast_version,
        lr.latest_reforecast_net_revenue_usd
    from ranked as r
    cross join data_through as d
    left join revenue as a on a.revenue_month = r.revenue_month and a.channel = r.channel
    left join budget as b on b.revenue_month = r.revenue_month and b.channel = r.channel
    left join latest_reforecast as lr on lr.revenue_month = r.revenue_month and lr.channel = r.channel
)

select
    cast(revenue_month as date) as revenue_month,
    channel,
    plan_version,
    is_latest_version,
    {{ to_money('plan_net_revenue_usd') }} as plan_net_revenue_usd,
    {{ to_money('actual_net_revenue_usd') }} as actual_net_revenue_usd,
    {{ to_money('actual_net_revenue_usd - plan_net_revenue_usd') }} as variance_usd,
    -- exact: variance × 100 ÷ plan in cents, rounded half away from zero (a float division misrounds halves)
    case
        when plan_net_revenue_usd > 0
            then {{ divide_exact('(actual_net_revenue_usd - plan_net_revenue_usd) * 100',
                                 'cast(plan_net_revenue_usd * 100 as bigint)', 4) }}
    end as variance_pct,
    version_kind,
    cast(plan_published_date as date) as plan_published_date,
    actual_status,
    {{ to_money('budget_net_revenue_usd') }} as budget_net_revenue_usd,
    latest_reforecast_version,
    {{ to_money('latest_reforecast_net_revenue_usd') }} as latest_reforecast_net_revenue_usd
from joined
