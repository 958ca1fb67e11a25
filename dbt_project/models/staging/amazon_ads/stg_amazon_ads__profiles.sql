{#- Amazon Ads profiles, 1:1 with raw_amazon_ads.profiles: renamed and typed. -#}
with deduplicated as (
    {{ deduplicate(source('raw_amazon_ads', 'profiles'), 'profile_id', '_dlt_load_id desc') }}
)

select
    cast(profile_id as varchar) as profile_id,
    cast(country_code as varchar) as country_code,
    cast(currency_code as varchar) as currency,
    cast(marketplace_id as varchar) as marketplace_id,
    cast(timezone as varchar) as time_zone,
    cast(account_name as varchar) as account_name,
    cast(account_id as varchar) as account_id,
    cast(account_type as varchar) as account_type
from deduplicated
