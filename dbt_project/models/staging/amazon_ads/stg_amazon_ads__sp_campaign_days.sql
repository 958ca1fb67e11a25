{#- Amazon Ads Sponsored Products campaign days, 1:1 with raw_amazon_ads.sp_campaign_days: renamed and typed. The
    merge keeps one row per profile × campaign × date (restated days are updated in place); staging makes sure. -#}
{%- set key = 'profile_id, campaign_id, date' %}
with deduplicated as (
    {{ deduplicate(source('raw_amazon_ads', 'sp_campaign_days'), key, '_dlt_load_id desc') }}
)

select
    cast(date as date) as date_day,
    cast(profile_id as varchar) as profile_id,
    cast(campaign_id as varchar) as campaign_id,
    cast(campaign_name as varchar) as campaign_name,
    cast(currency as varchar) as currency,
    {{ to_money('cost') }} as spend,
    cast(impressions as bigint) as impressions,
    cast(clicks as bigint) as clicks,
    cast(purchases_14d as bigint) as purchases_14d,
    {{ to_money('sales_14d') }} as sales_14d,
    cast(units_sold_clicks_14d as bigint) as units_sold_clicks_14d,
    cast(campaign_status as varchar) as campaign_status,
    {{ to_money('campaign_budget_amount') }} as campaign_budget_amount
from deduplicated
