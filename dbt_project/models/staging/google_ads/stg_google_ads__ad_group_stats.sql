{#- Google Ads ad-group days, 1:1 with raw_google_ads.ad_group_stats: typed, the latest load of each key. Spend is
    cost_micros / 1,000,000 divided exactly (Google bills whole cents: the micros are multiples of 10,000);
    conversions and their value are Google's own (over-counted, restated for days), rounded to hundredths. -#}
with deduplicated as (
    {{ deduplicate(source('raw_google_ads', 'ad_group_stats'), 'customer_id, ad_group_id, date', '_dlt_load_id desc') }}
)

select
    cast(date as date) as date_day,
    cast(customer_id as varchar) as customer_id,
    cast(campaign_id as varchar) as campaign_id,
    cast(campaign_name as varchar) as campaign_name,
    cast(ad_group_id as varchar) as ad_group_id,
    cast(ad_group_name as varchar) as ad_group_name,
    cast(currency as varchar) as currency,
    cast(cost_micros as bigint) as cost_micros,
    {{ divide_exact('cost_micros', 1000000, 2) }} as spend,
    cast(impressions as bigint) as impressions,
    cast(clicks as bigint) as clicks,
    cast(round(conversions, 2) as decimal(18, 2)) as conversions,
    cast(round(conversions_value, 2) as decimal(18, 2)) as conversions_value
from deduplicated
