-- One row per forecast category a deal had (propertiesWithHistory.hs_forecast_category;
-- raw_crm.deals__forecast_category_history, 1:1): the rep's call (PIPELINE, BEST_CASE, COMMIT), CLOSED
-- once won, OMIT once lost.
select
    d.id || ':forecast_category:' || cast(h._dlt_list_idx as varchar) as forecast_category_entry_id,
    d.id as deal_id,
    h._dlt_list_idx as entry_index,
    nullif(h.value, '') as forecast_category,
    cast(h."timestamp" as timestamp with time zone) as valid_from,
    h.source_type,
    h.updated_by_user_id,
    h._dlt_parent_id as deal_dlt_id
from {{ source('raw_crm', 'deals__forecast_category_history') }} as h
inner join {{ source('raw_crm', 'deals') }} as d on d._dlt_id = h._dlt_parent_id
where {{ crm_not_merged('d.id', 'deal_merges') }}  -- a deal merged into another is left out with its rows
