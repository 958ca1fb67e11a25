"""The GA4 source (ingestion/sources/google_analytics): sessions, engaged sessions and purchases per day × channel
group equal the truth's web_daily, revenue the world's to the cent; a re-run adds nothing; an advanced world brings
the new days and completes the last one; bad rows are quarantined with their reason; the source paces itself by the
property quota; stg_ga4__traffic_daily builds and matches raw."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ingestion.pipelines import load
from ingestion.sources.google_analytics.settings import LOOKBACK_DAYS
from sandbox import ga4_api
from sandbox.connect import sandbox_env
from sandbox.marketing_truth import marketing_truth
from sandbox.protocol import Response
from sandbox.server import SandboxApp, SandboxServer
from sandbox.world import WorldConfig, build_world
from tests.conftest import TEST_WORLD
from tests.helpers import dbt_build, environment, logged, query

PAGE_SIZE = "150"  # small pages: every 30-day window is read in several offset pages
RAW = "raw_ga4.traffic_daily"
COLUMNS = (
    "property_id, date, session_default_channel_group, session_source, session_medium, session_campaign_name, "
    "session_campaign_id, sessions, engaged_sessions, ecommerce_purchases, purchase_revenue, currency_code"
)


def web_truth(config: WorldConfig) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(date, channel group) -> (sessions, engaged sessions, GA4 purchases) of the truth, days GA4 has a row for."""
    world = build_world(config)
    rows = marketing_truth(world, world.shopify_orders)["web_daily"]
    out = {(r["date"], r["channel_group"]): (r["sessions"], r["engaged_sessions"], r["ga4_purchases"]) for r in rows}
    return {k: v for k, v in out.items() if any(v)}


def loaded_by_group(warehouse: Path) -> dict[tuple[str, str], tuple[int, int, int]]:
    rows = query(
        warehouse,
        f"select cast(date as varchar), session_default_channel_group, sum(sessions), sum(engaged_sessions), "
        f"sum(ecommerce_purchases) from {RAW} group by 1, 2",
    )
    return {(d, g): (int(s), int(e), int(p)) for d, g, s, e, p in rows}


def revenue_of_world(config: WorldConfig) -> dict[tuple[str, str], Decimal]:
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for sd in build_world(config).marketing.session_days:
        out[(sd.day.isoformat(), sd.source.channel_group)] += sd.purchase_revenue
    return {k: v for k, v in out.items() if v}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with (
        SandboxServer(SandboxApp(TEST_WORLD, rate_limits="demo"), port=0) as running,
        environment({**sandbox_env(running.url), "SOURCES__GOOGLE_ANALYTICS__PAGE_SIZE": PAGE_SIZE}),
    ):
        yield running


@pytest.fixture(scope="module")
def loaded(server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse = tmp_path_factory.mktemp("ga4") / "warehouse.duckdb"
    result = load("google_analytics", duckdb_path=warehouse)
    assert result.quarantined == 0
    return warehouse


def test_sessions_and_purchases_per_day_and_group_equal_the_truth(loaded: Path) -> None:
    truth = web_truth(TEST_WORLD)
    assert loaded_by_group(loaded) == truth
    assert len(truth) > 8 * 400  # every channel group, every day of the history
    rows = query(
        loaded,
        f"select cast(date as varchar), session_default_channel_group, sum(purchase_revenue) from {RAW} "
        "group by 1, 2 having sum(purchase_revenue) <> 0",
    )
    revenue = {(d, g): v for d, g, v in rows}
    assert revenue == revenue_of_world(TEST_WORLD)  # to the cent, Decimal
    assert {type(v) for v in revenue.values()} == {Decimal}
    (count,) = query(loaded, f"select count(*) from {RAW}")[0]
    session_days = build_world(TEST_WORLD).marketing.session_days
    empty = [sd for sd in session_days if not any((*sd.reported(TEST_WORLD.as_of), sd.purchases))]
    assert count == len(session_days) - len(empty)  # one row per session day; GA4 leaves all-zero rows out


def test_campaign_ids_and_sources_are_the_worlds(loaded: Path) -> None:
    campaigns = build_world(TEST_WORLD).marketing.campaigns_by_id
    rows = query(
        loaded,
        f"select distinct session_default_channel_group, session_source, session_medium, session_campaign_name, "
        f"session_campaign_id, currency_code, property_id from {RAW}",
    )
    paid = [r for r in rows if r[4] != "(not set)"]
    assert paid and all(campaigns[r[4]].channel_group == r[0] and campaigns[r[4]].utm_campaign == r[3] for r in paid)
    assert all(
        r[0] in ("Organic Search", "Organic Social", "Email", "Referral", "Direct") for r in rows if r not in paid
    )
    assert {(r[5], r[6]) for r in rows} == {("USD", ga4_api.DEMO_PROPERTY_ID)}


def test_a_rerun_adds_nothing(loaded: Path) -> None:
    sql = f"select {COLUMNS} from {RAW} order by all"
    before = query(loaded, sql)
    result = load("google_analytics", duckdb_path=loaded)
    assert query(loaded, sql) == before
    reread = query(
        loaded,
        f"select count(*) from {RAW} where date >= date '{TEST_WORLD.as_of - timedelta(days=LOOKBACK_DAYS)}'",
    )[0][0]
    assert result.rows_loaded == {"traffic_daily": reread}  # only the lookback's days are read again
    assert result.table_rows["traffic_daily"] == len(before)


def test_an_advanced_world_brings_new_days_and_completes_the_last(tmp_path: Path) -> None:
    app = SandboxApp(TEST_WORLD, rate_limits="off")
    warehouse = tmp_path / "w.duckdb"
    with SandboxServer(app, port=0) as running, environment(sandbox_env(running.url)):
        load("google_analytics", duckdb_path=warehouse)
        last = TEST_WORLD.as_of.isoformat()
        partial = query(warehouse, f"select sum(sessions) from {RAW} where date = date '{last}'")[0][0]
        later = app.advance(4)
        result = load("google_analytics", duckdb_path=warehouse)
    assert loaded_by_group(warehouse) == web_truth(later)  # the old last day as GA4 completed it, 4 new days
    complete = query(warehouse, f"select sum(sessions) from {RAW} where date = date '{last}'")[0][0]
    assert complete == sum(
        sd.sessions for sd in build_world(later).marketing.session_days if sd.day.isoformat() == last
    )
    assert complete > partial
    (new_days,) = query(warehouse, f"select count(distinct date) from {RAW} where date > date '{last}'")[0]
    assert new_days == 4
    assert result.rows_loaded["traffic_daily"] < 200  # the lookback and the new days only


def test_bad_rows_are_quarantined_with_reason_and_none_lost(tmp_path: Path) -> None:
    """GA4 rows broken on the wire (a negative count, an (other) row, a revenue that is no number, a bad date) go to
    raw_ga4.quarantine with the reason; every other row is loaded."""
    app = SandboxApp(TEST_WORLD, rate_limits="off")
    breaks = {
        ("20250115", "Direct"): ("sessions", "-4", "sessions '-4' is not a non-negative whole number"),
        ("20250116", "Organic Search"): ("campaign", "(other)", "cardinality limit"),
        ("20250117", "Email"): ("revenue", "n/a", "purchase_revenue 'n/a' is not a number"),
        ("20250118", "Referral"): ("date", "2025-01-18", "is not a YYYYMMDD date"),
    }
    served: dict[tuple[str, ...], int] = {}

    def corrupt(handler):
        def wrapped(req, world, **groups) -> Response:
            response = handler(req, world, **groups)
            names = [h["name"] for h in response.body.get("dimensionHeaders", [])]
            if response.status != 200 or "sessionMedium" not in names:
                return response
            body = json.loads(json.dumps(response.body))
            for row in body.get("rows", []):
                dims = [v["value"] for v in row["dimensionValues"]]
                served[tuple(dims)] = 1
                rule = breaks.get((dims[0], dims[1]))
                if rule is None:
                    continue
                what, value, _ = rule
                if what == "sessions":
                    row["metricValues"][0]["value"] = value
                elif what == "revenue":
                    row["metricValues"][3]["value"] = value
                elif what == "campaign":
                    row["dimensionValues"][4]["value"] = value
                else:
                    row["dimensionValues"][0]["value"] = value
            return Response(200, body, response.headers)

        return wrapped

    app.routes = [(v, replace(r, handler=corrupt(r.handler)) if v is ga4_api else r) for v, r in app.routes]
    warehouse = tmp_path / "w.duckdb"
    with SandboxServer(app, port=0) as running, environment(sandbox_env(running.url)):
        result = load("google_analytics", duckdb_path=warehouse)
    bad = {k for k in served if (k[0], k[1]) in breaks}
    assert result.quarantined == len(bad) >= 4
    quarantined = query(
        warehouse, "select record_id, reason from raw_quarantine.records where source_key = 'google_analytics'"
    )
    assert len(quarantined) == len(bad)
    for record_id, reason in quarantined:
        day, group = record_id.split("|")[1:3]
        key = (day.replace("-", ""), group)
        assert breaks[key][2] in reason, (record_id, reason)
    (rows,) = query(warehouse, f"select count(*) from {RAW}")[0]
    assert rows + len(bad) == len(served)  # every row GA4 served is somewhere


def test_the_source_paces_itself_by_the_property_quota(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A property with 20 tokens per 3-second "hour" (a year of 30-day windows costs more): the source reads
    returnPropertyQuota, pauses before the hour runs out and never gets a 429; the load is complete."""
    tiny = {**ga4_api.STANDARD_QUOTAS, "tokensPerHour": (20, 3.0), "tokensPerProjectPerHour": (20, 3.0)}
    monkeypatch.setitem(ga4_api.QUOTAS, "real", tiny)
    app = SandboxApp(TEST_WORLD, rate_limits="real")
    statuses: list[int] = []

    def counting(handler):
        def wrapped(req, world, **groups) -> Response:
            response = handler(req, world, **groups)
            statuses.append(response.status)
            return response

        return wrapped

    app.routes = [(v, replace(r, handler=counting(r.handler)) if v is ga4_api else r) for v, r in app.routes]
    env = {
        "SOURCES__GOOGLE_ANALYTICS__QUOTA_RESERVE_TOKENS": "0",
        "SOURCES__GOOGLE_ANALYTICS__QUOTA_PAUSE_S": "3.0",
        "SOURCES__GOOGLE_ANALYTICS__WINDOW_DAYS": "30",
        "SOURCES__GOOGLE_ANALYTICS__PAGE_SIZE": "10000",
        "SOURCES__GOOGLE_ANALYTICS__START_DATE": "2025-07-01",
    }
    warehouse = tmp_path / "w.duckdb"
    with (
        logged("salesdw.ingestion") as messages,
        SandboxServer(app, port=0) as running,
        environment({**sandbox_env(running.url), **env}),
    ):
        load("google_analytics", duckdb_path=warehouse)
    pauses = [m for m in messages if "tokens of the hour left" in m]
    assert pauses and 429 not in statuses and len(statuses) >= 13, (pauses, statuses)
    truth = {k: v for k, v in web_truth(TEST_WORLD).items() if k[0] >= "2025-07-01"}
    assert loaded_by_group(warehouse) == truth


def test_staging_builds_and_matches_raw(loaded: Path, tmp_path: Path) -> None:
    dbt_build(loaded, "stg_ga4__traffic_daily", tmp_path)
    stg = "staging.stg_ga4__traffic_daily"
    assert query(loaded, f"select count(*) from {stg}") == query(loaded, f"select count(*) from {RAW}")
    by_group = query(
        loaded,
        f"select cast(date_day as varchar), channel_group, sum(sessions), sum(engaged_sessions), "
        f"sum(ecommerce_purchases) from {stg} group by 1, 2",
    )
    assert {(d, g): (int(s), int(e), int(p)) for d, g, s, e, p in by_group} == web_truth(TEST_WORLD)
    money = query(loaded, f"select sum(purchase_revenue), count(distinct currency) from {stg}")[0]
    assert money == (sum(revenue_of_world(TEST_WORLD).values()), 1)
    nulls = query(
        loaded,
        f"select count(*) filter (where campaign_id is null), count(*) filter (where channel_group like 'Paid%') "
        f"from {stg} where campaign_id is null or channel_group like 'Paid%'",
    )[0]
    (not_set,) = query(loaded, f"select count(*) from {RAW} where session_campaign_id = '(not set)'")[0]
    assert (
        nulls[0] == not_set
        and nulls[1] == query(loaded, f"select count(*) from {stg} where campaign_id is not null")[0][0]
    )
    types = dict(
        query(
            loaded,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'staging' and table_name = 'stg_ga4__traffic_daily'",
        )
    )
    assert types == {
        "property_id": "VARCHAR",
        "date_day": "DATE",
        "channel_group": "VARCHAR",
        "source": "VARCHAR",
        "medium": "VARCHAR",
        "campaign_name": "VARCHAR",
        "campaign_id": "VARCHAR",
        "sessions": "BIGINT",
        "engaged_sessions": "BIGINT",
        "ecommerce_purchases": "BIGINT",
        "purchase_revenue": "DECIMAL(18,2)",
        "currency": "VARCHAR",
    }
