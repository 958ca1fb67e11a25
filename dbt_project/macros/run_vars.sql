{# The run's dbt vars partition_start / partition_end / close_through_month ('' = unset), read in one place.
   Transitional: while the orchestration still passes them as environment variables (SALESDW_PARTITION_START,
   SALESDW_PARTITION_END, SALESDW_CLOSE_THROUGH_MONTH), an unset var falls back to its env var. #}
{% macro run_var(name) -%}
    {%- set env_names = {
        'partition_start': 'SALESDW_PARTITION_START',
        'partition_end': 'SALESDW_PARTITION_END',
        'close_through_month': 'SALESDW_CLOSE_THROUGH_MONTH',
    } -%}
    {{- return(var(name, '') or env_var(env_names[name], '')) -}}
{%- endmacro %}
