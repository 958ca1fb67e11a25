{# Whether a raw table exists yet: dlt creates some only with their first row (an eBay line refund, an Amazon
   settlement). A staging model over one selects from it when it exists, else an empty typed result. #}
{% macro raw_table_exists(schema, identifier) -%}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set relation = adapter.get_relation(database=target.database, schema=schema, identifier=identifier) -%}
    {{ return(relation is not none) }}
{%- endmacro %}
