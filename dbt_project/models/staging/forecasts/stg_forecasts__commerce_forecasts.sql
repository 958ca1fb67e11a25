{#- The table is written by the Dagster asset forecasts/commerce_forecasts, which runs after the dbt models it reads:
    before its first run this view is empty (same columns and types) instead of failing the build. -#}
{%- set commerce_forecasts = source('forecasts', 'commerce_forecasts') -%}
{%- set written = adapter.get_relation(
    database=commerce_forecasts.database, schema=commerce_forecasts.schema, identifier=commerce_forecasts.identifier
) -%}
{%- if written is not none %}
    select
        cast(forecast_month as date) as forecast_month,
        cast(target_month as date) as target_month,
        cast(horizon as integer) as horizon,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(method as {{ dbt.type_string() }}) as method,  -- noqa: RF04
        cast(model_name as {{ dbt.type_string() }}) as model_name,
        {{ to_money('forecast_usd') }} as forecast_usd,
        {{ to_money('lower_usd') }} as lower_usd,
        {{ to_money('upper_usd') }} as upper_usd,
        cast(fitted_at as timestamp with time zone) as fitted_at,
        cast(history_end_date as date) as history_end_date
    from {{ commerce_forecasts }}
{%- else %}
    select
        cast(null as date) as forecast_month,
        cast(null as date) as target_month,
        cast(null as integer) as horizon,
        cast(null as {{ dbt.type_string() }}) as channel,
        cast(null as {{ dbt.type_string() }}) as method,  -- noqa: RF04
        cast(null as {{ dbt.type_string() }}) as model_name,
        {{ to_money('null') }} as forecast_usd,
        {{ to_money('null') }} as lower_usd,
        {{ to_money('null') }} as upper_usd,
        cast(null as timestamp with time zone) as fitted_at,
        cast(null as date) as history_end_date
    where 1 = 0
{%- endif %}
