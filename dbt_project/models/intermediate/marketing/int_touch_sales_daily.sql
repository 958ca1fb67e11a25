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

-- one row per order and attribution: the touch the order's sales are posted to
touches as (
    select
        order_key,
        order_date,
        'session' as attribution,
        own_channel_group as channel_group,
        own_marketing_channel as marketing_channel,
        own_source as source,
        own_medium as medium,
        own_campaign_name as campaign_name,
        own_platform as platform,
        own_campaign_id as campaign_id,
        is_new_customer,
        gross_sales_usd,
        discounts_usd
    from attributed
    union all
    select
        order_key,
        order_date,
        'last_non_direct_click' as attribution,
        channel_group,
        marketing_channel,
        source,
        medium,
        campaign_name,
        platform,
        campaign_id,
        is_new_customer,
        gross_sales_usd,
        discounts_usd
    from attributed
),

postings as (
    select
        order_key,
        order_date as date_day,
        attribution,
        1 as orders,
        case when is_new_customer then 1 else 0 end as new_customers,
        gross_sales_usd,
        discounts_usd,
        cast(0 as decimal(18, 2)) as refunds_usd
    from touches
    union all
    select
        t.order_key,
        r.refund_date as date_day,
        t.attribution,
        0 as orders,
        0 as new_customers,
        cast(0 as decimal(18, 2)) as gross_sales_usd,
        cast(0 as decimal(18, 2)) as discounts_usd,
        r.refund_amount_usd as refunds_usd
    from refunds as r
    inner join touches as t on t.order_key = r.order_key
)

select
    p.date_day,
    p.attribution,
    t.channel_group,
    t.marketing_channel,
    t.source,
    t.medium,
    t.campaign_name,
    t.platform,
    t.campaign_id,
    cast(sum(p.orders) as integer) as orders,
    cast(sum(p.new_customers) as integer) as new_customers,
    {{ to_money('sum(p.gross_sales_usd)') }} as gross_sales_usd,
    {{ to_money('sum(p.discounts_usd)') }} as discounts_usd,
    {{ to_money('sum(p.refunds_usd)') }} as refunds_usd,
    {{ to_money('sum(p.gross_sales_usd) - sum(p.discounts_usd) - sum(p.refunds_usd)') }} as net_sales_usd
from postings as p
inner join touches as t on t.order_key = p.order_key and t.attribution = p.attribution
group by
    p.date_day,
    p.attribution,
    t.channel_group,
    t.marketing_channel,
    t.source,
    t.medium,
    t.campaign_name,
    t.platform,
    t.campaign_id
