{#- Public: B2B account cohorts (docs/cohorts.md). Grain: cohort_month × months_since_first_won. An account is a CRM
    company with a won deal (the B2B bookings rule: int_deals.is_booked, won and not archived; a deal with several
    companies counts for each); its cohort is the month of its first won deal's UTC close date
    (int_customer_orders.counted_order_number = 1). Month k is cohort_month + k months, every k up to the as-of
    date's month, zero where no account won a deal. Active = accounts of the cohort with a deal won in month k;
    retention = active ÷ cohort_accounts; expansion = bookings of deals won after the account's first won deal (repeat
    bookings; the first deal is in month 0, so months k > 0 are all expansion). -#}
with as_of as (
    select
        as_of_date,
        cast({{ dbt.date_trunc('month', 'as_of_date') }} as date) as last_month
    from {{ ref('int_customer_sales_as_of') }}
),

bookings as (
    select p.*
    from {{ ref('int_customer_sales_posted') }} as p
    cross join as_of
    where p.channel = 'b2b' and p.posting_type = 'booking' and p.posted_date <= as_of.as_of_date
),

accounts as (
    select customer_key, cast({{ dbt.date_trunc('month', 'order_date') }} as date) as cohort_month
    from bookings
    where counted_order_number = 1
),

activity as (
    select
        a.cohort_month,
        cast({{ dbt.date_trunc('month', 'b.posted_date') }} as date) as activity_month,
        count(distinct b.customer_key) as active_accounts,
        count(*) as deals_won,
        sum(b.net_sales_usd) as bookings_usd,
        sum(case when b.counted_order_number > 1 then b.net_sales_usd else 0 end) as expansion_bookings_usd
    from bookings as b
    inner join accounts as a on a.customer_key = b.customer_key
    group by a.cohort_month, cast({{ dbt.date_trunc('month', 'b.posted_date') }} as date)
),

sizes as (
    select cohort_month, count(*) as cohort_accounts
    from accounts
    group by cohort_month
),

grid as (
    {{ cohort_month_grid('sizes', ['cohort_month', 'cohort_accounts'], 'months_since_first_won') }}
),

combined as (
    select
        g.cohort_month,
        g.months_since_first_won,
        g.activity_month,
        g.cohort_accounts,
        coalesce(a.active_accounts, 0) as active_accounts,
        coalesce(a.deals_won, 0) as deals_won,
        coalesce(a.bookings_usd, 0) as bookings_usd,
        coalesce(a.expansion_bookings_usd, 0) as expansion_bookings_usd,
        {{ running_total('coalesce(a.bookings_usd, 0)', 'g.cohort_month', 'g.months_since_first_won') }}
            as cumulative_bookings_usd,
        {{ running_total('coalesce(a.expansion_bookings_usd, 0)', 'g.cohort_month', 'g.months_since_first_won') }}
            as cumulative_expansion_bookings_usd
    from grid as g
    left join activity as a on a.cohort_month = g.cohort_month and a.activity_month = g.activity_month
)

select
    cohort_month,
    months_since_first_won,
    activity_month,
    cast(cohort_accounts as integer) as cohort_accounts,
    cast(active_accounts as integer) as active_accounts,
    {{ when_positive_divide_exact('active_accounts', 'cohort_accounts', 4) }} as retention_pct,
    cast(deals_won as integer) as deals_won,
    {{ to_money('bookings_usd') }} as bookings_usd,
    {{ to_money('expansion_bookings_usd') }} as expansion_bookings_usd,
    {{ to_money('cumulative_bookings_usd') }} as cumulative_bookings_usd,
    {{ to_money('cumulative_expansion_bookings_usd') }} as cumulative_expansion_bookings_usd,
    {{ when_positive_divide_exact('cumulative_bookings_usd', 'cohort_accounts', 2) }}
        as cumulative_bookings_per_account_usd
from combined
