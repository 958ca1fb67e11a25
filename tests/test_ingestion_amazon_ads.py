"""The Amazon Ads source (ingestion/sources/amazon_ads): Sponsored Products spend per campaign × month loads equal to
the marketing truth's ad_spend_monthly to the cent, a re-run adds nothing, an advanced world brings its new days and
restates the last two weeks, broken report rows are quarantined with their reason and nothing else is lost, the
seeded faults (FAILED reports, throttles, cut files) are ridden out, and the staging models build and match."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from ingestion.pipelines import load
from ingestion.sources.amazon_ads import amazon_ads_source, windows
from sandbox import amazon_ads_api
from sandbox.connect import sandbox_env
from sandbox.faults import Fault
from sandbox.marketing_truth import marketing_truth
from sandbox.marketing_world import AMAZON_PROFILES
from sandbox.protocol import Request, Response
from sandbox.server import SandboxApp, SandboxServer
from sandbox.truth import compute_truth
from sandbox.world import WorldConfig, build_world
from tests.conftest import TEST_WORLD
from tests.helpers import dbt_build, environment, query

DAYS = "select profile_id, campaign_id, date, cost, impressions, clicks, purchases_14d, sales_14d from raw_amazon_ads.sp_campaign_days order by 1, 2, 3"
ADVANCE = 20


def truth_monthly(config: WorldConfig) -> dict[tuple, tuple]:
    world = build_world(config)
    return {
        (r["month"], r["account_id"], r["campaign_id"], r["currency"]): (
            Decimal(r["spend"]),
            r["impressions"],
            r["clicks"],
            Decimal(r["platform_conversion_value"]),
            r["days"],
        )
        for r in marketing_truth(world, world.shopify_orders)["ad_spend_monthly"]
        if r["platform"] == "amazon_ads"
    }


def loaded_monthly(warehouse: Path, table: str = "raw_amazon_ads.sp_campaign_days", day: str = "date") -> dict:
    spend = "spend" if table.startswith("staging") else "cost"
    rows = query(
        warehouse,
        f"select strftime({day}, '%Y-%m'), profile_id, campaign_id, currency, sum({spend}), sum(impressions), "
        f"sum(clicks), sum(sales_14d), count(*) from {table} group by all",
    )
    return {tuple(r[:4]): tuple(r[4:]) for r in rows}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    end = {"SOURCES__AMAZON_ADS__END_DATE": TEST_WORLD.as_of.isoformat()}
    with (
        SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as running,
        environment({**sandbox_env(running.url), **end}),
    ):
        yield running


@pytest.fixture(scope="module")
def loaded(server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse = tmp_path_factory.mktemp("amazon_ads") / "warehouse.duckdb"
    result = load("amazon_ads", duckdb_path=warehouse)
    assert result.quarantined == 0
    return warehouse


def test_spend_per_campaign_and_month_equals_the_truth(loaded: Path) -> None:
    expected = truth_monthly(TEST_WORLD)
    assert loaded_monthly(loaded) == expected
    counts = compute_truth(build_world(TEST_WORLD))["record_counts"]
    assert query(loaded, "select count(*) from raw_amazon_ads.sp_campaign_days") == [
        (counts["amazon_ads.campaign_days"],)
    ]
    assert {k[1] for k in expected} == {p.account_id for p in AMAZON_PROFILES}
    (types,) = query(loaded, "select distinct typeof(cost) || typeof(sales_14d) from raw_amazon_ads.sp_campaign_days")
    assert types == ("DECIMAL(18,2)DECIMAL(18,2)",)


def test_purchases_are_amazons_whole_counts_of_the_worlds_conversions(loaded: Path) -> None:
    world = build_world(TEST_WORLD)
    expected: Counter[str] = Counter()
    for ad in world.marketing.ad_days:
        if ad.campaign.platform == "amazon_ads":
            conversions = ad.reported(TEST_WORLD.as_of)[1]
            expected[ad.campaign.campaign_id] += int(conversions.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    got = dict(query(loaded, "select campaign_id, sum(purchases_14d) from raw_amazon_ads.sp_campaign_days group by 1"))
    assert got == dict(expected) and sum(expected.values()) > 0


def test_profiles_are_loaded(loaded: Path) -> None:
    rows = query(
        loaded,
        "select profile_id, country_code, currency_code, timezone, marketplace_id, account_type, account_name "
        "from raw_amazon_ads.profiles order by profile_id",
    )
    assert rows == [
        (p.account_id, p.country_code, p.currency, p.time_zone, p.marketplace_id, "seller", p.name)
        for p in AMAZON_PROFILES
    ]


def test_a_rerun_adds_nothing(loaded: Path) -> None:
    before = query(loaded, DAYS)
    result = load("amazon_ads", duckdb_path=loaded)
    assert result.quarantined == 0 and result.table_rows["sp_campaign_days"] == len(before)
    assert query(loaded, DAYS) == before
    # only the lookback was read again: 16 days (as_of - 15 .. as_of) of each campaign running then
    campaigns = {
        ad.campaign.campaign_id
        for ad in build_world(TEST_WORLD).marketing.ad_days
        if ad.day == TEST_WORLD.as_of and ad.campaign.platform == "amazon_ads"
    }
    assert result.rows_loaded["sp_campaign_days"] == 16 * len(campaigns)


def test_the_advanced_world_brings_new_and_restated_days(server: SandboxServer, loaded: Path) -> None:
    before = {r[:3]: r[3:] for r in query(loaded, DAYS)}
    config = server.app.advance(ADVANCE)
    with environment({"SOURCES__AMAZON_ADS__END_DATE": config.as_of.isoformat()}):
        result = load("amazon_ads", duckdb_path=loaded)
    assert result.quarantined == 0
    assert loaded_monthly(loaded) == truth_monthly(config)
    after = {r[:3]: r[3:] for r in query(loaded, DAYS)}
    new_days = {k[2] for k in after} - {k[2] for k in before}
    assert new_days == {TEST_WORLD.as_of + timedelta(days=d) for d in range(1, ADVANCE + 1)}
    restated = {k[2] for k in before if after[k] != before[k]}
    assert restated and min(restated) > TEST_WORLD.as_of - timedelta(days=14)  # only unsettled days moved
    assert all(after[k] == before[k] for k in before if k[2] <= TEST_WORLD.as_of - timedelta(days=14))


def test_staging_builds_and_matches_raw_and_the_truth(server: SandboxServer, loaded: Path, tmp_path: Path) -> None:
    dbt_build(loaded, ["stg_amazon_ads__sp_campaign_days", "stg_amazon_ads__profiles"], tmp_path)
    staged = loaded_monthly(loaded, "staging.stg_amazon_ads__sp_campaign_days", "date_day")
    assert staged == loaded_monthly(loaded) == truth_monthly(server.app.config)
    columns = dict(
        query(
            loaded,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'staging' and table_name = 'stg_amazon_ads__sp_campaign_days'",
        )
    )
    assert (columns["date_day"], columns["spend"], columns["sales_14d"], columns["purchases_14d"]) == (
        "DATE",
        "DECIMAL(18,2)",
        "DECIMAL(18,2)",
        "BIGINT",
    )
    profiles = query(
        loaded, "select profile_id, currency, marketplace_id, time_zone from staging.stg_amazon_ads__profiles"
    )
    assert sorted(profiles) == sorted(
        (p.account_id, p.currency, p.marketplace_id, p.time_zone) for p in AMAZON_PROFILES
    )


# --------------------------------------------------------------------------- bad rows


BAD = {  # (profile, campaign, date) -> how the row is served, and the reason expected
    0: ("campaignBudgetCurrencyCode", "XXX", "unknown currency code 'XXX'"),
    1: ("cost", None, "missing or non-numeric amount in cost"),
    2: ("clicks", -3, "clicks -3 is not a whole number"),
    3: ("cost", 1.234, "cost 1.234 is not in whole cents"),
}


class BadRowsApp(SandboxApp):
    """A sandbox whose report files carry a few broken rows (the first rows of the first files it serves)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.broken: dict[str, str] = {}  # record id -> expected reason

    def dispatch(self, req: Request) -> tuple[Response, Fault | None]:
        response, fault = super().dispatch(req)
        if req.path.startswith(f"/{amazon_ads_api.BUCKET}/") and response.status == 200 and len(self.broken) < len(BAD):
            rows = json.loads(gzip.decompress(response.body))
            report = next(r for r in amazon_ads_api.store_for(self).reports.values() if r.data == response.body)
            for row in rows[:2]:
                if len(self.broken) < len(BAD):
                    name, value, reason = BAD[len(self.broken)]
                    row[name] = value
                    self.broken[f"{report.profile_id}:{row['campaignId']}:{row['date']}"] = reason
            response = Response(200, gzip.compress(json.dumps(rows).encode()), dict(response.headers))
        return response, fault


def test_broken_rows_are_quarantined_with_their_reason(tmp_path: Path) -> None:
    app = BadRowsApp(TEST_WORLD, rate_limits="off")
    warehouse = tmp_path / "bad.duckdb"
    with (
        SandboxServer(app, port=0) as bad,
        environment({**sandbox_env(bad.url), "SOURCES__AMAZON_ADS__END_DATE": TEST_WORLD.as_of.isoformat()}),
    ):
        result = load("amazon_ads", duckdb_path=warehouse)
    assert result.quarantined == len(BAD) == len(app.broken)
    quarantined = dict(
        query(warehouse, "select record_id, reason from raw_quarantine.records where source_key = 'amazon_ads'")
    )
    assert set(quarantined) == set(app.broken)
    for record_id, reason in app.broken.items():
        assert reason in quarantined[record_id], (record_id, quarantined[record_id])
    loaded = {
        f"{p}:{c}:{d}"
        for p, c, d in query(warehouse, "select profile_id, campaign_id, date from raw_amazon_ads.sp_campaign_days")
    }
    served = sum(1 for ad in build_world(TEST_WORLD).marketing.ad_days if ad.campaign.platform == "amazon_ads")
    assert len(loaded) + len(quarantined) == served and not loaded & set(quarantined)  # nothing else lost


# --------------------------------------------------------------------------- faults


def test_the_source_rides_out_the_seeded_faults(tmp_path: Path) -> None:
    """Under heavy faults (FAILED reports created again, 429/5xx, dropped connections, cut files, slow answers) the
    same rows load as without faults."""
    start = TEST_WORLD.as_of - timedelta(days=75)
    end = TEST_WORLD.as_of
    assert len(windows(start, end)) == 3

    def run(app: SandboxApp, name: str) -> list[tuple]:
        with SandboxServer(app, port=0) as running:
            source = amazon_ads_source(
                client_id=amazon_ads_api.DEMO_CLIENT_ID,
                client_secret=amazon_ads_api.DEMO_CLIENT_SECRET,
                refresh_token=amazon_ads_api.DEMO_REFRESH_TOKEN,
                token_url=f"{running.url}/auth/o2/token",
                base_url=running.url,
                start_date=start.isoformat(),
                end_date=end.isoformat(),
                poll_interval_s=0.02,
                create_reports_per_s=100.0,
                polls_per_s=100.0,
            )
            result = load("amazon_ads", duckdb_path=tmp_path / f"{name}.duckdb", source=source)
        assert result.quarantined == 0
        return query(tmp_path / f"{name}.duckdb", DAYS)

    clean = run(SandboxApp(TEST_WORLD, rate_limits="off"), "clean")
    assert {r[2] for r in clean} == {start + timedelta(days=d) for d in range((end - start).days + 1)}
    injected: Counter[str] = Counter()
    failed = downloads = 0
    for fault_seed in range(20):
        app = SandboxApp(TEST_WORLD, rate_limits="off", faults="heavy", fault_seed=fault_seed, slow_s=0.2)
        assert run(app, f"faults{fault_seed}") == clean
        injected.update(app.faults.injected)  # type: ignore[union-attr]
        reports = amazon_ads_api.store_for(app).reports.values()
        failed += sum(r.fails for r in reports)
        downloads += len(reports)
        if sum(injected.values()) >= 6 and failed:
            break
    assert sum(injected.values()) >= 6 and failed, (injected, failed, downloads)


def test_windows_are_at_most_31_days_and_cover_the_range() -> None:
    cut = windows(date(2024, 1, 1), date(2024, 3, 5))
    assert cut == [
        (date(2024, 1, 1), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 3, 2)),
        (date(2024, 3, 3), date(2024, 3, 5)),
    ]
    assert windows(date(2024, 1, 2), date(2024, 1, 1)) == []


def test_the_load_and_staging_run_on_postgresql(server: SandboxServer, tmp_path: Path) -> None:
    """The same raw rows and staging models on PostgreSQL (SALESDW_TARGET=postgres), to the cent."""
    from tests.pg_scratch import scratch_database

    with scratch_database("salesdw_amazon_ads") as name:
        env = {
            "SALESDW_TARGET": "postgres",
            "SALESDW_POSTGRES_DSN": f"postgresql://postgres@127.0.0.1:5432/{name}",
            "PGDATABASE": name,
            "SOURCES__AMAZON_ADS__END_DATE": server.app.config.as_of.isoformat(),
        }
        with environment(env):
            result = load("amazon_ads", duckdb_path=tmp_path / "unused.duckdb")
            assert result.quarantined == 0
            dbt_build(
                tmp_path / "unused.duckdb", ["stg_amazon_ads__sp_campaign_days", "stg_amazon_ads__profiles"], tmp_path
            )
            rows = query(
                tmp_path,
                "select to_char(date_day, 'YYYY-MM'), profile_id, campaign_id, currency, sum(spend), sum(impressions), "
                "sum(clicks), sum(sales_14d), count(*) from staging.stg_amazon_ads__sp_campaign_days group by 1, 2, 3, 4",
            )
            types = query(
                tmp_path,
                "select column_name, data_type, numeric_precision, numeric_scale from information_schema.columns "
                "where table_schema = 'staging' and table_name = 'stg_amazon_ads__sp_campaign_days' "
                "and column_name in ('spend', 'purchases_14d')",
            )
    assert {tuple(r[:4]): tuple(r[4:]) for r in rows} == truth_monthly(server.app.config)
    assert sorted(types) == [("purchases_14d", "bigint", 64, 0), ("spend", "numeric", 18, 2)]
