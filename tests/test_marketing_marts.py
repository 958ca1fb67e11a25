"""The marketing marts on the shared build, reconciled with the world's truth (``marketing`` in ``compute_truth``): the
platforms' spend per campaign × month to the cent (account currency and USD), GA4's sessions and the orders of each
day × channel group, the orders and net sales credited by last non-direct click per month × campaign, and the
attributed net sales against finance.monthly_revenue; a missing rate and a negative spend fail the build's tests."""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sandbox.server import SandboxServer
from sandbox.truth import compute_truth
from tests.helpers import dbt_run_build, query

READS_SHARED_BUILD = True

ZERO = Decimal("0.00")


@pytest.fixture(scope="module")
def truth(sandbox: SandboxServer) -> dict[str, Any]:
    return compute_truth(sandbox.app.world)["marketing"]


def _money(rows: Iterable[dict[str, Any]], key: tuple[str, ...], values: tuple[str, ...]) -> dict[tuple, tuple]:
    """Truth rows summed by `key` (Decimal strings become Decimals)."""
    out: dict[tuple, list] = defaultdict(lambda: [ZERO] * len(values))
    for r in rows:
        acc = out[tuple(r[k] for k in key)]
        for i, v in enumerate(values):
            acc[i] += Decimal(str(r[v]))
    return {k: tuple(v) for k, v in out.items()}


def _snake(channel_group: str) -> str:
    return channel_group.lower().replace(" ", "_").replace("-", "_")


def test_spend_per_campaign_and_month_equals_the_truth(warehouse: Path, truth: dict[str, Any]) -> None:
    """Every platform × account × campaign × month: spend in the account currency and in USD (each day converted at
    its own rate), impressions, clicks and the platform's own conversions and value, as reported at as_of."""
    values = (
        "spend",
        "spend_usd",
        "impressions",
        "clicks",
        "platform_conversions",
        "platform_conversion_value",
        "platform_conversion_value_usd",
    )
    expected = _money(truth["ad_spend_monthly"], ("month", "platform", "account_id", "campaign_id", "currency"), values)
    rows = query(
        warehouse,
        "select strftime(date_day, '%Y-%m'), platform, account_id, campaign_id, currency, sum(spend), sum(spend_usd), "
        "sum(impressions), sum(clicks), sum(platform_conversions), sum(platform_conversion_value), "
        "sum(platform_conversion_value_usd) from marts.fct_ad_spend_daily group by all",
    )
    got = {tuple(r[:5]): tuple(Decimal(str(v)) for v in r[5:]) for r in rows}
    assert {k[1] for k in expected} == {"google_ads", "meta", "amazon_ads"}
    assert {k[4] for k in expected} >= {"USD", "EUR", "GBP"}  # conversions really happen
    assert got == expected
    # and per platform × month, the figure a marketer reads first
    by_platform: dict[tuple, Decimal] = defaultdict(Decimal)
    for (month, platform, *_), v in expected.items():
        by_platform[(month, platform)] += v[1]
    rows = query(
        warehouse,
        "select strftime(date_day, '%Y-%m'), platform, sum(spend_usd) from marts.fct_ad_spend_daily group by all",
    )
    assert {(m, p): v for m, p, v in rows} == dict(by_platform)


def test_sessions_and_own_visit_orders_per_day_and_channel_group_equal_the_truth(
    warehouse: Path, truth: dict[str, Any]
) -> None:
    """GA4's sessions, engaged sessions and purchases, and the sales orders whose own visit came from each channel
    group (the warehouse's rules reproduce GA4's grouping, also checked by a dbt test on every GA4 row)."""
    metrics = ("sessions", "engaged_sessions", "ga4_purchases", "orders")
    expected = {
        (r["date"], r["channel_group"]): tuple(r[m] for m in metrics)
        for r in truth["web_daily"]
        if any(r[m] for m in metrics)
    }
    rows = query(
        warehouse,
        "select strftime(date_day, '%Y-%m-%d'), channel_group, sum(sessions), sum(engaged_sessions), "
        "sum(ga4_purchases), sum(orders) from marts.fct_web_sessions_daily group by all",
    )
    got = {(d, g): tuple(int(v) for v in rest) for d, g, *rest in rows if any(rest)}
    assert len({g for _, g in expected}) == 8
    assert got == expected
    # the abandoned checkouts Shopify lists, each on its own visit's row
    assert query(warehouse, "select sum(abandoned_checkouts) from marts.fct_web_sessions_daily") == [
        (truth["abandoned_checkouts"],)
    ]


def test_attributed_orders_and_net_sales_per_month_and_campaign_equal_the_truth(
    warehouse: Path, truth: dict[str, Any], sandbox: SandboxServer
) -> None:
    """Last non-direct click: per month × channel group × platform × campaign (id and name) the credited orders,
    their net sales (refunds on their own date, to the order's touch) and new customers; then the public mart per
    month × marketing channel × platform × campaign id."""
    key = ("month", "channel_group", "platform", "campaign_id", "campaign")
    expected = {
        k: (int(v[0]), v[1])
        for k, v in _money(truth["attributed_monthly"], key, ("orders", "net_sales_usd")).items()
        if v != (ZERO, ZERO)
    }
    rows = query(
        warehouse,
        "select strftime(date_day, '%Y-%m'), channel_group, platform, campaign_id, campaign_name, sum(orders), "
        "sum(net_sales_usd), sum(new_customers) from intermediate.int_touch_sales_daily "
        "where attribution = 'last_non_direct_click' group by all",
    )
    got = {tuple(r[:5]): (int(r[5]), r[6]) for r in rows if (r[5], r[6]) != (0, ZERO)}
    assert {k[1] for k in expected} >= {"Paid Search", "Paid Shopping", "Paid Social", "Email", "Direct"}
    assert got == expected
    new = {tuple(r[:5]): int(r[7]) for r in rows if r[7]}
    # new customers: a resolved person's first sales order (accounts with the same normalized email are one person)
    assert new == {
        tuple(r[k] for k in key): r["new_customers"] for r in truth["attributed_monthly"] if r["new_customers"]
    }

    # the public mart: the same figures by marketing channel × platform × campaign id (email campaigns have no id)
    public: dict[tuple, list] = defaultdict(lambda: [0, ZERO])
    for (month, group, platform, campaign_id, _), (orders, net) in expected.items():
        acc = public[(month, _snake(group), platform, campaign_id)]
        acc[0] += orders
        acc[1] += net
    rows = query(
        warehouse,
        "select strftime(month_start, '%Y-%m'), marketing_channel, platform, campaign_id, orders, "
        "attributed_net_sales_usd from marts.marketing_performance_monthly where channel = 'shopify'",
    )
    mart = {tuple(r[:4]): [r[4], r[5]] for r in rows if (r[4], r[5]) != (0, ZERO)}
    assert mart == dict(public)


def test_attributed_net_sales_add_up_to_finance_and_the_kpis_to_channel_revenue(warehouse: Path) -> None:
    """Every Shopify sales order is credited to exactly one touch: Σ attributed net sales per month is
    finance.monthly_revenue's Shopify net sales; channel_kpis_monthly's orders and net sales (new + repeat) are
    finance's for every commerce channel."""
    finance = {
        (m, c): (orders, net)
        for m, c, orders, net in query(
            warehouse,
            "select revenue_month, channel, orders, net_sales_usd from finance.monthly_revenue "
            "where channel in ('shopify', 'amazon', 'ebay')",
        )
    }
    attributed = dict(
        query(
            warehouse,
            "select month_start, sum(attributed_net_sales_usd) from marts.marketing_performance_monthly "
            "where channel = 'shopify' group by month_start",
        )
    )
    shopify = {m: net for (m, c), (_, net) in finance.items() if c == "shopify" and net}
    assert {m: v for m, v in attributed.items() if v} == shopify
    kpis = query(
        warehouse,
        "select month_start, channel, orders, net_sales_usd, new_customer_net_sales_usd, "
        "repeat_customer_net_sales_usd, sessions, spend_usd, roas from marts.channel_kpis_monthly",
    )
    assert {(m, c): (o, n) for m, c, o, n, *_ in kpis} == finance
    for m, c, _, net, new, repeat, sessions, spend, roas in kpis:
        assert new + repeat == net
        assert (sessions is None) == (c != "shopify"), (m, c)
        if c == "amazon" and spend:
            assert roas is None  # marketplace orders carry no click: no attributed ROAS
        if c == "ebay":
            assert spend == ZERO


def test_platforms_claim_more_than_the_warehouse_attributes(warehouse: Path) -> None:
    """The platforms' own ROAS stands beside the warehouse's and is never summed: on the whole history each web
    platform claims a higher value than the net sales the warehouse credits to it (the world over-counts, and claims
    order totals with tax and shipping), and Amazon Ads has platform figures only."""
    rows = query(
        warehouse,
        "select platform, sum(spend_usd), sum(attributed_net_sales_usd), sum(platform_conversion_value_usd) "
        "from marts.marketing_performance_monthly where platform is not null group by platform",
    )
    by_platform = {p: (spend, attributed, claimed) for p, spend, attributed, claimed in rows}
    assert set(by_platform) == {"google_ads", "meta", "amazon_ads"}
    for platform in ("google_ads", "meta"):
        spend, attributed, claimed = by_platform[platform]
        assert spend > 0 and claimed > attributed > 0, platform
    assert by_platform["amazon_ads"][1] is None and by_platform["amazon_ads"][2] > 0


def test_a_missing_rate_and_a_negative_spend_fail_the_tests(warehouse: Path, tmp_path: Path) -> None:
    """Two weeks of EUR rates gone (longer than the carry-over) and one Meta day's spend negative, in a copy of the
    warehouse: the spend model's tests fail and say why (no USD amount, never 1.0; a negative spend), and the
    public fact downstream is skipped."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy2(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        gone = con.execute(
            "delete from raw_fx.rates where base_currency = 'EUR' and rate_date between '2025-03-03' and '2025-03-14'"
        ).fetchall()
        assert gone[0][0] >= 8
        (spend_type,) = con.execute(
            "select data_type from information_schema.columns "
            "where table_schema = 'raw_meta' and table_name = 'campaign_insights' and column_name = 'spend'"
        ).fetchone()
        negative = "'-' || spend" if spend_type == "VARCHAR" else "-spend"
        con.execute(
            f"update raw_meta.campaign_insights set spend = {negative} where _dlt_id = "
            "(select min(_dlt_id) from raw_meta.campaign_insights where cast(spend as decimal(18, 2)) > 0)"
        )
    result = dbt_run_build(copy, ["int_fx_rates_carried", "int_ad_spend_daily", "fct_ad_spend_daily"], tmp_path)
    assert result.returncode != 0
    out = result.stdout
    for test in (
        "not_null_int_ad_spend_daily_usd_per_unit",
        "not_null_int_ad_spend_daily_spend_usd",
        "non_negative_int_ad_spend_daily_spend",
    ):
        assert f"Failure in test {test} " in out, (test, out[-3000:])
    missing = query(
        copy,
        "select count(*), count(spend_usd), count(usd_per_unit) from intermediate.int_ad_spend_daily "
        "where currency = 'EUR' and date_day between '2025-03-09' and '2025-03-14'",
    )
    assert missing[0][0] > 0 and missing[0][1:] == (0, 0)  # no rate: no USD amount, never 1.0
    # the public fact is not rebuilt on bad data: it keeps the last good build
    assert "SKIP relation marts.fct_ad_spend_daily" in out, out[-3000:]
    assert query(copy, "select count(*) from marts.fct_ad_spend_daily where spend_usd is null or spend < 0") == [(0,)]
