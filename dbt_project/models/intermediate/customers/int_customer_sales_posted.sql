{#- The net sales of every counted order of a resolved customer, as postings on their own UTC date (docs/cohorts.md):
    a commerce order posts gross - discounts on its order date and each of its refunds -refund on the refund's date
    (the net sales definition of channel_revenue_daily: refunds on their own date); a B2B booking posts its amount on
    the close date (b2b net sales = bookings), once per company of the deal. Which orders count and whose they are
    is int_customer_orders' (counts_as_sale, customer_key); the USD amounts are fct_orders', fct_refunds' and
    int_deals'. Orders without a resolved customer are left out.
    Contribution (contribution_usd, docs/costs.md, docs/cohorts.md): an order posts net sales − its COGS
    (fct_order_lines.cogs_usd; null when a line's cost is missing, never 0), a refund −refund + the cost restocked,
    and each of the order's marketplace fees a 'fee' posting of −fee on its posted date (no net sales); a B2B
    booking has no contribution (the CRM holds no costs: null). Ad spend is not attributable to a customer. -#}
{%- set order_columns = 'o.customer_key, o.channel, o.source_order_id, o.order_date, o.counted_order_number' %}
with order_costs as (
    -- COGS per order: null as soon as one line has no cost
    select
        order_key,
        case when sum(case when is_cost_missing then 1 else 0 end) = 0 then sum(cogs_usd) end as cogs_usd
    from {{ ref('fct_order_lines') }}
    group by order_key
),

customer_orders as (
    select * from {{ ref('int_customer_orders') }}
    where counts_as_sale and customer_key is not null
),

orders as (
    select
        co.customer_key,
        co.channel,
        co.source_order_id,
        co.order_date,
        co.counted_order_number,
        f.order_key,
        f.gross_sales_usd - f.discounts_usd as net_sales_usd,
        f.gross_sales_usd - f.discounts_usd - c.cogs_usd as contribution_usd
    from customer_orders as co
    inner join {{ ref('fct_orders') }} as f
        on f.channel = co.channel and f.order_id = co.source_order_id
    left join order_costs as c on c.order_key = f.order_key
    where co.channel <> 'b2b'
),

order_postings as (
    select
        customer_key,
        channel,
        source_order_id,
        order_date,
        counted_order_number,
        'order' as posting_type,
        order_date as posted_date,
        net_sales_usd,
        contribution_usd
    from orders
),

refund_postings as (
    select
        {{ order_columns }},
        'refund' as posting_type,
        r.refund_date as posted_date,
        -sum(r.refund_amount_usd) as net_sales_usd,
        sum(coalesce(r.restocked_cost_usd, 0) - r.refund_amount_usd) as contribution_usd
    from orders as o
    inner join {{ ref('fct_refunds') }} as r on r.order_key = o.order_key
    group by {{ order_columns }}, r.refund_date
),

fee_postings as (
    select
        {{ order_columns }},
        'fee' as posting_type,
        m.posted_date,
        0 as net_sales_usd,
        -sum(m.fee_amount_usd) as contribution_usd
    from orders as o
    inner join {{ ref('fct_marketplace_fees') }} as m on m.order_key = o.order_key
    where m.counts_as_marketplace_fee
    group by {{ order_columns }}, m.posted_date
),

booking_postings as (
    select
        co.customer_key,
        co.channel,
        co.source_order_id,
        co.order_date,
        co.counted_order_number,
        'booking' as posting_type,
        co.order_date as posted_date,
        d.amount_usd as net_sales_usd,
        cast(null as {{ dbt.type_numeric() }}) as contribution_usd
    from customer_orders as co
    inner join {{ ref('int_deals') }} as d on d.deal_id = co.source_order_id
    where co.channel = 'b2b'
),

postings as (
    select * from order_postings
    union all
    select * from refund_postings
    union all
    select * from fee_postings
    union all
    select * from booking_postings
)

select
    customer_key,
    channel,
    source_order_id,
    order_date,
    cast(counted_order_number as integer) as counted_order_number,
    posting_type,
    posted_date,
    {{ to_money('net_sales_usd') }} as net_sales_usd,
    {{ to_money('contribution_usd') }} as contribution_usd
from postings
