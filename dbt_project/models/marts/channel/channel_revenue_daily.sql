{#- Sales per UTC date × channel in USD (docs/architecture.md, Metric definitions): test and cancelled orders never count; refunds are
    booked on the refund's date and fees on their posted date; B2B gross = net = bookings (int_deals.is_booked:
    closed-won, not archived deals on their close date). Customers are resolved customers (int_customer_orders): distinct
    customers with a counted order (B2B - companies of deals won) that day; new customers are those whose first
    counted order ever, across all commerce channels (B2B - a company's first won deal), is that day and channel.
    COGS and gross margin (docs/costs.md) for the commerce channels; null for b2b (deals carry no product lines). -#}
with orders as (
    select
        order_date as date_day,
        channel,
        count(*) as orders,
        sum(gross_sales_usd) as gross_sales_usd,
        sum(discounts_usd) as discounts_usd
    from {{ ref('fct_orders') }}
    where counts_as_sale
    group by order_date, channel
),

bookings as (
    select
        close_date as date_day,
        'b2b' as channel,
        count(*) as orders,
        sum(amount_usd) as gross_sales_usd,
        cast(0 as decimal(18, 2)) as discounts_usd
    from {{ ref('int_deals') }}
    where is_booked
    group by close_date
),

sales as (
    select * from orders
    union all
    select * from bookings
),

customers as (
    select
        order_date as date_day,
        channel,
        count(distinct customer_key) as customers,
        sum(case when is_first_order then 1 else 0 end) as new_customers
    from {{ ref('int_customer_orders') }}
    where counts_as_sale and customer_key is not null
    group by order_date, channel
),

refunds as (
    select refund_date as date_day, channel, sum(refund_amount_usd) as refunds_usd
    from {{ ref('fct_refunds') }}
    where order_counts_as_sale
    group by refund_date, channel
),

fees as (
    select posted_date as date_day, channel, sum(fee_amount_usd) as marketplace_fees_usd
    from {{ ref('fct_marketplace_fees') }}
    where order_counts_as_sale and counts_as_marketplace_fee
    group by posted_date, channel
),

costs as (
    -- COGS (docs/costs.md): lines sold on their order date less the cost restocked by refunds on the refund's date
    select date_day, channel, sum(cogs_usd) as cogs_usd, sum(cost_missing_units) as cost_missing_units
    from (
        select
            order_date as date_day, channel, coalesce(cogs_usd, 0) as cogs_usd,
            case when is_cost_missing then quantity else 0 end as cost_missing_units
        from {{ ref('fct_order_lines') }}
        where counts_as_sale
        union all
        select
            refund_date as date_day, channel, -coalesce(restocked_cost_usd, 0) as cogs_usd, 0 as cost_missing_units
        from {{ ref('fct_refunds') }}
        where order_counts_as_sale and restocked_quantity > 0
    ) as postings
    group by date_day, channel
),

last_day as (
    select max(date_day) as date_day from (
        select date_day from sales
        union all
        select date_day from refunds
        union all
        select date_day from fees
    ) as activity
),

spine as (
    select d.date_day, c.channel
    from {{ ref('dim_date') }} as d
    cross join {{ ref('dim_channel') }} as c
    cross join last_day
    where d.date_day >= cast('{{ var("history_start") }}' as date)
        and d.date_day <= last_day.date_day
),

combined as (
    select
        spine.date_day,
        spine.channel,
        coalesce(s.orders, 0) as orders,
        coalesce(cu.customers, 0) as customers,
        coalesce(cu.new_customers, 0) as new_customers,
        coalesce(s.gross_sales_usd, 0) as gross_sales_usd,
        coalesce(s.discounts_usd, 0) as discounts_usd,
        coalesce(r.refunds_usd, 0) as refunds_usd,
        coalesce(f.marketplace_fees_usd, 0) as marketplace_fees_usd,
        case when spine.channel <> 'b2b' then coalesce(k.cogs_usd, 0) end as cogs_usd,
        coalesce(k.cost_missing_units, 0) as cost_missing_units
    from spine
    left join sales as s on s.date_day = spine.date_day and s.channel = spine.channel
    left join customers as cu on cu.date_day = spine.date_day and cu.channel = spine.channel
    left join refunds as r on r.date_day = spine.date_day and r.channel = spine.channel
    left join fees as f on f.date_day = spine.date_day and f.channel = spine.channel
    left join costs as k on k.date_day = spine.date_day and k.channel = spine.channel
)

select
    date_day,
    channel,
    cast(orders as integer) as orders,
    cast(customers as integer) as customers,
    cast(new_customers as integer) as new_customers,
    {{ to_money('gross_sales_usd') }} as gross_sales_usd,
    {{ to_money('discounts_usd') }} as discounts_usd,
    {{ to_money('refunds_usd') }} as refunds_usd,
    {{ to_money('gross_sales_usd - discounts_usd - refunds_usd') }} as net_sales_usd,
    {{ to_money('marketplace_fees_usd') }} as marketplace_fees_usd,
    {{ to_money('gross_sales_usd - discounts_usd - refunds_usd - marketplace_fees_usd') }} as net_revenue_usd,
    case
        when orders > 0 then {{ divide_exact('gross_sales_usd - discounts_usd - refunds_usd', 'orders', 2) }}
    end as aov_usd,
    {{ to_money('cogs_usd') }} as cogs_usd,
    {{ to_money('gross_sales_usd - discounts_usd - refunds_usd - cogs_usd') }} as gross_margin_usd,
    cast(cost_missing_units as integer) as cost_missing_units
from combined
