{#- HubSpot CRM staging helpers: merged records, stage columns, extra (custom) properties. -#}

{% macro crm_not_merged(id_column, merges_table) -%}
    {#- true unless the id was merged away into another record (raw_crm.<merges_table>, written by the source from
        the survivors' hs_merged_object_ids; absent until a first merge is seen). -#}
    {%- set merges = source('raw_crm', merges_table) -%}  {#- called at parse time too: dbt records the dependency -#}
    {%- set relation = load_relation(merges) if execute else none -%}
    {%- if relation is not none -%}
        {{ id_column }} not in (select m.id from {{ relation }} as m)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{% macro crm_pipeline_stage_ids() -%}
    {#- Every stage id of every deal pipeline, from raw_crm.deal_pipelines__stages (GET /crm/v3/pipelines/deals). -#}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set relation = load_relation(source('raw_crm', 'deal_pipelines__stages')) -%}
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
                {%- do parsed.update({pair[0] | trim: pair[1].split(',') if pair | length > 1 else []}) -%}
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
