-- One row per deal-to-company association (raw_crm.deals__companies, 1:1).
select
    d.id as deal_id,
    a.id as company_id,
    a.type as association_type,
    a._dlt_parent_id as deal_dlt_id
from {{ source('raw_crm', 'deals__companies') }} as a
inner join {{ source('raw_crm', 'deals') }} as d on d._dlt_id = a._dlt_parent_id
where {{ crm_not_merged('d.id', 'deal_merges') }}  -- a deal merged into another is left out with its rows
