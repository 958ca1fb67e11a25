-- One row per team of an owner (raw_crm.owners__teams, 1:1), with the owner's id from the parent row.
select
    o.id || ':' || t.id as owner_team_id,
    o.id as owner_id,
    t.id as team_id,
    t.name as team_name,
    coalesce(t."primary", false) as is_primary,
    t._dlt_parent_id as owner_dlt_id
from {{ source('raw_crm', 'owners__teams') }} as t
inner join {{ source('raw_crm', 'owners') }} as o on o._dlt_id = t._dlt_parent_id
