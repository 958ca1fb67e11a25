{# The run's partition_start / partition_end / close_through_month, read in one place. salesdw passes them as the
   environment variables DBT_SALESDW_<NAME> of the dbt process (orchestration/assets/transform.py, dbt_run_env), not as
   --vars: dbt parses the whole project again when its vars change, and only the files that read an environment
   variable when that changes, so a build of another day's partitions re-parses three files, not 200. A var of the
   same name wins (--vars by hand, unit tests' overrides); '' = unset. #}
{% macro run_var(name) -%}
    {%- set given = var(name, '<unset>') -%}
    {%- if given != '<unset>' -%}
        {{- return(given) -}}
    {%- endif -%}
    {{- return(env_var('DBT_SALESDW_' ~ (name | upper), '')) -}}
{%- endmacro %}
