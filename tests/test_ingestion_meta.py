"""The Meta Ads source (ingestion/sources/meta_ads): a full load under the `real` Business Use Case budget without a
single throttled call; spend per campaign × month in the account currency equals the truth's ad_spend_monthly to the
cent and purchases equal the platform's conversions (omni_purchase, not the three purchase actions added); a re-run
adds nothing; an advanced world brings its new and restated days through the synchronous lookback window; bad rows
are quarantined with their reason; the pacer keeps a tight budget under 100 %; the staging model matches raw."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ingestion.pipelines import load
from ingestion.sources.meta_ads import meta_ads_source
from sandbox import meta_api
from sandbox.connect import sandbox_env
from sandbox.marketing_truth import marketing_truth
from sandbox.ratelimit import RateLimiter
from sandbox.server import SandboxApp, SandboxServer
from sandbox.world import WorldConfig, build_world
from tests.conftest import TEST_WORLD
from tests.helpers import dbt_build, environment, query

FAST_POLLS = {"SOURCES__META_ADS__POLL_INITIAL_S": "0.01"}
MONTHLY = """
    select strftime(date_start, '%Y-%m'), account_id, campaign_id, account_currency, sum(spend), sum(impressions),
           sum(clicks)
    from raw_meta.campaign_insights group by all
"""
PURCHASES = """
    select strftime(i.date_start, '%Y-%m'), i.campaign_id, a.action_type, sum(a.value)
    from raw_meta.campaign_insights i join raw_meta.{table} a on a._dlt_parent_id = i._dlt_id
    where a.action_type in ('purchase', 'offsite_conversion.fb_pixel_purchase', 'omni_purchase') group by all
"""


class Throttles:
    """Counts the 80000 answers the sandbox gives (wraps meta_api.throttled, which the server calls)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = meta_api.throttled

        def counting(bucket: str, wait_s: float) -> Any:
            self.count += 1
            return original(bucket, wait_s)

        monkeypatch.setattr(meta_api, "throttled", counting)


@pytest.fixture(scope="module")
def mpatch() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as m:
        yield m


@pytest.fixture(scope="module")
def throttles(mpatch: pytest.MonkeyPatch) -> Throttles:
    return Throttles(mpatch)


@pytest.fixture(scope="module")
def server(throttles: Throttles) -> Iterator[SandboxServer]:
    with (
        SandboxServer(SandboxApp(TEST_WORLD, rate_limits="real"), port=0) as running,
        environment({**sandbox_env(running.url), **FAST_POLLS}),
    ):
        yield running


@pytest.fixture(scope="module")
def loaded(server: SandboxServer, throttles: Throttles, tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse = tmp_path_factory.mktemp("meta") / "warehouse.duckdb"
    result = load("meta_ads", duckdb_path=warehouse)
    assert result.quarantined == 0 and throttles.count == 0  # the real budget, and not one 80000 on the way
    return warehouse


def truth_rows(config: WorldConfig) -> list[dict[str, Any]]:
    world = build_world(config)
    return [r for r in marketing_truth(world, world.shopify_orders)["ad_spend_monthly"] if r["platform"] == "meta"]


def assert_matches_truth(warehouse: Path, config: WorldConfig) -> None:
    truth = truth_rows(config)
    assert truth and {r["currency"] for r in truth} == {"USD", "EUR"}
    got = {(m, a, c, ccy): (s, i, k) for m, a, c, ccy, s, i, k in query(warehouse, MONTHLY)}
    want = {
        (r["month"], r["account_id"], r["campaign_id"], r["currency"]): (
            Decimal(r["spend"]),
            r["impressions"],
            r["clicks"],
        )
        for r in truth
    }
    assert got == want
    purchases: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    values: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    for month, campaign, kind, total in query(warehouse, PURCHASES.format(table="campaign_insights__actions")):
        purchases[(month, campaign)][kind] = total
    for month, campaign, kind, total in query(warehouse, PURCHASES.format(table="campaign_insights__action_values")):
        values[(month, campaign)][kind] = total
    for r in truth:
        key = (r["month"], r["campaign_id"])
        conversions = Decimal(r["platform_conversions"])
        assert purchases[key].get("omni_purchase", Decimal(0)) == conversions, key
        assert values[key].get("omni_purchase", Decimal(0)) == Decimal(r["platform_conversion_value"]), key
        assert sum(purchases[key].values(), Decimal(0)) == 3 * conversions  # adding the three would triple it
    assert sum(Decimal(r["platform_conversions"]) for r in truth) > 0


def test_spend_and_purchases_equal_the_truth_to_the_cent(loaded: Path) -> None:
    assert_matches_truth(loaded, TEST_WORLD)
    (types,) = query(loaded, "select distinct typeof(spend) from raw_meta.campaign_insights")
    assert types == ("DECIMAL(18,2)",)
    days = query(loaded, "select count(*), count(distinct insight_key) from raw_meta.campaign_insights")
    world = build_world(TEST_WORLD)
    assert days == [(sum(ad.campaign.platform == "meta" for ad in world.marketing.ad_days),) * 2]


def test_a_rerun_adds_nothing(loaded: Path) -> None:
    sql = "select insight_key, spend, impressions, clicks from raw_meta.campaign_insights order by insight_key"
    before = query(loaded, sql)
    actions = query(loaded, "select count(*) from raw_meta.campaign_insights__actions")
    result = load("meta_ads", duckdb_path=loaded)
    assert result.table_rows["campaign_insights"] == len(before)
    assert query(loaded, sql) == before
    assert query(loaded, "select count(*) from raw_meta.campaign_insights__actions") == actions


def test_staging_builds_and_matches_raw(loaded: Path, tmp_path: Path) -> None:
    dbt_build(loaded, ["stg_meta__campaign_insights"], tmp_path)
    staged = query(
        loaded,
        "select strftime(date_day, '%Y-%m'), account_id, campaign_id, currency, sum(spend), sum(purchases), "
        "sum(purchase_value) from staging.stg_meta__campaign_insights group by all",
    )
    want = {
        (r["month"], r["account_id"], r["campaign_id"], r["currency"]): (
            Decimal(r["spend"]),
            Decimal(r["platform_conversions"]),
            Decimal(r["platform_conversion_value"]),
        )
        for r in truth_rows(TEST_WORLD)
    }
    assert {row[:4]: row[4:] for row in staged} == want
    (count,) = query(loaded, "select count(*) from staging.stg_meta__campaign_insights")[0]
    assert count == query(loaded, "select count(*) from raw_meta.campaign_insights")[0][0]


def test_an_advanced_world_brings_new_and_restated_days(server: SandboxServer, loaded: Path) -> None:
    before = dict(query(loaded, "select insight_key, spend from raw_meta.campaign_insights"))
    runs = len(meta_api._RUNS)
    config = server.app.advance(5)
    try:
        source = meta_ads_source(end_date=config.as_of.isoformat())  # the API's today: one synchronous window
        result = load("meta_ads", duckdb_path=loaded, source=source)
        assert len(meta_api._RUNS) == runs  # the 8-day lookback plus 5 new days: no report run needed
        new_days = {d for d in query(loaded, "select distinct date_start from raw_meta.campaign_insights")}
        assert {(config.as_of - timedelta(days=k),) for k in range(5)} <= new_days
        assert result.rows_loaded["campaign_insights"] == sum(
            ad.campaign.platform == "meta" and ad.day >= TEST_WORLD.as_of - timedelta(days=8)
            for ad in build_world(config).marketing.ad_days
        )
        assert_matches_truth(loaded, config)  # the restated conversions of the last 7 days included
        after = dict(query(loaded, "select insight_key, spend from raw_meta.campaign_insights"))
        assert {k: after[k] for k in before} == before  # Meta credits no spend: old days unchanged
    finally:
        server.app.advance(-5)


def test_bad_rows_are_quarantined_with_their_reason(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = meta_api.insight_rows
    bad: dict[str, str] = {}

    def corrupted(world: Any, q: Any) -> list[dict[str, Any]]:
        rows = [dict(r) for r in original(world, q)]
        for row, (field, value, reason) in zip(
            rows[100:102], (("spend", "-3.10", "negative spend"), ("account_currency", "XXX", "unknown currency"))
        ):
            row[field] = value
            bad[f"{row['account_id']}:{row['campaign_id']}:{row['date_start']}"] = reason
        return rows

    monkeypatch.setattr(meta_api, "insight_rows", corrupted)
    warehouse = tmp_path / "bad.duckdb"
    result = load("meta_ads", duckdb_path=warehouse)
    quarantined = dict(query(warehouse, "select record_id, reason from raw_meta.quarantine"))
    assert set(quarantined) == set(bad) and len(bad) >= 4  # two per report run of each account's first year
    for key, reason in bad.items():
        assert reason in quarantined[key]
    keys = {k for (k,) in query(warehouse, "select insight_key from raw_meta.campaign_insights")}
    assert not keys & set(bad)
    world = build_world(TEST_WORLD)
    total = sum(ad.campaign.platform == "meta" for ad in world.marketing.ad_days)
    assert result.table_rows["campaign_insights"] + len(bad) == total  # nothing else lost


def test_the_pacer_keeps_a_tight_budget_under_100_percent(throttles: Throttles, tmp_path: Path) -> None:
    app = SandboxApp(TEST_WORLD, rate_limits="demo")
    tight = {meta_api.BUCKET: {"demo": (30, 10.0), "policy": "rolling"}}  # 30 calls per rolling 3 s
    app.limiter = RateLimiter("demo", {**app.limiter.limits, **tight})
    before = throttles.count
    with SandboxServer(app, port=0) as running, environment({**sandbox_env(running.url), **FAST_POLLS}):
        source = meta_ads_source(page_size=60, end_date=TEST_WORLD.as_of.isoformat())
        result = load("meta_ads", duckdb_path=tmp_path / "paced.duckdb", source=source)
    total = sum(ad.campaign.platform == "meta" for ad in build_world(TEST_WORLD).marketing.ad_days)
    assert result.table_rows["campaign_insights"] == total
    assert throttles.count == before  # more calls than one window allows (60 pages), and not one 80000
    assert total // 60 > 30
