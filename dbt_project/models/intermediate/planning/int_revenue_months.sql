{{ config(tags=['planning']) }}
{#- The forecast target per channel and month: finance.monthly_revenue's net revenue, and whether the month is
    complete (its last day is on or before the last day with activity in the warehouse). A month still in progress
    is not an actual yet: forecasts and baselines never read it. -#}
with latest as (
    select max(date_day) as latest_data_date
    from {{ ref('channel_revenue_daily') }}
),

months as (
    select
        r.revenue_month,
        r.channel,
        r.net_revenue_usd,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'r.revenue_month')) }} as date) as month_end_date,
        l.latest_data_date
    from {{ ref('monthly_revenue') }} as r
    cross join latest as l
)

select
    revenue_month,
    channel,
    net_revenue_usd,
    month_end_date,
    latest_data_date,
    month_end_date <= latest_data_date as is_complete
from months
