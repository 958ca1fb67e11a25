{#- HubSpot CRM staging helpers: merged records, stage columns, extra (custom) properties. -#}

{% macro crm_relation(table) -%}
    {#- raw_crm.<table> if it exists (dlt creates a table with its first row), else none. -#}
    {%- set declared = source('raw_crm', table) -%}
    {{ return(adapter.get_relation(database=declared.database, schema=declared.schema, identifier=declared.identifier)) }}
{%- endmacro %}


{% macro crm_not_merged(id_column, merges_table) -%}
    {#- true unless the id was merged away into another record (raw_crm.<merges_table>, written by the source from
        the survivors' hs_merged_object_ids; absent until a first merge is seen). -#}
    {%- set relation = crm_relation(merges_table) -%}
    {%- if relation is not none -%}
        {{ id_column }} not in (select m.id from {{ relation }} as m)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{% macro crm_pipeline_stage_ids() -%}
    {#- Every stage id of every deal pipeline, from raw_crm.deal_pipelines__stages (GET /crm/v3/pipelines/deals),
        read when the model compiles (none while dbt parses). -#}
    {%- if execute is not defined or not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set relation = crm_relation('deal_pipelines__stages') -%}
    {%- if relation is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set rows = run_query("select distinct s.id from " ~ relation ~ " as s order by 1") -%}
    {{ return(rows.columns[0].values() | list) }}
{%- endmacro %}


{% macro crm_extra_properties(obj) -%}
    {#- The extra (custom) properties configured for obj (deals, contacts, companies): var crm_extra_properties, a
        mapping or the source setting's text (JSON, or the short form "deals:a,b;contacts:c"). -#}
    {%- set raw = var('crm_extra_properties', '') -%}
    {%- if raw is string -%}
        {%- set text = raw | trim -%}
        {%- if text == '' -%}
            {%- set raw = {} -%}
        {%- elif text.startswith('{') -%}
            {%- set raw = fromjson(text) -%}
        {%- else -%}
            {%- set parsed = {} -%}
            {%- for part in text.split(';') if part | trim -%}
                {%- set pair = part.split(':', 1) -%}
                {%- set _ = parsed.update({pair[0] | trim: pair[1].split(',') if pair | length > 1 else []}) -%}
            {%- endfor -%}
            {%- set raw = parsed -%}
        {%- endif -%}
    {%- endif -%}
    {%- set names = raw.get(obj, []) -%}
    {%- if names is string -%}{%- set names = names.split(',') -%}{%- endif -%}
    {{ return(names | map('trim') | reject('equalto', '') | list) }}
{%- endmacro %}


{% macro crm_extra_columns(obj) -%}
    {#- One column per extra property of obj, named as the property (HubSpot sends strings: text). -#}
    {%- for name in crm_extra_properties(obj) %}
    properties__{{ name }} as {{ name }},
    {%- endfor %}
{%- endmacro %}


{% macro crm_stage_date_pivot(stages) -%}
    {#- One entered/exited pair of aggregates per stage id over raw_crm.deals__stage_dates (trailing commas). -#}
    {%- for stage in stages %}
        max(case when stage_id = '{{ stage }}' then cast(entered_at as timestamp with time zone) end)
            as entered_{{ stage }}_at,
        max(case when stage_id = '{{ stage }}' then cast(exited_at as timestamp with time zone) end)
            as exited_{{ stage }}_at,
    {%- endfor %}
{%- endmacro %}


{% macro crm_stage_date_columns(stages) -%}
    {#- The pivoted stage_dates columns (alias sd), one entered/exited pair per stage id (trailing commas). -#}
    {%- for stage in stages %}
    sd.entered_{{ stage }}_at,
    sd.exited_{{ stage }}_at,
    {%- endfor %}
{%- endmacro %}
