-- One row per stage a deal entered (propertiesWithHistory.dealstage; raw_crm.deals__stage_history, 1:1),
-- with the deal's id from the parent row. entry_index orders a deal's entries, 0 = the stage it was created in.
select
    d.id || ':' || h.value || ':' || cast({{ epoch_ms('h."timestamp"') }} as varchar) as stage_entry_id,
    d.id as deal_id,
    h._dlt_list_idx as entry_index,
    h.value as deal_stage,
    cast(h."timestamp" as timestamp with time zone) as entered_at,
    h.source_type,
    h.updated_by_user_id,
    h._dlt_parent_id as deal_dlt_id
from {{ source('raw_crm', 'deals__stage_history') }} as h
inner join {{ source('raw_crm', 'deals') }} as d on d._dlt_id = h._dlt_parent_id
where {{ crm_not_merged('d.id', 'deal_merges') }}  -- a deal merged into another is left out with its rows
