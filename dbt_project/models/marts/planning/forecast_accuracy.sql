{#- The backtest (docs/architecture.md, Forecasts): per channel, horizon and method, over the last
    var('backtest_months') complete target months, how far the forecasts made at month starts were from the
    actual net revenue. WAPE = Σ|actual − forecast| ÷ Σ actual; bias = Σ(forecast − actual) ÷ Σ actual; interval
    coverage = the share of months whose actual fell inside the 80 % interval (methods with an interval only). -#}
with known as (
    select *
    from {{ ref('forecast_monthly') }}
    where forecast_level = 'channel' and is_actual_known
),

window_end as (
    select max(target_month) as last_target_month
    from known
),

backtest as (
    select k.*
    from known as k
    cross join window_end as w
    where
        k.target_month > cast({{ dbt.dateadd('month', '-' ~ var('backtest_months'), 'w.last_target_month') }} as date)
)

select
    channel,
    horizon,
    method,
    cast(count(*) as integer) as months,
    min(target_month) as first_target_month,
    max(target_month) as last_target_month,
    {{ to_money('sum(actual_usd)') }} as actual_usd,
    {{ to_money('sum(forecast_usd)') }} as forecast_usd,
    cast(case
        when sum(actual_usd) > 0 then {{ ratio_exact('sum(abs(actual_usd - forecast_usd))', 'sum(actual_usd)', 4) }}
    end as decimal(18, 4)) as wape,
    cast(case
        when sum(actual_usd) > 0 then {{ ratio_exact('sum(forecast_usd - actual_usd)', 'sum(actual_usd)', 4) }}
    end as decimal(18, 4)) as bias,
    cast(case
        when count(lower_usd) > 0
            then {{ ratio_exact(
                'sum(case when actual_usd between lower_usd and upper_usd then 1 else 0 end)', 'count(lower_usd)', 4
            ) }}
    end as decimal(18, 4)) as interval_coverage
from backtest
group by channel, horizon, method
