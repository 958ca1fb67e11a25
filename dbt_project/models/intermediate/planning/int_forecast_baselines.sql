{{ config(tags=['planning']) }}
{#- The two naive forecasts every model is judged against (docs/architecture.md, Metric definitions), per
    channel, for every forecast month whose previous month is complete and every horizon 1-3:
    - seasonal_naive: the actual of the target month a year earlier;
    - trailing_3m: the mean of the actuals of the three months before the forecast month.
    A baseline exists only when all the months it reads are complete. -#}
with actuals as (
    select revenue_month, channel, net_revenue_usd
    from {{ ref('int_revenue_months') }}
    where is_complete
),

forecast_months as (
    -- a forecast is made at the start of the month after a complete month
    select distinct
        cast({{ dbt.dateadd('month', 1, 'revenue_month') }} as date) as forecast_month,
        channel
    from actuals
),

horizons as (
    select 1 as horizon
    union all
    select 2 as horizon
    union all
    select 3 as horizon
),

targets as (
    select
        f.forecast_month,
        f.channel,
        h.horizon,
        cast({{ dbt.dateadd('month', 'h.horizon - 1', 'f.forecast_month') }} as date) as target_month
    from forecast_months as f
    cross join horizons as h
),

seasonal_naive as (
    select
        t.forecast_month,
        t.target_month,
        t.horizon,
        t.channel,
        'seasonal_naive' as method,
        'same month a year earlier' as model_name,
        a.net_revenue_usd as forecast_usd
    from targets as t
    inner join actuals as a
        on
        a.channel = t.channel
        and a.revenue_month = cast({{ dbt.dateadd('month', -12, 't.target_month') }} as date)
),

trailing_mean as (
    select
        t.forecast_month,
        t.target_month,
        t.horizon,
        t.channel,
        'trailing_3m' as method,
        'mean of the three months before the forecast month' as model_name,
        {{ to_money('avg(a.net_revenue_usd)') }} as forecast_usd,
        count(*) as months_read
    from targets as t
    inner join actuals as a
        on
        a.channel = t.channel
        and a.revenue_month >= cast({{ dbt.dateadd('month', -3, 't.forecast_month') }} as date)
        and a.revenue_month < t.forecast_month
    group by t.forecast_month, t.target_month, t.horizon, t.channel
)

select forecast_month, target_month, horizon, channel, method, model_name, forecast_usd
from seasonal_naive
union all
select forecast_month, target_month, horizon, channel, method, model_name, forecast_usd
from trailing_mean
where months_read = 3
