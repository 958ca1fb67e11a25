{#- Public: the commerce channels' monthly KPIs (shopify, amazon, ebay): orders, new customers and net sales exactly as
    channel_revenue_daily counts them (so as finance.monthly_revenue's live months), sessions from GA4 (Shopify
    only), ad spend from the platforms by the channel they sell into, and the ratios: conversion rate, AOV, blended
    CAC (spend ÷ the channel's new customers), ROAS (net sales the warehouse attributes to paid clicks ÷ spend;
    null where it cannot attribute: marketplace orders carry no click), total ROAS (all the channel's net sales ÷
    spend) and the platforms' own ROAS beside them. Net sales split by new and repeat customers: a customer's
    first counted order ever is new (int_customer_orders.is_first_order), with its refunds on their own date
    (int_customer_sales_posted). -#}
{%- set commerce = "('shopify', 'amazon', 'ebay')" -%}
with revenue as (
    select
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        channel,
        sum(orders) as orders,
        sum(new_customers) as new_customers,
        sum(net_sales_usd) as net_sales_usd
    from {{ ref('channel_revenue_daily') }}
    where channel in {{ commerce }}
    group by 1, 2
),

sessions as (
    select
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        'shopify' as channel,
        sum(sessions) as sessions
    from {{ ref('fct_web_sessions_daily') }}
    group by 1
),

spend as (
    select
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        sales_channel as channel,
        sum(spend_usd) as spend_usd,
        sum(platform_conversion_value_usd) as platform_conversion_value_usd
    from {{ ref('fct_ad_spend_daily') }}
    group by 1, 2
),

paid_attributed as (
    select
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        'shopify' as channel,
        sum(net_sales_usd) as net_sales_usd
    from {{ ref('int_touch_sales_daily') }}
    where attribution = 'last_non_direct_click' and platform is not null
    group by 1
),

new_customer_postings as (
    -- the net sales postings of first orders ever (int_customer_sales_posted: the order on its date, its refunds on
    -- theirs; counted_order_number 1 = int_customer_orders.is_first_order)
    select posted_date, channel, net_sales_usd
    from {{ ref('int_customer_sales_posted') }}
    where counted_order_number = 1 and channel in {{ commerce }}
),

new_customer_sales as (
    select
        cast({{ dbt.date_trunc('month', 'posted_date') }} as date) as month_start,
        channel,
        sum(net_sales_usd) as net_sales_usd
    from new_customer_postings
    group by 1, 2
),

combined as (
    select
        v.month_start,
        v.channel,
        s.sessions,
        v.orders,
        v.new_customers,
        v.net_sales_usd,
        coalesce(n.net_sales_usd, 0) as new_customer_net_sales_usd,
        coalesce(sp.spend_usd, 0) as spend_usd,
        sp.platform_conversion_value_usd,
        case when v.channel = 'shopify' then coalesce(p.net_sales_usd, 0) end as attributed_paid_net_sales_usd
    from revenue as v
    left join sessions as s on s.month_start = v.month_start and s.channel = v.channel
    left join spend as sp on sp.month_start = v.month_start and sp.channel = v.channel
    left join paid_attributed as p on p.month_start = v.month_start and p.channel = v.channel
    left join new_customer_sales as n on n.month_start = v.month_start and n.channel = v.channel
)

select
    month_start,
    channel,
    cast(sessions as bigint) as sessions,
    cast(orders as integer) as orders,
    {{ when_positive_divide_exact('orders', 'sessions', 4) }} as conversion_rate,
    {{ to_money('net_sales_usd') }} as net_sales_usd,
    {{ when_positive_divide_exact('net_sales_usd', 'orders', 2) }} as aov_usd,
    {{ to_money('spend_usd') }} as spend_usd,
    cast(new_customers as integer) as new_customers,
    {{ when_positive_divide_exact('spend_usd', 'new_customers', 2) }} as cac_usd,
    {{ to_money('attributed_paid_net_sales_usd') }} as attributed_paid_net_sales_usd,
    {{ when_positive_ratio_exact('attributed_paid_net_sales_usd', 'spend_usd', 4) }} as roas,
    {{ when_positive_ratio_exact('net_sales_usd', 'spend_usd', 4) }} as total_roas,
    {{ to_money('platform_conversion_value_usd') }} as platform_conversion_value_usd,
    {{ when_positive_ratio_exact('platform_conversion_value_usd', 'spend_usd', 4) }}
        as platform_roas,
    {{ to_money('new_customer_net_sales_usd') }} as new_customer_net_sales_usd,
    {{ to_money('net_sales_usd - new_customer_net_sales_usd') }} as repeat_customer_net_sales_usd
from combined
