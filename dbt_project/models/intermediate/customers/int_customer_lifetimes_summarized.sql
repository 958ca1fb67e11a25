{#- Lifetime figures per resolved customer with a counted order on or before the as-of date (docs/cohorts.md), from
    the net sales postings of int_customer_sales_posted up to that date: orders (commerce orders; a company's won
    deals), net sales (bookings for a company), first and last order dates, days since the last order, the churn
    flag (no counted order within the churn window: days_since_last_order > churn_window_days) and the 12-month
    historical LTV (net sales posted in [first order date, first order date + 12 months); null until the as-of
    date has reached the end of that window); lifetime contribution (null if one posting has none: a company, a
    missing cost). -#}
with as_of as (
    select * from {{ ref('int_customer_sales_as_of') }}
),

postings as (
    select p.*
    from {{ ref('int_customer_sales_posted') }} as p
    cross join as_of
    where p.posted_date <= as_of.as_of_date
),

firsts as (
    select customer_key, min(order_date) as first_order_date
    from postings
    group by customer_key
),

summed as (
    select
        p.customer_key,
        sum(case when p.posting_type in ('order', 'booking') then 1 else 0 end) as lifetime_orders,
        sum(p.net_sales_usd) as lifetime_net_sales_usd,
        case
            when sum(case when p.contribution_usd is null then 1 else 0 end) = 0 then sum(p.contribution_usd)
        end as lifetime_contribution_usd,
        min(p.order_date) as first_order_date,
        max(p.order_date) as last_order_date,
        sum(
            case
                when p.posted_date < {{ dbt.dateadd('month', 12, 'f.first_order_date') }} then p.net_sales_usd
                else 0
            end
        ) as net_sales_12m_usd
    from postings as p
    inner join firsts as f on f.customer_key = p.customer_key
    group by p.customer_key
)

select
    s.customer_key,
    cast(s.lifetime_orders as integer) as lifetime_orders,
    {{ to_money('s.lifetime_net_sales_usd') }} as lifetime_net_sales_usd,
    {{ to_money('s.lifetime_contribution_usd') }} as lifetime_contribution_usd,
    s.first_order_date,
    s.last_order_date,
    a.as_of_date,
    cast({{ dbt.datediff('s.last_order_date', 'a.as_of_date', 'day') }} as integer) as days_since_last_order,
    {{ dbt.datediff('s.last_order_date', 'a.as_of_date', 'day') }} > a.churn_window_days as is_churned,
    cast(
        case
            when cast({{ dbt.dateadd('month', 12, 's.first_order_date') }} as date) <= a.as_of_date
                then s.net_sales_12m_usd
        end as decimal(18, 2)
    ) as ltv_12m_usd
from summed as s
cross join as_of as a
