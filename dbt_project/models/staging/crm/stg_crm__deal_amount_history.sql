-- One row per amount a deal had (propertiesWithHistory.amount; raw_crm.deals__amount_history, 1:1), in the
-- deal's currency (HubSpot keeps no currency history: deal_currency_code is set at creation).
select
    d.id || ':amount:' || cast(h._dlt_list_idx as varchar) as amount_entry_id,
    d.id as deal_id,
    h._dlt_list_idx as entry_index,
    {{ to_money("nullif(h.value, '')") }} as amount,
    d.properties__deal_currency_code as currency,
    cast(h."timestamp" as timestamp with time zone) as valid_from,
    h.source_type,
    h.updated_by_user_id,
    h._dlt_parent_id as deal_dlt_id
from {{ source('raw_crm', 'deals__amount_history') }} as h
inner join {{ source('raw_crm', 'deals') }} as d on d._dlt_id = h._dlt_parent_id
where {{ crm_not_merged('d.id', 'deal_merges') }}  -- a deal merged into another is left out with its rows
