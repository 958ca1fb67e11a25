{#- STAND-IN (deleted once the Amazon Ads staging model lands from main): the agreed contract's columns, no rows. -#}
select
    cast(null as date) as date_day,
    cast(null as {{ dbt.type_string() }}) as profile_id,
    cast(null as {{ dbt.type_string() }}) as campaign_id,
    cast(null as {{ dbt.type_string() }}) as campaign_name,
    cast(null as {{ dbt.type_string() }}) as currency,
    cast(null as decimal(18, 2)) as spend,
    cast(null as bigint) as impressions,
    cast(null as bigint) as clicks,
    cast(null as bigint) as purchases_14d,
    cast(null as decimal(18, 2)) as sales_14d
where false
