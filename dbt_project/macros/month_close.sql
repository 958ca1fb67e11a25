{# Whether the month starting at `month_expr` is closed by configuration (docs/architecture.md, Month close). #}
{% macro month_is_closable(month_expr) -%}
    {%- set reference = var('close_reference_date') -%}
    {%- set through = run_var('close_through_month') -%}
    {%- set today = "cast('" ~ reference ~ "' as date)" if reference else 'current_date' -%}
    {%- set closes_on = dbt.dateadd('day', var('close_after_days'), dbt.dateadd('month', 1, month_expr)) -%}
    (
        {{ closes_on }} <= {{ today }}
    {% if through %}
        or {{ month_expr }} <= cast('{{ through }}' as date)
    {% endif %}
    )
{%- endmacro %}
