-- PII (email, names, phone) kept as the CRM holds it: normalized and hashed in the marts, never exposed there.
select
    id as contact_id,
    properties__email as email,
    properties__firstname as first_name,
    properties__lastname as last_name,
    properties__phone as phone,
    properties__jobtitle as job_title,
    properties__company as company_name,
    properties__associatedcompanyid as company_id,
    properties__hubspot_owner_id as owner_id,
    properties__lifecyclestage as lifecycle_stage,
    cast(properties__createdate as timestamp with time zone) as created_at,
    cast(updated_at as timestamp with time zone) as updated_at,
    coalesce(archived, false) as is_archived,
    cast(archived_at as timestamp with time zone) as archived_at,
    properties__hs_merged_object_ids as merged_object_ids,
    {{- crm_extra_columns('contacts') }}
    _dlt_id as dlt_id
from {{ source('raw_crm', 'contacts') }}
where {{ crm_not_merged('id', 'contact_merges') }}  -- merged into another record: the survivor stands for it
