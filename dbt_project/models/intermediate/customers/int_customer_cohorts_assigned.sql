{#- Each resolved customer's acquisition cohorts (docs/cohorts.md): per commerce channel the month of its first counted
    order in that channel, and for channel 'all' the month of its first counted order ever across the commerce
    channels (int_customer_orders.is_first_order, the new-customer rule). B2B companies are account cohorts
    (account_cohorts_monthly), not here. Only orders on or before the as-of date. -#}
{%- set commerce = "('shopify', 'amazon', 'ebay')" -%}
with as_of as (
    select * from {{ ref('int_customer_sales_as_of') }}
),

orders as (
    select co.*
    from {{ ref('int_customer_orders') }} as co
    cross join as_of
    where co.counts_as_sale and co.customer_key is not null and co.channel in {{ commerce }}
        and co.order_date <= as_of.as_of_date
),

per_channel as (
    select customer_key, channel, min(order_date) as first_order_date
    from orders
    group by customer_key, channel
),

across_channels as (
    select customer_key, 'all' as channel, order_date as first_order_date
    from orders
    where is_first_order
),

cohorts as (
    select * from per_channel
    union all
    select * from across_channels
)

select
    customer_key,
    channel,
    first_order_date,
    cast({{ dbt.date_trunc('month', 'first_order_date') }} as date) as cohort_month
from cohorts
