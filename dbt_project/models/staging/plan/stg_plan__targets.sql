{#- The plan's targets, 1:1 with raw_plan.targets: renamed and typed. Every load reads the whole sheet and merges
    each row it finds (with that load's id; a load without any valid row fails instead), so a row finance deleted
    from the sheet is the one whose load id is older than the newest: is_in_current_sheet = false. -#}
with targets as (
    select * from {{ source('raw_plan', 'targets') }}
),

newest_load as (
    select max(_dlt_load_id) as load_id from targets
)

select
    t.row_key as plan_target_key,
    t.plan_version,
    cast(t.month as date) as month_start,
    t.channel,
    t.territory,
    {{ to_money('t.net_revenue_usd') }} as net_revenue_usd,
    cast(t.published_date as date) as published_date,
    t.notes,
    cast(t.sheet_row as integer) as sheet_row,
    coalesce(t._dlt_load_id = n.load_id, false) as is_in_current_sheet
from targets as t
cross join newest_load as n
