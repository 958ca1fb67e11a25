-- One row per CRM record merged away into another (raw_crm.deal_merges, contact_merges, company_merges, 1:1 each):
-- the merged-away id and the surviving record's id. Staging leaves the merged-away records out everywhere; their
-- rows stay in raw as last seen, traceable through this model.
{%- set parts = [] %}
{%- for object_type, table in [('deal', 'deal_merges'), ('contact', 'contact_merges'), ('company', 'company_merges')] %}
    {%- set merges = source('raw_crm', table) %}
    {%- set relation = load_relation(merges) if execute else none %}
    {%- if relation is not none %}
        {%- do parts.append("select '" ~ object_type ~ "' as object_type, id as merged_id, merged_into_id, "
            ~ "cast(survivor_updated_at as timestamp with time zone) as survivor_updated_at from " ~ relation) %}
    {%- endif %}
{%- endfor %}
{%- if parts %}
select object_type || ':' || merged_id as merged_record_id, * from (
    {{ parts | join('\n    union all\n    ') }}
) as merges
{%- else %}
select
    cast(null as varchar) as merged_record_id,
    cast(null as varchar) as object_type,
    cast(null as varchar) as merged_id,
    cast(null as varchar) as merged_into_id,
    cast(null as timestamp with time zone) as survivor_updated_at
where false
{%- endif %}
