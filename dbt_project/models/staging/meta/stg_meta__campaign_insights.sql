{#- Meta's campaign days, 1:1 with raw_meta.campaign_insights: typed, deduplicated on the merge key (the newest load
    wins), and the purchase read from the omni_purchase action only: Meta lists the same conversions as purchase,
    offsite_conversion.fb_pixel_purchase and omni_purchase. -#}
with insights as (
    {{ deduplicate(
        source('raw_meta', 'campaign_insights'),
        'account_id, campaign_id, date_start',
        '_dlt_load_id desc'
    ) }}
),

purchases as (
    select
        _dlt_parent_id as parent_id,
        sum(cast(value as decimal(18, 2))) as purchases
    from {{ source('raw_meta', 'campaign_insights__actions') }}
    where action_type = 'omni_purchase'
    group by _dlt_parent_id
),

purchase_values as (
    select
        _dlt_parent_id as parent_id,
        sum(cast(value as decimal(18, 2))) as purchase_value
    from {{ source('raw_meta', 'campaign_insights__action_values') }}
    where action_type = 'omni_purchase'
    group by _dlt_parent_id
)

select
    cast(i.date_start as date) as date_day,
    cast(i.account_id as {{ dbt.type_string() }}) as account_id,
    cast(i.campaign_id as {{ dbt.type_string() }}) as campaign_id,
    cast(i.campaign_name as {{ dbt.type_string() }}) as campaign_name,
    cast(i.account_currency as {{ dbt.type_string() }}) as currency,
    {{ to_money('i.spend') }} as spend,
    cast(i.impressions as bigint) as impressions,
    cast(i.clicks as bigint) as clicks,
    cast(coalesce(p.purchases, 0) as decimal(18, 2)) as purchases,
    {{ to_money('coalesce(v.purchase_value, 0)') }} as purchase_value
from insights as i
left join purchases as p on p.parent_id = i._dlt_id
left join purchase_values as v on v.parent_id = i._dlt_id
