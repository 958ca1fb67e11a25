{#- STAND-IN (deleted once the Google Ads staging model lands from main): the agreed contract's columns, no rows. -#}
select
    cast(null as {{ dbt.type_string() }}) as customer_id,
    cast(null as {{ dbt.type_string() }}) as campaign_id,
    cast(null as {{ dbt.type_string() }}) as campaign_name,
    cast(null as {{ dbt.type_string() }}) as status,
    cast(null as {{ dbt.type_string() }}) as channel_type,
    cast(null as date) as start_date,
    cast(null as date) as end_date,
    cast(null as {{ dbt.type_string() }}) as currency
where false
