{#- Public: marketing performance per UTC date × sales channel × marketing channel × ad platform × campaign: the
    platforms' spend, GA4's sessions, and the warehouse's Shopify sales orders credited by last non-direct click
    (int_touch_sales_daily) - attributed net sales from the warehouse's orders, never the platforms' figures, which
    stand beside them (platform_conversions, platform_conversion_value_usd, platform_roas). Unpaid marketing
    channels have one row per day with platform and campaign_id null (email campaigns carry no id). Amazon Ads rows
    (channel amazon, sponsored_products): marketplace orders carry no click, so sessions, orders, attributed sales
    and new customers are null; only the platform's figures are known. -#}
with spend as (
    select * from {{ ref('int_ad_spend_daily') }}
),

campaigns as (
    -- each ad campaign's one marketing channel and its latest name: sessions and orders of the campaign join them
    select platform, campaign_id, marketing_channel, campaign_name
    from (
        select
            platform,
            campaign_id,
            marketing_channel,
            campaign_name,
            row_number() over (partition by platform, campaign_id order by date_day desc) as recency
        from spend
    ) as ranked
    where recency = 1
),

spend_rows as (
    select
        s.date_day,
        s.sales_channel as channel,
        c.marketing_channel,
        s.platform,
        s.campaign_id,
        s.spend_usd,
        s.impressions,
        s.clicks,
        cast(case when s.sales_channel = 'shopify' then 0 end as bigint) as sessions,
        cast(case when s.sales_channel = 'shopify' then 0 end as bigint) as engaged_sessions,
        cast(case when s.sales_channel = 'shopify' then 0 end as integer) as orders,
        cast(case when s.sales_channel = 'shopify' then 0 end as integer) as new_customers,
        cast(case when s.sales_channel = 'shopify' then 0 end as decimal(18, 2)) as attributed_net_sales_usd,
        s.platform_conversions,
        s.platform_conversion_value_usd
    from spend as s
    inner join campaigns as c on c.platform = s.platform and c.campaign_id = s.campaign_id
),

session_rows as (
    select
        w.date_day,
        'shopify' as channel,
        coalesce(c.marketing_channel, w.marketing_channel) as marketing_channel,
        w.platform,
        w.campaign_id,
        cast(0 as decimal(18, 2)) as spend_usd,
        cast(null as bigint) as impressions,
        cast(null as bigint) as clicks,
        w.sessions,
        w.engaged_sessions,
        0 as orders,
        0 as new_customers,
        cast(0 as decimal(18, 2)) as attributed_net_sales_usd,
        cast(null as decimal(18, 2)) as platform_conversions,
        cast(null as decimal(18, 2)) as platform_conversion_value_usd
    from {{ ref('fct_web_sessions_daily') }} as w
    left join campaigns as c on c.platform = w.platform and c.campaign_id = w.campaign_id
    where w.is_in_ga4
),

attributed_rows as (
    select
        a.date_day,
        'shopify' as channel,
        coalesce(c.marketing_channel, a.marketing_channel) as marketing_channel,
        a.platform,
        a.campaign_id,
        cast(0 as decimal(18, 2)) as spend_usd,
        cast(null as bigint) as impressions,
        cast(null as bigint) as clicks,
        0 as sessions,
        0 as engaged_sessions,
        a.orders,
        a.new_customers,
        a.net_sales_usd as attributed_net_sales_usd,
        cast(null as decimal(18, 2)) as platform_conversions,
        cast(null as decimal(18, 2)) as platform_conversion_value_usd
    from {{ ref('int_touch_sales_daily') }} as a
    left join campaigns as c on c.platform = a.platform and c.campaign_id = a.campaign_id
    where a.attribution = 'last_non_direct_click'
),

unioned as (
    select * from spend_rows
    union all
    select * from session_rows
    union all
    select * from attributed_rows
),

combined as (
    select
        date_day,
        channel,
        marketing_channel,
        platform,
        campaign_id,
        sum(spend_usd) as spend_usd,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(sessions) as sessions,
        sum(engaged_sessions) as engaged_sessions,
        sum(orders) as orders,
        sum(new_customers) as new_customers,
        sum(attributed_net_sales_usd) as attributed_net_sales_usd,
        sum(platform_conversions) as platform_conversions,
        sum(platform_conversion_value_usd) as platform_conversion_value_usd
    from unioned
    group by date_day, channel, marketing_channel, platform, campaign_id
)

select
    m.date_day,
    m.channel,
    m.marketing_channel,
    m.platform,
    m.campaign_id,
    c.campaign_name,
    {{ to_money('m.spend_usd') }} as spend_usd,
    cast(m.impressions as bigint) as impressions,
    cast(m.clicks as bigint) as clicks,
    cast(m.sessions as bigint) as sessions,
    cast(m.engaged_sessions as bigint) as engaged_sessions,
    cast(m.orders as integer) as orders,
    {{ when_positive_divide_exact('m.orders', 'm.sessions', 4) }} as conversion_rate,
    {{ to_money('m.attributed_net_sales_usd') }} as attributed_net_sales_usd,
    {{ when_positive_ratio_exact('m.attributed_net_sales_usd', 'm.spend_usd', 4) }} as roas,
    cast(m.platform_conversions as decimal(18, 2)) as platform_conversions,
    {{ to_money('m.platform_conversion_value_usd') }} as platform_conversion_value_usd,
    {{ when_positive_ratio_exact('m.platform_conversion_value_usd', 'm.spend_usd', 4) }}
        as platform_roas,
    cast(m.new_customers as integer) as new_customers,
    {{ when_positive_divide_exact('m.spend_usd', 'm.new_customers', 2) }} as cac_usd
from combined as m
left join campaigns as c on c.platform = m.platform and c.campaign_id = m.campaign_id
