-- One row per closedate a deal had (propertiesWithHistory.closedate; raw_crm.deals__closedate_history, 1:1):
-- the rep's expected close date while the deal was open (set at creation, moved by slips), the close time
-- once it closed. An empty value (the date cleared) is null.
select
    d.id || ':closedate:' || cast(h._dlt_list_idx as varchar) as closedate_entry_id,
    d.id as deal_id,
    h._dlt_list_idx as entry_index,
    cast(nullif(h.value, '') as timestamp with time zone) as closes_at,
    cast(h."timestamp" as timestamp with time zone) as valid_from,
    h.source_type,
    h.updated_by_user_id,
    h._dlt_parent_id as deal_dlt_id
from {{ source('raw_crm', 'deals__closedate_history') }} as h
inner join {{ source('raw_crm', 'deals') }} as d on d._dlt_id = h._dlt_parent_id
where {{ crm_not_merged('d.id', 'deal_merges') }}  -- a deal merged into another is left out with its rows
