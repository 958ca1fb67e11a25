-- One row per CRM record merged away into another (raw_crm.deal_merges, contact_merges, company_merges, 1:1 each):
-- the merged-away id and the surviving record's id. Staging leaves the merged-away records out everywhere; their
-- rows stay in raw as last seen, traceable through this model. A merges table exists from its first merge on
-- (until then its part reads the empty none_yet, which the lint sees unused).
{%- set deal_merges = crm_relation('deal_merges') %}
{%- set contact_merges = crm_relation('contact_merges') %}
{%- set company_merges = crm_relation('company_merges') %}
with none_yet as (  -- noqa: ST03
    select
        cast(null as varchar) as id,
        cast(null as varchar) as merged_into_id,
        cast(null as timestamp with time zone) as survivor_updated_at
    from (select 1 as one) as no_rows
    where false
),

merged as (
    select
        'deal' as object_type,
        id as merged_id,
        merged_into_id,
        survivor_updated_at
    from {{ deal_merges if deal_merges is not none else 'none_yet' }}
    union all
    select
        'contact' as object_type,
        id as merged_id,
        merged_into_id,
        survivor_updated_at
    from {{ contact_merges if contact_merges is not none else 'none_yet' }}
    union all
    select
        'company' as object_type,
        id as merged_id,
        merged_into_id,
        survivor_updated_at
    from {{ company_merges if company_merges is not none else 'none_yet' }}
)

select
    object_type || ':' || merged_id as merged_record_id,
    object_type,
    merged_id,
    merged_into_id,
    cast(survivor_updated_at as timestamp with time zone) as survivor_updated_at
from merged
