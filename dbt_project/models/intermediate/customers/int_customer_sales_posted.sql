{#- The net sales of every counted order of a resolved customer, as postings on their own UTC date (docs/cohorts.md):
    a commerce order posts gross - discounts on its order date and each of its refunds -refund on the refund's date
    (the net sales definition of channel_revenue_daily: refunds on their own date); a B2B booking posts its amount on
    the close date (b2b net sales = bookings), once per company of the deal. Which orders count and whose they are
    is int_customer_orders' (counts_as_sale, customer_key); the USD amounts are fct_orders', fct_refunds' and
    int_deals'. Orders without a resolved customer are left out. -#}
with customer_orders as (
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
        f.gross_sales_usd - f.discounts_usd as net_sales_usd
    from customer_orders as co
    inner join {{ ref('fct_orders') }} as f
        on f.channel = co.channel and f.order_id = co.source_order_id
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
        net_sales_usd
    from orders
),

refund_postings as (
    select
        o.customer_key,
        o.channel,
        o.source_order_id,
        o.order_date,
        o.counted_order_number,
        'refund' as posting_type,
        r.refund_date as posted_date,
        -sum(r.refund_amount_usd) as net_sales_usd
    from orders as o
    inner join {{ ref('fct_refunds') }} as r on r.order_key = o.order_key
    group by o.customer_key, o.channel, o.source_order_id, o.order_date, o.counted_order_number, r.refund_date
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
        d.amount_usd as net_sales_usd
    from customer_orders as co
    inner join {{ ref('int_deals') }} as d on d.deal_id = co.source_order_id
    where co.channel = 'b2b'
),

postings as (
    select * from order_postings
    union all
    select * from refund_postings
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
    {{ to_money('net_sales_usd') }} as net_sales_usd
from postings
