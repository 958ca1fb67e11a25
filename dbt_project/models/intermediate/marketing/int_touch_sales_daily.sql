{#- Shopify sales per UTC date × touch, twice: by the order's own visit (attribution 'session': what the web funnel
    compares with GA4's sessions) and by last non-direct click (attribution 'last_non_direct_click', the credited
    touch of int_orders_attributed: what ROAS and CAC read). Orders, new customers, gross and discounts on the order
    date; refunds on their own date, to the same touch (Metric definitions). -#}
with attributed as (
    select * from {{ ref('int_orders_attributed') }}
),

refunds as (
    select order_key, refund_date, refund_amount_usd
    from {{ ref('fct_refunds') }}
),

session_postings as (
    select
        order_date as date_day,
        'session' as attribution,
        own_channel_group as channel_group,
        own_marketing_channel as marketing_channel,
        own_source as source,
        own_medium as medium,
        own_campaign_name as campaign_name,
        own_platform as platform,
        own_campaign_id as campaign_id,
        1 as orders,
        case when is_new_customer then 1 else 0 end as new_customers,
        gross_sales_usd,
        discounts_usd,
        cast(0 as decimal(18, 2)) as refunds_usd
    from attributed
    union all
    select
        r.refund_date as date_day,
        'session' as attribution,
        a.own_channel_group as channel_group,
        a.own_marketing_channel as marketing_channel,
        a.own_source as source,
        a.own_medium as medium,
        a.own_campaign_name as campaign_name,
        a.own_platform as platform,
        a.own_campaign_id as campaign_id,
        0 as orders,
        0 as new_customers,
        cast(0 as decimal(18, 2)) as gross_sales_usd,
        cast(0 as decimal(18, 2)) as discounts_usd,
        r.refund_amount_usd as refunds_usd
    from refunds as r
    inner join attributed as a on a.order_key = r.order_key
),

last_non_direct_click_postings as (
    select
        order_date as date_day,
        'last_non_direct_click' as attribution,
        channel_group,
        marketing_channel,
        source,
        medium,
        campaign_name,
        platform,
        campaign_id,
        1 as orders,
        case when is_new_customer then 1 else 0 end as new_customers,
        gross_sales_usd,
        discounts_usd,
        cast(0 as decimal(18, 2)) as refunds_usd
    from attributed
    union all
    select
        r.refund_date as date_day,
        'last_non_direct_click' as attribution,
        a.channel_group,
        a.marketing_channel,
        a.source,
        a.medium,
        a.campaign_name,
        a.platform,
        a.campaign_id,
        0 as orders,
        0 as new_customers,
        cast(0 as decimal(18, 2)) as gross_sales_usd,
        cast(0 as decimal(18, 2)) as discounts_usd,
        r.refund_amount_usd as refunds_usd
    from refunds as r
    inner join attributed as a on a.order_key = r.order_key
),

postings as (
    select * from session_postings
    union all
    select * from last_non_direct_click_postings
)

select
    date_day,
    attribution,
    channel_group,
    marketing_channel,
    source,
    medium,
    campaign_name,
    platform,
    campaign_id,
    cast(sum(orders) as integer) as orders,
    cast(sum(new_customers) as integer) as new_customers,
    {{ to_money('sum(gross_sales_usd)') }} as gross_sales_usd,
    {{ to_money('sum(discounts_usd)') }} as discounts_usd,
    {{ to_money('sum(refunds_usd)') }} as refunds_usd,
    {{ to_money('sum(gross_sales_usd) - sum(discounts_usd) - sum(refunds_usd)') }} as net_sales_usd
from postings
group by
    date_day,
    attribution,
    channel_group,
    marketing_channel,
    source,
    medium,
    campaign_name,
    platform,
    campaign_id
