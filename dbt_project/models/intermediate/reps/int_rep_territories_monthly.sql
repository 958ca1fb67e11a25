-- Rep × month start: the rep's territory at 00:00 UTC of the 1st, from the SCD2 assignment history
-- (snap_crm__rep_assignments, the history behind dim_sales_rep): the version valid at that instant, else
-- (months before the recorded history, which starts at the first load) the rep's earliest version.
with months as (
    select
        snapshot_month as month_start,
        cast(snapshot_month as {{ dbt.type_timestamp() }}) as month_start_at
    from {{ ref('int_pipeline_snapshot_months') }}
),

versions as (
    select
        rep_id,
        territory,
        dbt_valid_from as valid_from,
        dbt_valid_to as valid_to,
        row_number() over (partition by rep_id order by dbt_valid_from) as version_number
    from {{ ref('snap_crm__rep_assignments') }}
),

grid as (
    select distinct v.rep_id, m.month_start, m.month_start_at
    from versions as v
    cross join months as m
),

valid_then as (
    select g.rep_id, g.month_start, min(v.territory) as territory
    from grid as g
    inner join versions as v
        on v.rep_id = g.rep_id
        and v.valid_from <= g.month_start_at
        and (v.valid_to is null or v.valid_to > g.month_start_at)
    group by g.rep_id, g.month_start
)

select
    g.rep_id,
    g.month_start,
    coalesce(t.territory, f.territory) as territory
from grid as g
left join valid_then as t on t.rep_id = g.rep_id and t.month_start = g.month_start
left join versions as f on f.rep_id = g.rep_id and f.version_number = 1
