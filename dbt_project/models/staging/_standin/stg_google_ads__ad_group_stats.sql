{#- STAND-IN (deleted once the Google Ads staging model lands from main): the agreed contract's columns, no rows. -#}
select
    cast(null as date) as date_day,
    cast(null as {{ dbt.type_string() }}) as customer_id,
    cast(null as {{ dbt.type_string() }}) as campaign_id,
    cast(null as {{ dbt.type_string() }}) as campaign_name,
    cast(null as {{ dbt.type_string() }}) as ad_group_id,
    cast(null as {{ dbt.type_string() }}) as ad_group_name,
    cast(null as {{ dbt.type_string() }}) as currency,
    cast(null as bigint) as cost_micros,
    cast(null as decimal(18, 2)) as spend,
    cast(null as bigint) as impressions,
    cast(null as bigint) as clicks,
    cast(null as decimal(18, 2)) as conversions,
    cast(null as decimal(18, 2)) as conversions_value
where false
