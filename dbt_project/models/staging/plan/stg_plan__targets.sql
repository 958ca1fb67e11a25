{{ config(tags=['planning']) }}
{#- The plan's targets, 1:1 with raw_plan.targets: renamed and typed. -#}
select
    row_key as plan_target_key,
    plan_version,
    cast(month as date) as month_start,
    channel,
    territory,
    {{ to_money('net_revenue_usd') }} as net_revenue_usd,
    cast(published_date as date) as published_date,
    notes,
    cast(sheet_row as integer) as sheet_row
from {{ source('raw_plan', 'targets') }}
