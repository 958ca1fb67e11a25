{#- Every forecast of monthly net revenue made at a month start, for the month it was made in and the two after
    (docs/architecture.md, Forecasts): our model per channel (commerce: the statsforecast asset; b2b: the pipeline
    forecast, also per territory and rep), the two naive baselines and the plan as it stood, side by side, with
    the actual once the target month is complete. -#}
with commerce_model as (
    select
        forecast_month,
        target_month,
        horizon,
        channel,
        cast(null as {{ dbt.type_string() }}) as territory,
        cast(null as {{ dbt.type_string() }}) as rep_id,
        'channel' as forecast_level,
        method,
        model_name,
        forecast_usd,
        lower_usd,
        upper_usd
    from {{ ref('stg_forecasts__commerce_forecasts') }}
),

b2b_model as (
    select
        forecast_month,
        target_month,
        horizon,
        channel,
        territory,
        rep_id,
        case
            when rep_id is not null then 'rep'
            when territory is not null then 'territory'
            else 'channel'
        end as forecast_level,
        method,
        model_name,
        forecast_usd,
        lower_usd,
        upper_usd
    from {{ ref('int_b2b_forecasts') }}
),

baselines as (
    select
        forecast_month,
        target_month,
        horizon,
        channel,
        cast(null as {{ dbt.type_string() }}) as territory,
        cast(null as {{ dbt.type_string() }}) as rep_id,
        'channel' as forecast_level,
        method,
        model_name,
        forecast_usd,
        cast(null as decimal(18, 2)) as lower_usd,
        cast(null as decimal(18, 2)) as upper_usd
    from {{ ref('int_forecast_baselines') }}
),

plan as (
    -- the plan for the target month in the latest version published by the forecast month
    select
        forecast_month,
        target_month,
        horizon,
        channel,
        cast(null as {{ dbt.type_string() }}) as territory,
        cast(null as {{ dbt.type_string() }}) as rep_id,
        'channel' as forecast_level,
        'plan' as method,
        plan_version as model_name,
        forecast_usd,
        cast(null as decimal(18, 2)) as lower_usd,
        cast(null as decimal(18, 2)) as upper_usd
    from {{ ref('int_plan_as_forecast') }}
),

forecasts as (
    select * from commerce_model
    union all
    select * from b2b_model
    union all
    select * from baselines
    union all
    select * from plan
),

rep_actuals as (
    select
        month_start,
        rep_id,
        bookings_usd
    from {{ ref('rep_performance_monthly') }}
),

territory_actuals as (
    select
        month_start,
        territory,
        sum(bookings_usd) as bookings_usd
    from {{ ref('rep_performance_monthly') }}
    group by month_start, territory
)

select
    f.forecast_month,
    f.target_month,
    f.horizon,
    f.channel,
    f.territory,
    f.rep_id,
    f.forecast_level,
    f.method,
    f.model_name,
    {{ to_money('f.forecast_usd') }} as forecast_usd,
    {{ to_money('f.lower_usd') }} as lower_usd,
    {{ to_money('f.upper_usd') }} as upper_usd,
    {{ to_money("case
        when m.is_complete is null or not m.is_complete then null
        when f.forecast_level = 'channel' then m.net_revenue_usd
        when f.forecast_level = 'territory' then coalesce(t.bookings_usd, 0)
        when f.forecast_level = 'rep' then coalesce(r.bookings_usd, 0)
    end") }} as actual_usd,
    coalesce(m.is_complete, false) as is_actual_known
from forecasts as f
left join {{ ref('int_revenue_months') }} as m
    on m.channel = f.channel and m.revenue_month = f.target_month
left join rep_actuals as r
    on f.forecast_level = 'rep' and r.rep_id = f.rep_id and r.month_start = f.target_month
left join territory_actuals as t
    on f.forecast_level = 'territory' and t.territory = f.territory and t.month_start = f.target_month
