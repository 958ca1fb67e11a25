-- The CRM owners as the owners API shows them NOW: name, territory (primary team) and manager (secondary
-- team; the CRM numbers a manager's team with the manager's owner id). The API has no history of either:
-- snapshots/snap_crm__rep_assignments records one version per observed change, from the first load on.
with owners as (
    select * from {{ ref('stg_crm__owners') }}
),

teams as (
    select * from {{ ref('stg_crm__owner_teams') }}
),

territory as (
    select owner_id, min(team_name) as territory
    from teams
    where is_primary
    group by owner_id
),

manager as (
    select owner_id, min(team_id) as manager_id
    from teams
    where not is_primary
    group by owner_id
)

select
    o.owner_id as rep_id,
    trim({{ dbt.concat(["coalesce(o.first_name, '')", "' '", "coalesce(o.last_name, '')"]) }}) as rep_name,
    o.email,
    t.territory,
    m.manager_id,
    o.is_archived,
    -- naive UTC: the snapshot's validity columns are plain timestamps
    cast(coalesce(o.updated_at, o.created_at) as {{ dbt.type_timestamp() }}) as updated_at
from owners as o
left join territory as t on t.owner_id = o.owner_id
left join manager as m on m.owner_id = o.owner_id
