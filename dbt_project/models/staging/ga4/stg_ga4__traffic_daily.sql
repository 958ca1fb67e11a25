{#- GA4's sessions by day and traffic source, 1:1 with raw_ga4.traffic_daily: renamed and typed; GA4's '(not set)'
    campaign id as null. The raw merge keeps one row per key; the newest load wins should one ever repeat. -#}
with traffic as (
    {{ deduplicate(
        source('raw_ga4', 'traffic_daily'),
        'property_id, date, session_default_channel_group, session_source, session_medium, session_campaign_name, '
        ~ 'session_campaign_id',
        '_dlt_load_id desc'
    ) }}
)

select
    cast(property_id as {{ dbt.type_string() }}) as property_id,
    cast(date as date) as date_day,
    cast(session_default_channel_group as {{ dbt.type_string() }}) as channel_group,
    cast(session_source as {{ dbt.type_string() }}) as source,
    cast(session_medium as {{ dbt.type_string() }}) as medium,
    cast(session_campaign_name as {{ dbt.type_string() }}) as campaign_name,
    cast(nullif(session_campaign_id, '(not set)') as {{ dbt.type_string() }}) as campaign_id,
    cast(sessions as bigint) as sessions,
    cast(engaged_sessions as bigint) as engaged_sessions,
    cast(ecommerce_purchases as bigint) as ecommerce_purchases,
    {{ to_money('purchase_revenue') }} as purchase_revenue,
    cast(currency_code as {{ dbt.type_string() }}) as currency
from traffic
