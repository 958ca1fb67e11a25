{#- STAND-IN (deleted once the GA4 staging model lands from main): the agreed contract's columns, no rows. -#}
select
    cast(null as {{ dbt.type_string() }}) as property_id,
    cast(null as date) as date_day,
    cast(null as {{ dbt.type_string() }}) as channel_group,
    cast(null as {{ dbt.type_string() }}) as source,
    cast(null as {{ dbt.type_string() }}) as medium,
    cast(null as {{ dbt.type_string() }}) as campaign_name,
    cast(null as {{ dbt.type_string() }}) as campaign_id,
    cast(null as bigint) as sessions,
    cast(null as bigint) as engaged_sessions,
    cast(null as bigint) as ecommerce_purchases,
    cast(null as decimal(18, 2)) as purchase_revenue,
    cast(null as {{ dbt.type_string() }}) as currency
where false
