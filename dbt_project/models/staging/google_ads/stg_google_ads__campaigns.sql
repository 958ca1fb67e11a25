{#- Google Ads campaigns, 1:1 with raw_google_ads.campaigns: typed, the latest load of each key; Google's
    "no end date" (2037-12-30) is null. -#}
with deduplicated as (
    {{ deduplicate(source('raw_google_ads', 'campaigns'), 'customer_id, campaign_id', '_dlt_load_id desc') }}
)

select
    cast(customer_id as varchar) as customer_id,
    cast(campaign_id as varchar) as campaign_id,
    cast(campaign_name as varchar) as campaign_name,
    cast(status as varchar) as status,
    cast(channel_type as varchar) as channel_type,
    cast(start_date as date) as start_date,
    case when cast(end_date as date) < cast('2037-12-30' as date) then cast(end_date as date) end as end_date,
    cast(currency as varchar) as currency,
    cast(budget_amount_micros as bigint) as daily_budget_micros,
    {{ divide_exact('budget_amount_micros', 1000000, 2) }} as daily_budget
from deduplicated
