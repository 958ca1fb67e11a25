{#- The as-of date of the customer metrics (docs/cohorts.md): var customers_as_of_date (YYYY-MM-DD) when set, else the
    latest posting date of int_customer_sales_posted (the last day with a counted order, booking or refund), never
    the machine's clock, so a rebuild of the same data gives the same figures. One row, with the churn window
    (var churn_window_days, default 180). -#}
{%- set as_of = var('customers_as_of_date', '') -%}
with latest as (
    select max(posted_date) as latest_posted_date
    from {{ ref('int_customer_sales_posted') }}
)

select
    {% if as_of %}cast('{{ as_of }}' as date){% else %}latest_posted_date{% endif %} as as_of_date,
    latest_posted_date,
    cast({{ var('churn_window_days') | int }} as integer) as churn_window_days
from latest
