{#- Public: marketing_performance_daily summed by calendar month (same grain otherwise); the ratios recomputed from
    the month's sums, never averaged. -#}
with monthly as (
    select
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        channel,
        marketing_channel,
        platform,
        campaign_id,
        max(campaign_name) as campaign_name,
        sum(spend_usd) as spend_usd,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(sessions) as sessions,
        sum(engaged_sessions) as engaged_sessions,
        sum(orders) as orders,
        sum(attributed_net_sales_usd) as attributed_net_sales_usd,
        sum(platform_conversions) as platform_conversions,
        sum(platform_conversion_value_usd) as platform_conversion_value_usd,
        sum(new_customers) as new_customers
    from {{ ref('marketing_performance_daily') }}
    group by 1, 2, 3, 4, 5
)

select
    month_start,
    channel,
    marketing_channel,
    platform,
    campaign_id,
    campaign_name,
    {{ to_money('spend_usd') }} as spend_usd,
    cast(impressions as bigint) as impressions,
    cast(clicks as bigint) as clicks,
    cast(sessions as bigint) as sessions,
    cast(engaged_sessions as bigint) as engaged_sessions,
    cast(orders as integer) as orders,
    {{ when_positive_divide_exact('orders', 'sessions', 4) }} as conversion_rate,
    {{ to_money('attributed_net_sales_usd') }} as attributed_net_sales_usd,
    {{ when_positive_ratio_exact('attributed_net_sales_usd', 'spend_usd', 4) }} as roas,
    cast(platform_conversions as decimal(18, 2)) as platform_conversions,
    {{ to_money('platform_conversion_value_usd') }} as platform_conversion_value_usd,
    {{ when_positive_ratio_exact('platform_conversion_value_usd', 'spend_usd', 4) }}
        as platform_roas,
    cast(new_customers as integer) as new_customers,
    {{ when_positive_divide_exact('spend_usd', 'new_customers', 2) }} as cac_usd
from monthly
