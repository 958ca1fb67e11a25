"""Great Expectations reconciliation suites on the marketing marts: spend, attributed sales and the channel KPIs
recomputed from the tables they are built from (independently of the dbt SQL), one row per month × channel with
the differences, every difference exactly zero. Portable SQL (DuckDB and PostgreSQL).

- ``marketing_performance_monthly``: its spend equals fct_ad_spend_daily's per month × sales channel; on Shopify, the
  orders and net sales it credits (last non-direct click) add up to the channel's own (channel_revenue_daily): every
  order credited once, none invented, none lost.
- ``channel_kpis_monthly``: its spend equals fct_ad_spend_daily's, its sessions GA4's (fct_web_sessions_daily), its
  orders and net sales the channel's; new + repeat customers' net sales = net sales.
"""

from __future__ import annotations

from orchestration.checks.gx_runner import SuiteSpec, exactly_zero, month_of

_SPEND = f"""spend as (
            select {month_of("date_day")} as month_start, sales_channel as channel, sum(spend_usd) as spend_usd
            from marts.fct_ad_spend_daily group by 1, 2
        )"""
_CHANNEL = f"""channel as (
            select {month_of("date_day")} as month_start, channel, sum(orders) as orders, sum(net_sales_usd) as net_sales_usd
            from marts.channel_revenue_daily where channel in ('shopify', 'amazon', 'ebay') group by 1, 2
        )"""

MARKETING_PERFORMANCE_RECONCILES = SuiteSpec(
    name="marketing_performance_monthly_reconciles",
    asset=("marts", "marketing_performance_monthly"),
    sql=f"""
        with perf as (
            select month_start, channel, sum(spend_usd) as spend_usd, sum(coalesce(orders, 0)) as orders,
                   sum(coalesce(attributed_net_sales_usd, 0)) as attributed_net_sales_usd
            from marts.marketing_performance_monthly group by 1, 2
        ),
        {_SPEND},
        {_CHANNEL},
        keys as (
            select month_start, channel from perf union select month_start, channel from spend
            union select month_start, channel from channel where channel = 'shopify'
        )
        select k.month_start, k.channel,
               coalesce(p.spend_usd, 0) - coalesce(s.spend_usd, 0) as spend_usd_diff,
               case when k.channel = 'shopify' then coalesce(p.orders, 0) - coalesce(c.orders, 0) else 0 end
                   as shopify_orders_diff,
               case when k.channel = 'shopify'
                    then coalesce(p.attributed_net_sales_usd, 0) - coalesce(c.net_sales_usd, 0) else 0 end
                   as shopify_net_sales_diff
        from keys as k
        left join perf as p on p.month_start = k.month_start and p.channel = k.channel
        left join spend as s on s.month_start = k.month_start and s.channel = k.channel
        left join channel as c on c.month_start = k.month_start and c.channel = k.channel
        order by 1, 2""",
    expectations=lambda: [*exactly_zero("spend_usd_diff", "shopify_orders_diff", "shopify_net_sales_diff")],
)

CHANNEL_KPIS_RECONCILES = SuiteSpec(
    name="channel_kpis_monthly_reconciles",
    asset=("marts", "channel_kpis_monthly"),
    sql=f"""
        with {_SPEND},
        {_CHANNEL},
        web as (
            select {month_of("date_day")} as month_start, 'shopify' as channel, sum(sessions) as sessions
            from marts.fct_web_sessions_daily group by 1
        )
        select k.month_start, k.channel,
               coalesce(k.spend_usd, 0) - coalesce(s.spend_usd, 0) as spend_usd_diff,
               coalesce(k.orders, 0) - coalesce(c.orders, 0) as orders_diff,
               coalesce(k.net_sales_usd, 0) - coalesce(c.net_sales_usd, 0) as net_sales_diff,
               coalesce(k.new_customer_net_sales_usd, 0) + coalesce(k.repeat_customer_net_sales_usd, 0)
                   - coalesce(k.net_sales_usd, 0) as new_plus_repeat_diff,
               case when k.channel = 'shopify' then coalesce(k.sessions, 0) - coalesce(w.sessions, 0) else 0 end
                   as sessions_diff
        from marts.channel_kpis_monthly as k
        left join spend as s on s.month_start = k.month_start and s.channel = k.channel
        left join channel as c on c.month_start = k.month_start and c.channel = k.channel
        left join web as w on w.month_start = k.month_start and w.channel = k.channel
        order by 1, 2""",
    expectations=lambda: [
        *exactly_zero("spend_usd_diff", "orders_diff", "net_sales_diff", "new_plus_repeat_diff", "sessions_diff")
    ],
)

MARKETING_SUITES: list[SuiteSpec] = [MARKETING_PERFORMANCE_RECONCILES, CHANNEL_KPIS_RECONCILES]
