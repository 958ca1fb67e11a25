{#- Public: the web funnel per UTC date × GA4 session source (channel group, source, medium, campaign name and id):
    GA4's sessions, engaged sessions and purchases as GA4 reports them, beside the warehouse's Shopify sales orders
    whose OWN visit was that source (int_touch_sales_daily, attribution 'session'; no last-click credit here) and
    their net sales, and the abandoned checkouts Shopify lists (with an email) by their own visit, named by the same
    rules (macros/marketing.sql). Every side is kept where the others have no row. -#}
{%- set keys = ['date_day', 'channel_group', 'source', 'medium', 'campaign_name', 'campaign_id'] -%}
with ga4 as (
    select
        t.date_day,
        t.channel_group,
        t.source,
        t.medium,
        t.campaign_name,
        t.campaign_id,
        t.sessions,
        t.engaged_sessions,
        t.ecommerce_purchases as ga4_purchases,
        {{ to_usd('t.purchase_revenue', usd_per_unit('r', 't.currency')) }} as ga4_purchase_revenue_usd
    from {{ ref('stg_ga4__traffic_daily') }} as t
    {{ join_fx_rate('r', 't.currency', 't.date_day') }}
),

orders as (
    select *
    from {{ ref('int_touch_sales_daily') }}
    where attribution = 'session'
),

checkout_touches as (
    select
        cast(created_at as date) as date_day,
        {{ touch_source('utm_source', 'utm_medium', 'referring_host') }} as source,
        {{ touch_medium('utm_source', 'utm_medium', 'referring_host') }} as medium,
        {{ touch_campaign('utm_source', 'utm_medium', 'utm_campaign', 'referring_host') }} as campaign_name,
        {{ touch_campaign_id('utm_source', 'utm_medium', 'utm_id') }} as campaign_id
    from {{ ref('stg_shopify__abandoned_checkouts') }}
),

checkouts as (
    select
        date_day,
        {{ default_channel_group('source', 'medium', 'campaign_name') }} as channel_group,
        source,
        medium,
        campaign_name,
        campaign_id
    from checkout_touches
),

unioned as (
    select
        {{ keys | join(', ') }},
        1 as ga4_rows,
        sessions,
        engaged_sessions,
        ga4_purchases,
        ga4_purchase_revenue_usd,
        0 as orders,
        0 as new_customers,
        cast(0 as decimal(18, 2)) as net_sales_usd,
        0 as abandoned_checkouts
    from ga4
    union all
    select
        {{ keys | join(', ') }},
        0 as ga4_rows,
        0 as sessions,
        0 as engaged_sessions,
        0 as ga4_purchases,
        cast(0 as decimal(18, 2)) as ga4_purchase_revenue_usd,
        orders,
        new_customers,
        net_sales_usd,
        0 as abandoned_checkouts
    from orders
    union all
    select
        {{ keys | join(', ') }},
        0 as ga4_rows,
        0 as sessions,
        0 as engaged_sessions,
        0 as ga4_purchases,
        cast(0 as decimal(18, 2)) as ga4_purchase_revenue_usd,
        0 as orders,
        0 as new_customers,
        cast(0 as decimal(18, 2)) as net_sales_usd,
        1 as abandoned_checkouts
    from checkouts
),

combined as (
    select
        {{ keys | join(', ') }},
        sum(ga4_rows) as ga4_rows,
        sum(sessions) as sessions,
        sum(engaged_sessions) as engaged_sessions,
        sum(ga4_purchases) as ga4_purchases,
        sum(ga4_purchase_revenue_usd) as ga4_purchase_revenue_usd,
        sum(orders) as orders,
        sum(new_customers) as new_customers,
        sum(net_sales_usd) as net_sales_usd,
        sum(abandoned_checkouts) as abandoned_checkouts
    from unioned
    group by {{ keys | join(', ') }}
)

select
    date_day,
    channel_group,
    {{ marketing_channel('channel_group') }} as marketing_channel,
    source,
    medium,
    campaign_name,
    campaign_id,
    {{ ad_platform('source', 'channel_group') }} as platform,
    ga4_rows > 0 as is_in_ga4,
    cast(sessions as bigint) as sessions,
    cast(engaged_sessions as bigint) as engaged_sessions,
    cast(ga4_purchases as bigint) as ga4_purchases,
    {{ to_money('ga4_purchase_revenue_usd') }} as ga4_purchase_revenue_usd,
    cast(orders as integer) as orders,
    cast(new_customers as integer) as new_customers,
    {{ to_money('net_sales_usd') }} as net_sales_usd,
    cast(abandoned_checkouts as integer) as abandoned_checkouts,
    {{ when_positive_divide_exact('orders', 'sessions', 4) }} as conversion_rate
from combined
