{#- The traffic source of every Shopify order, as GA4 names and groups the visit that brought it (macros/marketing.sql,
    the one rule set): UTM parameters of the landing site when present, else the referrer (search engine, social
    site, other site) or none (direct). Test and cancelled orders too, flagged by counts_as_sale (int_orders). -#}
with orders as (
    select
        o.order_id as shopify_order_id,
        o.created_at as ordered_at,
        cast(o.created_at as date) as order_date,
        o.customer_id as shopify_customer_id,
        o.utm_source,
        o.utm_medium,
        o.utm_campaign,
        o.utm_id,
        o.referring_host
    from {{ ref('stg_shopify__orders') }} as o
),

touched as (
    select
        *,
        {{ touch_source('utm_source', 'utm_medium', 'referring_host') }} as source,
        {{ touch_medium('utm_source', 'utm_medium', 'referring_host') }} as medium,
        {{ touch_campaign('utm_source', 'utm_medium', 'utm_campaign', 'referring_host') }} as campaign_name,
        {{ touch_campaign_id('utm_source', 'utm_medium', 'utm_id') }} as campaign_id
    from orders
),

grouped as (
    select
        *,
        {{ default_channel_group('source', 'medium', 'campaign_name') }} as channel_group
    from touched
)

select
    i.order_key,
    g.shopify_order_id,
    i.order_id,
    g.ordered_at,
    g.order_date,
    g.shopify_customer_id,
    i.customer_key,
    i.counts_as_sale,
    g.channel_group,
    {{ marketing_channel('g.channel_group') }} as marketing_channel,
    g.source,
    g.medium,
    g.campaign_name,
    {{ ad_platform('g.source', 'g.channel_group') }} as platform,
    g.campaign_id,
    g.channel_group = 'Direct' as is_direct,
    g.utm_source,
    g.utm_medium,
    g.utm_campaign,
    g.utm_id,
    g.referring_host
from grouped as g
inner join {{ ref('int_orders') }} as i
    on i.channel = 'shopify' and i.order_id = cast(g.shopify_order_id as {{ dbt.type_string() }})
