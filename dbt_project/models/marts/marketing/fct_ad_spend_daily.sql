{#- Public: the ad platforms' daily campaign spend and their own conversion figures (int_ad_spend_daily), USD per
    campaign-day at the UTC date's rate. The platforms' conversions are their own claims: shown beside the
    warehouse's attribution (marketing_performance_*), never summed into revenue. -#}
select
    date_day,
    platform,
    account_id,
    campaign_id,
    campaign_name,
    sales_channel,
    channel_group,
    marketing_channel,
    campaign_type,
    marketplace_id,
    country_code,
    currency,
    spend,
    usd_per_unit,
    spend_usd,
    impressions,
    clicks,
    platform_conversions,
    platform_conversion_value,
    platform_conversion_value_usd
from {{ ref('int_ad_spend_daily') }}
