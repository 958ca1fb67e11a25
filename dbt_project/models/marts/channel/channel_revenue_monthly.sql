{#- Live month × channel revenue from channel_revenue_daily, as the current data says (before any close): what
    finance.period_closes publishes when a month closes and revenue_adjustments compares against. -#}
select
    cast({{ dbt.date_trunc('month', 'date_day') }} as date) as revenue_month,
    channel,
    cast(sum(orders) as integer) as orders,
    {{ to_money('sum(gross_sales_usd)') }} as gross_sales_usd,
    {{ to_money('sum(discounts_usd)') }} as discounts_usd,
    {{ to_money('sum(refunds_usd)') }} as refunds_usd,
    {{ to_money('sum(net_sales_usd)') }} as net_sales_usd,
    {{ to_money('sum(marketplace_fees_usd)') }} as marketplace_fees_usd,
    {{ to_money('sum(net_revenue_usd)') }} as net_revenue_usd,
    {{ to_money('sum(cogs_usd)') }} as cogs_usd,
    {{ to_money('sum(gross_margin_usd)') }} as gross_margin_usd,
    cast(sum(cost_missing_units) as integer) as cost_missing_units
from {{ ref('channel_revenue_daily') }}
group by 1, 2
