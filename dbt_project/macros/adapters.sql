{# Adapter-dispatched SQL for expressions that differ between warehouses (DESIGN §8): staging calls these,
   never a warehouse's own function. default__ is standard SQL (PostgreSQL); duckdb__ the DuckDB form. #}

{# Milliseconds since the Unix epoch of a timestamp, as a bigint. #}
{% macro epoch_ms(ts) -%}
    {{ return(adapter.dispatch('epoch_ms')(ts)) }}
{%- endmacro %}

{% macro default__epoch_ms(ts) -%}
    cast(floor(extract(epoch from {{ ts }}) * 1000) as bigint)
{%- endmacro %}

{% macro duckdb__epoch_ms(ts) -%}
    epoch_ms({{ ts }})
{%- endmacro %}
