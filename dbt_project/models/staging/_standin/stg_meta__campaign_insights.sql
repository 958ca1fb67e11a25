{#- STAND-IN (deleted once the Meta staging model lands from main): the agreed contract's columns, no rows. -#}
select
    cast(null as date) as date_day,
    cast(null as {{ dbt.type_string() }}) as account_id,
    cast(null as {{ dbt.type_string() }}) as campaign_id,
    cast(null as {{ dbt.type_string() }}) as campaign_name,
    cast(null as {{ dbt.type_string() }}) as currency,
    cast(null as decimal(18, 2)) as spend,
    cast(null as bigint) as impressions,
    cast(null as bigint) as clicks,
    cast(null as decimal(18, 2)) as purchases,
    cast(null as decimal(18, 2)) as purchase_value
where false
