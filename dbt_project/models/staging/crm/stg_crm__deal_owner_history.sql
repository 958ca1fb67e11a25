-- One row per owner assignment of a deal (propertiesWithHistory.hubspot_owner_id;
-- raw_crm.deals__owner_history, 1:1), with the deal's id from the parent row.
select
    d.id || ':' || h.value || ':' || cast({{ epoch_ms('h."timestamp"') }} as varchar) as owner_assignment_id,
    d.id as deal_id,
    h._dlt_list_idx as entry_index,
    nullif(h.value, '') as owner_id,
    cast(h."timestamp" as timestamp with time zone) as assigned_at,
    h.source_type,
    h.updated_by_user_id,
    h._dlt_parent_id as deal_dlt_id
from {{ source('raw_crm', 'deals__owner_history') }} as h
inner join {{ source('raw_crm', 'deals') }} as d on d._dlt_id = h._dlt_parent_id
where {{ crm_not_merged('d.id', 'deal_merges') }}  -- a deal merged into another is left out with its rows
