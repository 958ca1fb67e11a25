{#- The three ad platforms' daily campaign figures in one shape, as each platform reports them (recent days
    restated by the next load): Google Ads ad groups summed to the campaign, Meta campaigns, Amazon Ads Sponsored
    Products campaigns (account = the advertising profile, with its marketplace). Google's campaign type (SEARCH,
    SHOPPING, ...) from its campaigns list. Spend and the platform's own conversion value are
    converted to USD per campaign-day at the UTC date's rate (int_fx_rates_carried: the last earlier business day's
    rate on weekends), rounded to the cent per row; a missing rate leaves *_usd null and the tests fail. -#}
with google as (
    select
        date_day,
        'google_ads' as platform,
        customer_id as account_id,
        campaign_id,
        max(campaign_name) as campaign_name,
        max(currency) as currency,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(conversions) as platform_conversions,
        sum(conversions_value) as platform_conversion_value,
        count(*) as ad_groups
    from {{ ref('stg_google_ads__ad_group_stats') }}
    group by date_day, customer_id, campaign_id
),

meta as (
    select
        date_day,
        'meta' as platform,
        account_id,
        campaign_id,
        campaign_name,
        currency,
        spend,
        impressions,
        clicks,
        purchases as platform_conversions,
        purchase_value as platform_conversion_value,
        cast(null as bigint) as ad_groups
    from {{ ref('stg_meta__campaign_insights') }}
),

amazon as (
    select
        date_day,
        'amazon_ads' as platform,
        profile_id as account_id,
        campaign_id,
        campaign_name,
        currency,
        spend,
        impressions,
        clicks,
        cast(purchases_14d as decimal(18, 2)) as platform_conversions,
        sales_14d as platform_conversion_value,
        cast(null as bigint) as ad_groups
    from {{ ref('stg_amazon_ads__sp_campaign_days') }}
),

unioned as (
    select * from google
    union all
    select * from meta
    union all
    select * from amazon
),

grouped as (
    select
        *,
        case
            when platform = 'google_ads'
                then {{ default_channel_group("'google'", "'cpc'", 'campaign_name') }}
            when platform = 'meta' then 'Paid Social'
        end as channel_group
    from unioned
)

select
    u.date_day,
    u.platform,
    u.account_id,
    u.campaign_id,
    u.campaign_name,
    case when u.platform = 'amazon_ads' then 'amazon' else 'shopify' end as sales_channel,
    u.channel_group,
    case
        when u.platform = 'amazon_ads' then 'sponsored_products'
        else {{ marketing_channel('u.channel_group') }}
    end as marketing_channel,
    case when u.platform = 'amazon_ads' then 'SPONSORED_PRODUCTS' else gc.channel_type end as campaign_type,
    p.marketplace_id,
    p.country_code,
    u.currency,
    {{ to_money('u.spend') }} as spend,
    {{ usd_per_unit('r', 'u.currency') }} as usd_per_unit,
    {{ to_usd('u.spend', usd_per_unit('r', 'u.currency')) }} as spend_usd,
    cast(u.impressions as bigint) as impressions,
    cast(u.clicks as bigint) as clicks,
    cast(u.platform_conversions as decimal(18, 2)) as platform_conversions,
    {{ to_money('u.platform_conversion_value') }} as platform_conversion_value,
    {{ to_usd('u.platform_conversion_value', usd_per_unit('r', 'u.currency')) }} as platform_conversion_value_usd,
    cast(u.ad_groups as integer) as ad_groups
from grouped as u
left join {{ ref('stg_google_ads__campaigns') }} as gc
    on u.platform = 'google_ads' and gc.customer_id = u.account_id and gc.campaign_id = u.campaign_id
left join {{ ref('stg_amazon_ads__profiles') }} as p
    on u.platform = 'amazon_ads' and p.profile_id = u.account_id
{{ join_fx_rate('r', 'u.currency', 'u.date_day') }}
