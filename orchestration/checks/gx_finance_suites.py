"""Great Expectations reconciliation suites on the finance path: fct_* → channel_revenue_daily → monthly_revenue.

Each suite's query recomputes the figures of one table from the tables it is built from, independently
of the dbt SQL, and returns one row per month × channel with the differences; every difference must be
exactly zero. Failing rows (month, channel, differences) become the check's sample rows. Portable SQL
(DuckDB and PostgreSQL).
"""

from __future__ import annotations

from orchestration.checks.gx_runner import SuiteSpec, exactly_zero, gxe, month_of

CHANNEL_MONEY = ("orders", "gross_sales_usd", "discounts_usd", "refunds_usd", "marketplace_fees_usd", "net_revenue_usd")

CHANNEL_REVENUE_RECONCILES = SuiteSpec(
    name="finance_channel_revenue_daily_reconciles",
    asset=("marts", "channel_revenue_daily"),
    sql=f"""
        with daily as (
            select {month_of("date_day")} as revenue_month, channel, sum(orders) as orders,
                   sum(gross_sales_usd) as gross_sales_usd, sum(discounts_usd) as discounts_usd,
                   sum(refunds_usd) as refunds_usd, sum(marketplace_fees_usd) as marketplace_fees_usd,
                   sum(net_revenue_usd) as net_revenue_usd
            from marts.channel_revenue_daily group by 1, 2
        ),
        facts as (
            select {month_of("order_date")} as revenue_month, channel, count(*) as orders,
                   sum(gross_sales_usd) as gross_sales_usd, sum(discounts_usd) as discounts_usd,
                   0 as refunds_usd, 0 as marketplace_fees_usd
            from marts.fct_orders where counts_as_sale group by 1, 2
            union all
            select {month_of("close_date")}, 'b2b', count(*), sum(amount_usd), 0, 0, 0
            from marts.fct_deals where is_won and not is_archived group by 1
            union all
            select {month_of("refund_date")}, channel, 0, 0, 0, sum(refund_amount_usd), 0
            from marts.fct_refunds where order_counts_as_sale group by 1, 2
            union all
            select {month_of("posted_date")}, channel, 0, 0, 0, 0, sum(fee_amount_usd)
            from marts.fct_marketplace_fees where order_counts_as_sale and counts_as_marketplace_fee group by 1, 2
        ),
        expected as (
            select revenue_month, channel, sum(orders) as orders, sum(gross_sales_usd) as gross_sales_usd,
                   sum(discounts_usd) as discounts_usd, sum(refunds_usd) as refunds_usd,
                   sum(marketplace_fees_usd) as marketplace_fees_usd,
                   sum(gross_sales_usd) - sum(discounts_usd) - sum(refunds_usd) - sum(marketplace_fees_usd)
                       as net_revenue_usd
            from facts group by 1, 2
        )
        select coalesce(d.revenue_month, e.revenue_month) as revenue_month,
               coalesce(d.channel, e.channel) as channel,
               {", ".join(f"coalesce(d.{c}, 0) - coalesce(e.{c}, 0) as {c}_diff" for c in CHANNEL_MONEY)}
        from daily as d
        full outer join expected as e on e.revenue_month = d.revenue_month and e.channel = d.channel
        order by 1, 2""",
    expectations=lambda: [*exactly_zero(*(f"{c}_diff" for c in CHANNEL_MONEY))],
)

MONTHLY_REVENUE_RECONCILES = SuiteSpec(
    name="finance_monthly_revenue_reconciles",
    asset=("finance", "monthly_revenue"),
    sql=f"""
        with live as (
            select {month_of("date_day")} as revenue_month, channel, sum(gross_sales_usd) as gross_sales_usd,
                   sum(net_revenue_usd) as net_revenue_usd
            from marts.channel_revenue_daily group by 1, 2
        ),
        booked as (
            select booked_month as revenue_month, channel, sum(amount_usd) as amount_usd
            from finance.revenue_adjustments group by 1, 2
        ),
        restated as (
            select original_month as revenue_month, channel, sum(amount_usd) as amount_usd
            from finance.revenue_adjustments group by 1, 2
        )
        select m.revenue_month, m.channel, m.period_status,
               -- open months: today's data plus the adjustments booked into them
               case when m.period_status = 'open'
                    then m.net_revenue_usd - coalesce(l.net_revenue_usd, 0) - coalesce(b.amount_usd, 0)
                    else 0 end as open_month_net_revenue_diff,
               case when m.period_status = 'open'
                    then m.gross_sales_usd - coalesce(l.gross_sales_usd, 0) else 0 end as open_month_gross_sales_diff,
               -- closed months: exactly as published, and published + later adjustments = today's data
               case when m.period_status = 'closed'
                    then m.net_revenue_usd - p.net_revenue_usd else 0 end as closed_month_vs_published_diff,
               case when m.period_status = 'closed'
                    then p.net_revenue_usd + coalesce(r.amount_usd, 0) - coalesce(l.net_revenue_usd, 0)
                    else 0 end as closed_month_restated_diff
        from finance.monthly_revenue as m
        left join live as l on l.revenue_month = m.revenue_month and l.channel = m.channel
        left join booked as b on b.revenue_month = m.revenue_month and b.channel = m.channel
        left join restated as r on r.revenue_month = m.revenue_month and r.channel = m.channel
        left join finance.period_closes as p on p.revenue_month = m.revenue_month and p.channel = m.channel
        order by 1, 2""",
    expectations=lambda: [
        gxe.ExpectColumnValuesToBeInSet(column="period_status", value_set=["open", "closed"]),
        *exactly_zero(
            "open_month_net_revenue_diff",
            "open_month_gross_sales_diff",
            "closed_month_vs_published_diff",
            "closed_month_restated_diff",
        ),
    ],
)

FINANCE_SUITES: list[SuiteSpec] = [CHANNEL_REVENUE_RECONCILES, MONTHLY_REVENUE_RECONCILES]
