"""finance.plan_vs_actual_monthly on the shared build: its actuals are finance.monthly_revenue's for every month ×
channel (0 for a past month without sales, null for a future one), the variance arithmetic is right, the plan is
the sheet's to the cent, one latest version per month × channel."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from sandbox.truth import plan_truth
from sandbox.world import build_world
from tests.conftest import TEST_WORLD
from tests.helpers import query

READS_SHARED_BUILD = True
PVA = "finance.plan_vs_actual_monthly"


def test_actuals_equal_monthly_revenue_for_every_month_and_channel(warehouse: Path) -> None:
    revenue = {
        (m, c): v
        for m, c, v in query(warehouse, "select revenue_month, channel, net_revenue_usd from finance.monthly_revenue")
    }
    last = max(m for m, _ in revenue)
    rows = query(warehouse, f"select revenue_month, channel, actual_net_revenue_usd, actual_status from {PVA}")
    assert rows
    for month, channel, actual, status in rows:
        if (month, channel) in revenue:
            assert actual == revenue[(month, channel)], (month, channel)
            assert status in ("open", "closed")
        elif month <= last:
            assert (actual, status) == (Decimal("0.00"), "no_sales"), (month, channel)
        else:
            assert (actual, status) == (None, "future"), (month, channel)
    planned = {(m, c) for m, c, *_ in rows}
    history = {(m, c) for m, c in revenue if m >= date(2024, 1, 1)}
    assert history <= planned  # every month × channel with revenue has a plan to compare with


def test_variance_arithmetic(warehouse: Path) -> None:
    rows = query(
        warehouse,
        f"select plan_net_revenue_usd, actual_net_revenue_usd, variance_usd, variance_pct from {PVA}",
    )
    checked = 0
    for plan, actual, variance, pct in rows:
        if actual is None:
            assert variance is None and pct is None
            continue
        assert variance == actual - plan
        expected = (variance / plan).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if plan else None
        assert pct == expected
        checked += 1
    assert checked > 100


def test_plan_totals_equal_the_sheet_and_one_latest_version(warehouse: Path) -> None:
    truth = plan_truth(build_world(TEST_WORLD))
    totals = query(warehouse, f"select plan_version, channel, sum(plan_net_revenue_usd) from {PVA} group by all")
    assert sorted(totals) == sorted(
        (t["version"], t["channel"], Decimal(t["net_revenue_usd"])) for t in truth["totals"]
    )
    published = {v["version"]: date.fromisoformat(v["published_date"]) for v in truth["versions"]}
    versions = defaultdict(list)
    for month, channel, version, latest in query(
        warehouse, f"select revenue_month, channel, plan_version, is_latest_version from {PVA}"
    ):
        versions[(month, channel)].append((published[version], version, latest))
    for key, covering in versions.items():
        assert [v for _, v, latest in covering if latest] == [max(covering)[1]], key
    budget_vs_latest = query(
        warehouse,
        f"select count(*) from {PVA} where is_latest_version and version_kind = 'reforecast' "
        "and latest_reforecast_net_revenue_usd <> plan_net_revenue_usd",
    )
    assert budget_vs_latest == [(0,)]
