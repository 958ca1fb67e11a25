"""Customer economics (docs/cohorts.md): the cohort marts and dim_customer's lifetime figures against a recount from the
world's own customers, orders and deals (sandbox/cohorts_truth.py), and against the fact tables."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from orchestration.runner import RunOutcome
from sandbox import cohorts_truth
from sandbox.server import SandboxServer
from sandbox.world import World
from tests.helpers import query

READS_SHARED_BUILD = True  # reads the shared build only: no dbt build, no main job of its own


@pytest.fixture(scope="module")
def run(main_run: RunOutcome) -> RunOutcome:
    return main_run


@pytest.fixture(scope="module")
def world(sandbox: SandboxServer) -> World:
    return sandbox.app.world


def _ratio(numerator: Decimal | int, denominator: int, places: str) -> Decimal:
    return (Decimal(numerator) / denominator).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def test_customer_cohorts_equal_the_world_recount(run: RunOutcome, warehouse: Path, world: World) -> None:
    """Per channel and for 'all' (exact: in the world no identity matches across commerce channels, see
    sandbox/cohorts_truth.py): every cohort × month row, sizes, active customers, orders and net sales."""
    expected = cohorts_truth.customer_cohorts(world)
    rows = query(
        warehouse,
        """
        select cohort_month, channel, months_since_first_order, cohort_customers, active_customers, retention_pct,
            orders, net_sales_usd, cumulative_net_sales_usd, cumulative_net_sales_per_customer_usd, activity_month
        from marts.customer_cohorts_monthly""",
    )
    actual = {
        (m, ch, k): {
            "cohort_customers": size,
            "active_customers": active,
            "orders": orders,
            "net_sales_usd": net,
            "cumulative_net_sales_usd": cumulative,
        }
        for m, ch, k, size, active, _, orders, net, cumulative, _, _ in rows
    }
    assert {ch for _, ch, _ in expected} == {"shopify", "amazon", "ebay", "all"}
    assert set(actual) == set(expected)  # the grid: every month to the as-of month, empty months included
    wrong = [(key, actual[key], row) for key, row in expected.items() if actual[key] != row]
    assert not wrong, wrong[:5]
    for m, _, k, size, active, retention, _, _, cumulative, per_customer, activity in rows:
        assert retention == _ratio(active, size, "0.0001")
        assert per_customer == _ratio(cumulative, size, "0.01")
        assert activity == date(m.year + (m.month - 1 + k) // 12, (m.month - 1 + k) % 12 + 1, 1)
        if k == 0:
            assert active == size


def test_all_channel_cohorts_are_the_resolved_customers(run: RunOutcome, warehouse: Path) -> None:
    """'all' counts each resolved commerce customer once, in the month of its first order ever (the new-customer
    rule): its sizes sum to the customers with a counted commerce order and to channel_revenue_daily's new
    customers; a per-channel cohort never exceeds the customers of its channel."""
    ((all_customers,),) = query(
        warehouse,
        "select sum(cohort_customers) from marts.customer_cohorts_monthly "
        "where channel = 'all' and months_since_first_order = 0",
    )
    ((resolved,),) = query(
        warehouse,
        "select count(distinct customer_key) from intermediate.int_customer_orders "
        "where counts_as_sale and customer_key is not null and channel <> 'b2b'",
    )
    ((new_customers,),) = query(
        warehouse, "select sum(new_customers) from marts.channel_revenue_daily where channel <> 'b2b'"
    )
    assert all_customers == resolved == new_customers > 0
    per_month = query(
        warehouse,
        """
        select a.cohort_month, a.cohort_customers, coalesce(n.new_customers, 0)
        from marts.customer_cohorts_monthly a
        left join (
            select date_trunc('month', date_day) m, sum(new_customers) new_customers
            from marts.channel_revenue_daily where channel <> 'b2b' group by 1
        ) n on n.m = a.cohort_month
        where a.channel = 'all' and a.months_since_first_order = 0""",
    )
    assert all(size == new for _, size, new in per_month)


def test_dim_customer_lifetimes_equal_the_recount_and_sum_to_the_facts(
    run: RunOutcome, warehouse: Path, world: World
) -> None:
    expected = cohorts_truth.customer_lifetimes(world)
    rows = query(
        warehouse,
        """
        select customer_key, lifetime_orders, lifetime_net_sales_usd, first_order_date, last_order_date,
            days_since_last_order, is_churned, ltv_12m_usd
        from marts.dim_customer where lifetime_orders > 0""",
    )
    actual = {
        key: dict(
            zip(
                (
                    "lifetime_orders",
                    "lifetime_net_sales_usd",
                    "first_order_date",
                    "last_order_date",
                    "days_since_last_order",
                    "is_churned",
                    "ltv_12m_usd",
                ),
                values,
                strict=True,
            )
        )
        for key, *values in rows
    }
    assert set(actual) == set(expected)
    wrong = [(k, actual[k], v) for k, v in expected.items() if actual[k] != v]
    assert not wrong, wrong[:5]
    assert any(v["ltv_12m_usd"] is None for v in expected.values())
    assert any(v["ltv_12m_usd"] is not None for v in expected.values())
    # customers without a counted order: zero lifetime, no dates, no churn flag, no LTV
    assert query(
        warehouse,
        """
        select count(*) from marts.dim_customer where lifetime_orders = 0 and (lifetime_net_sales_usd <> 0
            or last_order_date is not null or is_churned is not null or ltv_12m_usd is not null)""",
    ) == [(0,)]
    # Σ over customers = the fact tables: counted commerce orders (gross - discounts - their refunds) + bookings
    ((orders, net_sales),) = query(
        warehouse, "select sum(lifetime_orders), sum(lifetime_net_sales_usd) from marts.dim_customer"
    )
    ((fact_orders, fact_net_sales),) = query(
        warehouse,
        """
        select
            (select count(*) from marts.fct_orders where counts_as_sale)
                + (select count(*) from marts.fct_deals where is_won and not is_archived),
            (select sum(gross_sales_usd - discounts_usd) from marts.fct_orders where counts_as_sale)
                - (select sum(refund_amount_usd) from marts.fct_refunds where order_counts_as_sale)
                + (select sum(amount_usd) from marts.fct_deals where is_won and not is_archived)""",
    )
    assert (orders, net_sales) == (fact_orders, fact_net_sales)


def test_churn_follows_the_window_as_of_the_data_not_the_clock(run: RunOutcome, warehouse: Path, world: World) -> None:
    """The as-of date is the latest posting date (the world's last day with a sale or refund), so the flags are
    reproducible; churned = more than churn_window_days since the last order. A changed window var is covered by
    the dbt unit tests of int_customer_sales_as_of (overrides vars) and int_customer_lifetimes_summarized, which the
    shared build ran; here the recount with another window gives exactly the customers past it."""
    ((as_of, window),) = query(
        warehouse, "select as_of_date, churn_window_days from intermediate.int_customer_sales_as_of"
    )
    assert window == 180
    assert as_of == cohorts_truth.as_of_date(cohorts_truth.sales(world)) <= world.config.as_of
    days = dict(query(warehouse, "select customer_key, days_since_last_order from marts.dim_customer"))
    for other in (30, 90, 365):
        recount = cohorts_truth.customer_lifetimes(world, churn_window_days=other)
        assert {k for k, v in recount.items() if v["is_churned"]} == {
            k for k, d in days.items() if d is not None and d > other
        }
    churned, customers = query(
        warehouse,
        "select count(*) filter (where is_churned), count(*) filter (where lifetime_orders > 0) "
        "from marts.dim_customer",
    )[0]
    assert 0 < churned < customers


def test_account_cohorts_equal_the_world_recount(run: RunOutcome, warehouse: Path, world: World) -> None:
    expected = cohorts_truth.account_cohorts(world)
    rows = query(
        warehouse,
        """
        select cohort_month, months_since_first_won, cohort_accounts, active_accounts, retention_pct, deals_won,
            bookings_usd, expansion_bookings_usd, cumulative_bookings_usd, cumulative_bookings_per_account_usd
        from marts.account_cohorts_monthly""",
    )
    actual = {
        (m, k): {
            "accounts": size,
            "active_accounts": active,
            "deals_won": won,
            "bookings_usd": bookings,
            "expansion_bookings_usd": expansion,
            "cumulative_bookings_usd": cumulative,
        }
        for m, k, size, active, _, won, bookings, expansion, cumulative, _ in rows
    }
    assert set(actual) == set(expected) and expected
    wrong = [(key, actual[key], row) for key, row in expected.items() if actual[key] != row]
    assert not wrong, wrong[:5]
    assert sum(r["expansion_bookings_usd"] for r in expected.values()) > 0
    for _, _, size, active, retention, _, _, _, cumulative, per_account in rows:
        assert retention == _ratio(active, size, "0.0001")
        assert per_account == _ratio(cumulative, size, "0.01")
    # every won deal with a company is in exactly one cohort row: Σ bookings = fct_deals' bookings
    ((bookings,),) = query(warehouse, "select sum(bookings_usd) from marts.account_cohorts_monthly")
    ((fact,),) = query(warehouse, "select sum(amount_usd) from marts.fct_deals where is_won and not is_archived")
    assert bookings == fact


def test_contribution_per_customer_and_cohort_adds_up_to_the_facts(run: RunOutcome, warehouse: Path) -> None:
    """Contribution = net sales − COGS − marketplace fees + cost restocked, per customer (dim_customer) and per
    cohort ('all': the cumulative figure at the last month), equals the same sums over the fact tables; a company
    (bookings, no costs in the CRM) has none."""
    ((people, companies_with_contribution),) = query(
        warehouse,
        """
        select sum(lifetime_contribution_usd),
            count(*) filter (where customer_type = 'company' and lifetime_contribution_usd is not null)
        from marts.dim_customer""",
    )
    ((facts,),) = query(
        warehouse,
        """
        select
            (select sum(o.gross_sales_usd - o.discounts_usd) from marts.fct_orders as o where o.counts_as_sale)
            - (select sum(l.cogs_usd) from marts.fct_order_lines as l where l.counts_as_sale)
            - (select sum(r.refund_amount_usd - coalesce(r.restocked_cost_usd, 0))
               from marts.fct_refunds as r where r.order_counts_as_sale)
            - (select sum(f.fee_amount_usd) from marts.fct_marketplace_fees as f
               where f.counts_as_marketplace_fee and f.order_counts_as_sale and f.order_key is not null)""",
    )
    ((cohorts,),) = query(
        warehouse,
        """
        select sum(cumulative_contribution_usd) from marts.customer_cohorts_monthly as c
        where channel = 'all' and activity_month = (select max(activity_month) from marts.customer_cohorts_monthly)""",
    )
    assert companies_with_contribution == 0
    assert people == facts == cohorts
    assert people != 0
