"""The Google Ads source (ingestion/sources/google_ads): raw_google_ads equals the truth's ad spend per campaign ×
month to the cent, a re-run adds nothing, an advanced world brings the new days and the restated last days, bad rows
are quarantined with their reason, and the staging models build and equal the raw layer."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ingestion.pipelines import SOURCES, load, make_pipeline
from ingestion.sources.google_ads import google_ads_source, year_windows
from ingestion.sources.google_ads.settings import LOOKBACK_DAYS
from sandbox import google_ads_api, google_oauth
from sandbox.connect import sandbox_env
from sandbox.marketing_truth import marketing_truth
from sandbox.marketing_world import CONVERSION_SETTLE_DAYS, GOOGLE_ACCOUNT, SPEND_CREDIT_DAYS
from sandbox.server import SandboxApp, SandboxServer
from sandbox.truth import compute_truth
from sandbox.world import World, build_world
from tests.conftest import TEST_WORLD
from tests.helpers import dbt_build, environment, query, staging_columns

RAW_MONTHLY = """
    select strftime(date, '%Y-%m'), campaign_id, currency, sum(cost_micros), sum(impressions), sum(clicks),
           sum(conversions), sum(conversions_value), count(distinct date)
    from raw_google_ads.ad_group_stats group by all order by 1, 2
"""
RAW_ROWS = "select * exclude (_dlt_load_id, _dlt_id) from raw_google_ads.ad_group_stats order by all"


def truth_monthly(world: World) -> list[tuple[Any, ...]]:
    rows = marketing_truth(world, world.shopify_orders)["ad_spend_monthly"]
    return [
        (
            r["month"],
            r["campaign_id"],
            r["currency"],
            Decimal(r["spend"]),
            r["impressions"],
            r["clicks"],
            Decimal(r["platform_conversions"]),
            Decimal(r["platform_conversion_value"]),
            r["days"],
        )
        for r in rows
        if r["platform"] == "google_ads"
    ]


def raw_monthly(warehouse: Path) -> list[tuple[Any, ...]]:
    return [
        (m, c, ccy, Decimal(cost) / 1_000_000, imp, clk, conv, value, n)
        for m, c, ccy, cost, imp, clk, conv, value, n in query(warehouse, RAW_MONTHLY)
    ]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with (
        SandboxServer(SandboxApp(TEST_WORLD, rate_limits="demo"), port=0) as running,
        environment(sandbox_env(running.url)),
    ):
        yield running


@pytest.fixture(scope="module")
def loaded(server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse = tmp_path_factory.mktemp("google_ads") / "warehouse.duckdb"
    result = load("google_ads", duckdb_path=warehouse)
    assert result.quarantined == 0
    return warehouse


def test_source_is_registered_and_the_sandbox_env_reaches_it() -> None:
    spec = SOURCES["google_ads"]
    assert spec.dataset == "raw_google_ads" and spec.nested_tables == ()
    env = sandbox_env("http://x")
    assert env["SOURCES__GOOGLE_ADS__TOKEN_URL"] == "http://x/token"
    assert json.loads(env["SOURCES__GOOGLE_ADS__CUSTOMER_IDS"]) == [GOOGLE_ACCOUNT.account_id]
    assert env["SOURCES__GOOGLE_ADS__LOGIN_CUSTOMER_ID"] == GOOGLE_ACCOUNT.manager_id
    assert set(SOURCES["google_ads"].factory(**spec.placeholders).resources) == {"ad_group_stats", "campaigns"}


def test_spend_per_campaign_month_equals_the_truth_to_the_cent(loaded: Path) -> None:
    world = build_world(TEST_WORLD)
    expected = truth_monthly(world)
    assert len(expected) > 50
    assert raw_monthly(loaded) == expected
    (groups,) = query(loaded, "select count(*) from raw_google_ads.ad_group_stats")[0]
    ad_days = [ad for ad in world.marketing.ad_days if ad.campaign.platform == "google_ads"]
    assert groups == sum(len(ad.campaign.ad_group_ids) for ad in ad_days)
    (campaign_days,) = query(loaded, "select count(distinct (campaign_id, date)) from raw_google_ads.ad_group_stats")[0]
    assert campaign_days == compute_truth(world)["record_counts"]["google_ads.campaign_days"]
    assert {type(v) for row in query(loaded, RAW_MONTHLY) for v in row[6:8]} == {Decimal}
    campaigns = query(loaded, "select campaign_id, campaign_name, start_date, end_date from raw_google_ads.campaigns")
    google = [c for c in world.marketing.campaigns if c.platform == "google_ads" and c.start_date <= TEST_WORLD.as_of]
    assert sorted(c[:3] for c in campaigns) == sorted((c.campaign_id, c.name, c.start_date) for c in google)


def test_a_rerun_adds_nothing_and_reads_only_the_lookback(loaded: Path) -> None:
    before = query(loaded, RAW_ROWS)
    result = load("google_ads", duckdb_path=loaded)
    groups = sum(
        len(c.ad_group_ids) for c in build_world(TEST_WORLD).marketing.campaigns if c.active_on(TEST_WORLD.as_of)
    )
    assert 0 < result.rows_loaded["ad_group_stats"] <= 8 * groups  # the 7-day lookback and the newest day
    assert result.table_rows["ad_group_stats"] == len(before)
    assert query(loaded, RAW_ROWS) == before
    state = make_pipeline("google_ads", loaded).state["sources"]["google_ads"]["resources"]["ad_group_stats"]
    assert state[f"max_date_{GOOGLE_ACCOUNT.account_id}"].startswith(TEST_WORLD.as_of.isoformat())


def test_an_advanced_world_brings_new_days_and_the_restated_ones(tmp_path: Path) -> None:
    assert max(CONVERSION_SETTLE_DAYS["google_ads"], SPEND_CREDIT_DAYS["google_ads"]) < LOOKBACK_DAYS
    warehouse = tmp_path / "advanced.duckdb"
    app = SandboxApp(TEST_WORLD, rate_limits="off")
    with SandboxServer(app, port=0) as running, environment(sandbox_env(running.url)):
        load("google_ads", duckdb_path=warehouse)
        first = dict(
            ((d, a), (cost, conv))
            for d, a, cost, conv in query(
                warehouse, "select date, ad_group_id, cost_micros, conversions from raw_google_ads.ad_group_stats"
            )
        )
        config = app.advance(3)
        load("google_ads", duckdb_path=warehouse)
    world = build_world(config)
    assert raw_monthly(warehouse) == truth_monthly(world)
    last = query(warehouse, "select max(date) from raw_google_ads.ad_group_stats")[0][0]
    assert last == config.as_of
    after = dict(
        ((d, a), (cost, conv))
        for d, a, cost, conv in query(
            warehouse, "select date, ad_group_id, cost_micros, conversions from raw_google_ads.ad_group_stats"
        )
    )
    restated = [k for k in first if first[k] != after[k]]
    assert restated, "the last days of the first load were restated"
    assert all((TEST_WORLD.as_of - d).days < 3 for d, _ in restated)
    assert query(warehouse, "select count(*) - count(distinct (ad_group_id, date)) from raw_google_ads.ad_group_stats")[
        0
    ] == (0,)


BAD_DAYS = {"2025-03-10": "negative cost", "2025-03-11": "unknown currency", "2025-03-12": "non-numeric conversions"}


def test_bad_rows_are_quarantined_with_their_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The API serves every ad-group row of three days broken (a negative cost, currency XXX, conversions that are
    not a number): exactly those are quarantined with the reason, every other row is loaded."""
    render = google_ads_api.render

    def spoil(row: dict[str, Any], q: Any) -> dict[str, Any]:
        out = render(row, q)
        day = out.get("segments", {}).get("date")
        if "adGroup" not in out or day not in BAD_DAYS:
            return out
        if BAD_DAYS[day] == "negative cost":
            out["metrics"]["costMicros"] = "-" + out["metrics"]["costMicros"]
        elif BAD_DAYS[day] == "unknown currency":
            out["customer"]["currencyCode"] = "XXX"
        else:
            out["metrics"]["conversions"] = "lots"
        return out

    monkeypatch.setattr(google_ads_api, "render", spoil)
    warehouse = tmp_path / "bad.duckdb"
    with (
        SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as running,
        environment(sandbox_env(running.url)),
    ):
        result = load("google_ads", duckdb_path=warehouse)
    ad_days = [ad for ad in build_world(TEST_WORLD).marketing.ad_days if ad.campaign.platform == "google_ads"]
    expected = {
        f"{GOOGLE_ACCOUNT.account_id}:{group}:{ad.day.isoformat()}"
        for ad in ad_days
        if ad.day.isoformat() in BAD_DAYS
        for group in ad.campaign.ad_group_ids
    }
    assert len(expected) > 3 * 4 and result.quarantined == len(expected)
    reasons = dict(
        query(warehouse, "select record_id, reason from raw_quarantine.records where source_key = 'google_ads'")
    )
    assert set(reasons) == expected
    for record_id, reason in reasons.items():
        kind = BAD_DAYS[record_id.rsplit(":", 1)[1]]
        assert {
            "negative cost": "metrics.costMicros '-",
            "unknown currency": "unknown currency code 'XXX' in customer.currencyCode",
            "non-numeric conversions": "metrics.conversions 'lots' is not a number",
        }[kind] in reason, (record_id, reason)
    loaded_days = {
        d.isoformat() for (d,) in query(warehouse, "select distinct date from raw_google_ads.ad_group_stats")
    }
    assert not loaded_days & set(BAD_DAYS)
    (rows,) = query(warehouse, "select count(*) from raw_google_ads.ad_group_stats")[0]
    assert rows + len(expected) == sum(len(ad.campaign.ad_group_ids) for ad in ad_days)  # nothing else lost


def test_staging_builds_and_equals_the_raw_sums(loaded: Path, tmp_path: Path) -> None:
    dbt_build(loaded, "staging.google_ads", tmp_path)
    stats = query(
        loaded,
        "select campaign_id, currency, sum(spend), sum(cost_micros), sum(impressions), sum(clicks), sum(conversions), "
        "sum(conversions_value), count(*) from staging.stg_google_ads__ad_group_stats group by all order by all",
    )
    raw = query(
        loaded,
        "select campaign_id, currency, sum(cost_micros), sum(impressions), sum(clicks), sum(conversions), "
        "sum(conversions_value), count(*) from raw_google_ads.ad_group_stats group by all order by all",
    )
    assert [(c, ccy, cost, imp, clk, conv, value, n) for c, ccy, _, cost, imp, clk, conv, value, n in stats] == raw
    assert all(spend == Decimal(cost) / 1_000_000 for _, _, spend, cost, *_ in stats)
    import duckdb

    with duckdb.connect(str(loaded), read_only=True) as con:
        assert staging_columns(con, "stg_google_ads__ad_group_stats") == [
            ("date_day", "DATE"),
            ("customer_id", "VARCHAR"),
            ("campaign_id", "VARCHAR"),
            ("campaign_name", "VARCHAR"),
            ("ad_group_id", "VARCHAR"),
            ("ad_group_name", "VARCHAR"),
            ("currency", "VARCHAR"),
            ("cost_micros", "BIGINT"),
            ("spend", "DECIMAL(18,2)"),
            ("impressions", "BIGINT"),
            ("clicks", "BIGINT"),
            ("conversions", "DECIMAL(18,2)"),
            ("conversions_value", "DECIMAL(18,2)"),
        ]
        campaigns = con.execute(
            "select campaign_id, end_date, status, channel_type from staging.stg_google_ads__campaigns"
        ).fetchall()
    world = build_world(TEST_WORLD)
    by_id = {c.campaign_id: c for c in world.marketing.campaigns}
    assert {c: (e, s, t) for c, e, s, t in campaigns} == {
        c: (by_id[c].end_date, "ENABLED", by_id[c].kind.upper()) for c, *_ in campaigns
    }


def test_config_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="lookback_days 3 is shorter"):
        google_ads_source(
            developer_token="t",
            client_id="c",
            client_secret="s",
            refresh_token="r",
            customer_ids=["4561237890"],
            lookback_days=3,
        )
    with pytest.raises(ValueError, match="not a Google Ads customer id"):
        google_ads_source(
            developer_token="t", client_id="c", client_secret="s", refresh_token="r", customer_ids=["acme"]
        )
    from datetime import date

    assert year_windows(date(2023, 11, 1), date(2025, 2, 3)) == [
        (date(2023, 11, 1), date(2023, 12, 31)),
        (date(2024, 1, 1), date(2024, 12, 31)),
        (date(2025, 1, 1), date(2025, 2, 3)),
    ]


def test_a_wrong_refresh_token_fails_with_googles_oauth_error(server: SandboxServer) -> None:
    source = google_ads_source(
        developer_token=google_ads_api.DEMO_DEVELOPER_TOKEN,
        client_id=google_oauth.ADS_CLIENT_ID,
        client_secret=google_oauth.ADS_CLIENT_SECRET,
        refresh_token="1//0g-revoked",
        customer_ids=[GOOGLE_ACCOUNT.account_id],
        base_url=server.url,
        token_url=f"{server.url}/token",
    )
    with pytest.raises(Exception, match="invalid_grant") as raised:
        list(source.resources["campaigns"])
    assert google_oauth.ADS_CLIENT_SECRET not in str(raised.value)


def test_the_source_rides_out_the_seeded_faults(tmp_path: Path) -> None:
    """Google's 429/5xx bodies, dropped connections and truncated streams are retried: the same rows come through."""
    expected = truth_monthly(build_world(TEST_WORLD))
    injected: Counter[str] = Counter()
    for fault_seed in range(30):
        app = SandboxApp(TEST_WORLD, rate_limits="off", faults="heavy", fault_seed=fault_seed, slow_s=0.2)
        warehouse = tmp_path / f"faults_{fault_seed}.duckdb"
        with SandboxServer(app, port=0) as faulty, environment(sandbox_env(faulty.url)):
            load("google_ads", duckdb_path=warehouse)
        assert raw_monthly(warehouse) == expected
        injected.update(app.faults.injected)  # type: ignore[union-attr]
        if sum(injected.values()) >= 2:
            break
    assert sum(injected.values()) >= 2, injected
