{# The run's dbt vars partition_start / partition_end / close_through_month, read in one place: salesdw passes them
   with --vars (orchestration/assets/transform.py, dbt_build_args); '' (the default in dbt_project.yml) = unset. #}
{% macro run_var(name) -%}
    {{- return(var(name, '')) -}}
{%- endmacro %}
