{# Shared SQL of the economics and cohort marts, written once. #}

{# Every profitability measure column of one union branch of product_profitability_monthly: the given expressions,
   zero for the others, in one fixed order (the branches line up by construction). #}
{% macro posting_measures(values) -%}
    {%- set measures = [
        'units', 'gross_sales_usd', 'discounts_usd', 'refunds_usd', 'cogs_usd', 'restocked_cost_usd',
        'cost_missing_units', 'referral_fees_usd', 'fulfilment_fees_usd', 'storage_fees_usd', 'other_fees_usd',
        'ad_spend_usd',
    ] -%}
    {%- for measure in measures %}
        {{ values.get(measure, 'cast(0 as decimal(18, 2))') }} as {{ measure }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{# A marketplace fee's amount when its type is one of `types`, else zero. #}
{% macro fee_of_types(types) -%}
    case when fee_type in ('{{ types | join("', '") }}') then fee_amount_usd else 0 end
{%- endmacro %}

{# The sum of an expression from the first row of its partition to this one. #}
{% macro running_total(expression, partition_by, order_by) -%}
    sum({{ expression }}) over (
        partition by {{ partition_by }} order by {{ order_by }}
        rows between unbounded preceding and current row
    )
{%- endmacro %}

{# One row per cohort (a row of the relation `sizes`, keyed by cohort_month and the other given columns) and month
   from its cohort month to the as-of date's month (the CTE `as_of`), with the number of months since. #}
{% macro cohort_month_grid(sizes, size_columns, months_since) -%}
    select
        s.{{ size_columns | join(', s.') }},
        d.month_start as activity_month,
        cast({{ dbt.datediff('s.cohort_month', 'd.month_start', 'month') }} as integer) as {{ months_since }}
    from {{ sizes }} as s
    cross join as_of
    inner join {{ ref('dim_date') }} as d
        on d.date_day = d.month_start
        and d.month_start >= s.cohort_month
        and d.month_start <= as_of.last_month
{%- endmacro %}
