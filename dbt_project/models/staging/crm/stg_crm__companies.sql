select
    id as company_id,
    properties__name as company_name,
    properties__domain as domain,
    properties__industry as industry,
    properties__city as city,
    properties__state as state,
    properties__country as country,
    cast(properties__numberofemployees as integer) as number_of_employees,
    properties__phone as phone,
    properties__hubspot_owner_id as owner_id,
    properties__lifecyclestage as lifecycle_stage,
    cast(properties__createdate as timestamp with time zone) as created_at,
    cast(updated_at as timestamp with time zone) as updated_at,
    coalesce(archived, false) as is_archived,
    cast(archived_at as timestamp with time zone) as archived_at,
    properties__hs_merged_object_ids as merged_object_ids,
    {{- crm_extra_columns('companies') }}
    _dlt_id as dlt_id
from {{ source('raw_crm', 'companies') }}
where {{ crm_not_merged('id', 'company_merges') }}  -- merged into another record: the survivor stands for it
