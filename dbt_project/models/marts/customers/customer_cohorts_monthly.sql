{#- Public: customer acquisition cohorts (docs/cohorts.md). Grain: cohort_month × channel × months_since_first_order.
    A customer's cohort is the month of its first counted order in the channel (channel 'all': ever, across the
    commerce channels, the resolved customer: int_customer_cohorts_assigned). Month k is cohort_month + k months;
    every cohort has a row for each k from 0 to the as-of date's month (int_customer_sales_as_of), zero where
    nobody ordered. Active = cohort customers with a counted order in month k in the channel (any commerce channel
    for 'all'); retention = active ÷ cohort size (the metric definition). Orders and net sales are the cohort
    customers' in the channel in month k; net sales post on their own date (orders on the order date, refunds on
    the refund date: int_customer_sales_posted), so a refund of an earlier order lowers the month it is booked in.
    Contribution (net sales − COGS − marketplace fees + cost restocked) is cumulated the same way; null from the
    first month with a posting whose contribution is unknown (a missing cost). -#}
{%- set commerce = "('shopify', 'amazon', 'ebay')" -%}
with as_of as (
    select
        as_of_date,
        cast({{ dbt.date_trunc('month', 'as_of_date') }} as date) as last_month
    from {{ ref('int_customer_sales_as_of') }}
),

cohorts as (
    select * from {{ ref('int_customer_cohorts_assigned') }}
),

channel_postings as (
    select p.*
    from {{ ref('int_customer_sales_posted') }} as p
    cross join as_of
    where p.channel in {{ commerce }} and p.posted_date <= as_of.as_of_date
),

postings as (
    -- each posting once in its own channel and once in 'all'
    select customer_key, channel, source_order_id, posting_type, posted_date, net_sales_usd, contribution_usd
    from channel_postings
    union all
    select customer_key, 'all' as channel, source_order_id, posting_type, posted_date, net_sales_usd, contribution_usd
    from channel_postings
),

activity as (
    select
        c.cohort_month,
        c.channel,
        cast({{ dbt.date_trunc('month', 'p.posted_date') }} as date) as activity_month,
        count(distinct case when p.posting_type = 'order' then p.customer_key end) as active_customers,
        sum(case when p.posting_type = 'order' then 1 else 0 end) as orders,
        sum(p.net_sales_usd) as net_sales_usd,
        sum(p.contribution_usd) as contribution_usd,
        sum(case when p.contribution_usd is null then 1 else 0 end) as postings_without_contribution
    from postings as p
    inner join cohorts as c on c.customer_key = p.customer_key and c.channel = p.channel
    group by c.cohort_month, c.channel, cast({{ dbt.date_trunc('month', 'p.posted_date') }} as date)
),

sizes as (
    select cohort_month, channel, count(*) as cohort_customers
    from cohorts
    group by cohort_month, channel
),

grid as (
    {{ cohort_month_grid('sizes', ['cohort_month', 'channel', 'cohort_customers'], 'months_since_first_order') }}
),

combined as (
    select
        g.cohort_month,
        g.channel,
        g.months_since_first_order,
        g.activity_month,
        g.cohort_customers,
        coalesce(a.active_customers, 0) as active_customers,
        coalesce(a.orders, 0) as orders,
        coalesce(a.net_sales_usd, 0) as net_sales_usd,
        {{ running_total('coalesce(a.net_sales_usd, 0)', 'g.cohort_month, g.channel', 'g.months_since_first_order') }}
            as cumulative_net_sales_usd,
        {{ running_total(
            'coalesce(a.contribution_usd, 0)', 'g.cohort_month, g.channel', 'g.months_since_first_order'
        ) }}
            as cumulative_contribution_known_usd,
        {{ running_total(
            'coalesce(a.postings_without_contribution, 0)', 'g.cohort_month, g.channel', 'g.months_since_first_order'
        ) }}
            as cumulative_postings_without_contribution
    from grid as g
    left join activity as a
        on a.cohort_month = g.cohort_month and a.channel = g.channel and a.activity_month = g.activity_month
)

select
    cohort_month,
    channel,
    months_since_first_order,
    activity_month,
    cast(cohort_customers as integer) as cohort_customers,
    cast(active_customers as integer) as active_customers,
    {{ when_positive_divide_exact('active_customers', 'cohort_customers', 4) }} as retention_pct,
    cast(orders as integer) as orders,
    {{ to_money('net_sales_usd') }} as net_sales_usd,
    {{ to_money('cumulative_net_sales_usd') }} as cumulative_net_sales_usd,
    {{ when_positive_divide_exact('cumulative_net_sales_usd', 'cohort_customers', 2) }}
        as cumulative_net_sales_per_customer_usd,
    case
        when cumulative_postings_without_contribution = 0
            then {{ to_money('cumulative_contribution_known_usd') }}
    end as cumulative_contribution_usd,
    case
        when cumulative_postings_without_contribution = 0
            then {{ when_positive_divide_exact('cumulative_contribution_known_usd', 'cohort_customers', 2) }}
    end as cumulative_contribution_per_customer_usd
from combined
