{{ config(materialized='incremental', unique_key='order_key', on_schema_change='append_new_columns') }}
{#- Incremental: a run rebuilds only orders changed since the last one (with a lookback for late
    arrivals) and any order still missing its FX rate; `dbt build --full-refresh` rebuilds all.
    Partitioned (Dagster daily partitions, vars partition_start / partition_end as ISO dates, inclusive,
    '' = unbounded): the run re-reads the orders changed on those UTC days, with the same lookback, instead. -#}
{%- set lookback_days = var('incremental_lookback_days') | int -%}
{%- set partition_start = run_var('partition_start') -%}
{%- set partition_end = run_var('partition_end') -%}
{%- set changed_from = dbt.dateadd('day', -lookback_days, "cast('" ~ partition_start ~ "' as date)") -%}
{%- set changed_before = dbt.dateadd('day', 1, "cast('" ~ partition_end ~ "' as date)") -%}
{%- set built_columns = (adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list)
    if is_incremental() else [] -%}
{#- on an incremental run, orders still without their FX rate are always rebuilt -#}
{%- set or_missing_fx -%}
    {%- if is_incremental() -%}
        or o.order_key in (select missing.order_key from {{ this }} as missing where missing.usd_per_unit is null)
    {%- endif -%}
{%- endset -%}
with orders as (
    select * from {{ ref('int_orders') }}
)

select
    o.order_key,
    o.channel,
    o.order_id,
    o.ordered_at,
    o.order_date,
    o.channel_customer_key,
    o.currency,
    o.is_test,
    o.is_cancelled,
    o.counts_as_sale,
    {{ to_money('o.gross_sales') }} as gross_sales,
    {{ to_money('o.discounts') }} as discounts,
    {{ usd_per_unit('r', 'o.currency') }} as usd_per_unit,
    {{ to_usd('o.gross_sales', usd_per_unit('r', 'o.currency')) }} as gross_sales_usd,
    {{ to_usd('o.discounts', usd_per_unit('r', 'o.currency')) }} as discounts_usd,
    o.updated_at
from orders as o
{{ join_fx_rate('r', 'o.currency', 'o.order_date') }}
{% if partition_start or partition_end %}
    where
        (
            {% if partition_start %}o.updated_at >= {{ changed_from }}{% else %}true{% endif %}
            and {% if partition_end %}o.updated_at < {{ changed_before }}{% else %}true{% endif %}
        )
        {{ or_missing_fx }}
    {# a table written before it had updated_at (an older version) is rebuilt whole once #}
{% elif is_incremental() and 'updated_at' in built_columns %}
    where
        o.updated_at >= (
            select {{ dbt.dateadd('day', -lookback_days, 'max(built.updated_at)') }}
            from {{ this }} as built
        )
        {{ or_missing_fx }}
{% endif %}
