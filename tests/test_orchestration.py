"""What a data engineer sees in Dagster: metadata on every asset, partitions, backfills, automation, the finance view."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from orchestration.assets.transform import MONTHLY_REVENUE_KEY, ORDERS_KEY
from orchestration.checks.gx_finance_suites import CHANNEL_REVENUE_RECONCILES, MONTHLY_REVENUE_RECONCILES
from orchestration.checks.gx_runner import validate
from orchestration.definitions import load_definitions
from orchestration.runner import RunOutcome
from tests.conftest import SharedBuild
from tests.helpers import query

defs = load_definitions()

READS_SHARED_BUILD = True  # the shared build records every piece of asset metadata, in an instance it keeps


@pytest.fixture(scope="module")
def built(warehouse: Path, shared_build: SharedBuild) -> tuple[Path, RunOutcome, DagsterInstance]:
    """A full main job with every piece of asset metadata on, and the instance that recorded it."""
    assert shared_build.instance is not None
    return warehouse, shared_build.outcome, shared_build.instance


def _latest_metadata(instance: DagsterInstance, key: AssetKey) -> dict:
    event = instance.get_latest_materialization_event(key)
    assert event is not None, key.to_user_string()
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_every_asset_has_a_group_a_description_and_an_owner() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        name = key.to_user_string()
        assert node.group_name and node.group_name != "default", name
        assert (node.description or "").strip(), name
        assert node.owners, name
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    assert {
        "staging",
        "intermediate",
        "marts",
        "finance",
        "seeds",
        "snapshots",
        "ingestion_shopify",
        "ingestion_crm",
        "ingestion_amazon",
        "ingestion_ebay",
        "ingestion_fx",
    } <= groups


def test_partitions_freshness_and_automation_are_declared() -> None:
    graph = defs.resolve_asset_graph()
    assert graph.get(ORDERS_KEY).partitions_def.get_first_partition_key() == "2024-01-01"
    assert "Daily" in str(graph.get(ORDERS_KEY).partitions_def)
    assert "Monthly" in str(graph.get(MONTHLY_REVENUE_KEY).partitions_def)
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if (
            node.is_materializable
            and key.path[0] in ("marts", "finance")
            and key.path[1] not in ("quarantine",)
            and node.group_name in ("marts", "finance")
        ):
            assert node.freshness_policy is not None, key.to_user_string()
            assert node.automation_condition is not None, key.to_user_string()
        if node.is_materializable and key.path[0] == "raw_shopify" and key.path[1] == "orders":
            assert node.freshness_policy is not None


def test_schedules_and_sensors_run_it_without_a_person(capsys: pytest.CaptureFixture[str]) -> None:
    schedules = {s.name: s for s in defs.schedules}
    assert schedules["salesdw_ingest_hourly"].cron_schedule == "0 * * * *"
    assert schedules["salesdw_transform_daily"].cron_schedule == "0 3 * * *"
    assert schedules["monthly_close"].cron_schedule == "0 6 6 * *"
    sensors = {s.name for s in defs.sensors}
    assert {"report_failed_runs", "salesdw_automation"} <= sensors
    with capsys.disabled():
        print("\nschedules:")
        for s in defs.schedules:
            print(f"  {s.name:26} {s.cron_schedule:12} {s.execution_timezone}  job={s.job_name}")
        print("sensors:", ", ".join(sorted(sensors)))


def test_dbt_and_raw_assets_carry_row_counts_column_schema_and_lineage(built) -> None:
    warehouse, _, instance = built
    daily = _latest_metadata(instance, AssetKey(["marts", "channel_revenue_daily"]))
    rows = query(warehouse, "select count(*) from marts.channel_revenue_daily")[0][0]
    assert daily["dagster/row_count"] == rows > 0
    schema_columns = {c.name for c in daily["dagster/column_schema"].columns}
    assert {"date_day", "channel", "net_revenue_usd"} <= schema_columns
    lineage = daily["dagster/column_lineage"].deps_by_column
    assert any(dep.asset_key == ORDERS_KEY for dep in lineage["gross_sales_usd"])
    raw = _latest_metadata(instance, AssetKey(["raw_shopify", "orders"]))
    assert raw["dagster/row_count"] == query(warehouse, "select count(*) from raw_shopify.orders")[0][0] > 0
    assert "quarantined_in_load" in raw


def test_the_finance_asset_shows_net_revenue_by_channel_by_month(built) -> None:
    warehouse, _, instance = built
    meta = _latest_metadata(instance, MONTHLY_REVENUE_KEY)
    table = meta["net_revenue_by_channel_by_month"]
    month, net = query(
        warehouse,
        "select revenue_month, sum(net_revenue_usd) from finance.monthly_revenue group by 1 order by 1 desc limit 1",
    )[0]
    row = next(line for line in table.splitlines() if line.startswith(f"| {month:%Y-%m} |"))
    assert row.rstrip(" |").endswith(f"{net:,.2f}")
    assert {"amazon", "b2b", "ebay", "shopify"} <= set(table.splitlines()[2].replace("|", " ").split())


def test_reconciliation_checks_fail_on_figures_that_do_not_add_up(built) -> None:
    warehouse, outcome, _ = built
    passed = {name: ok for _, name, ok in outcome.checks}
    assert passed["gx_finance_channel_revenue_daily_reconciles"] and passed["gx_finance_monthly_revenue_reconciles"]
    copy = warehouse.parent / "tampered.duckdb"
    copy.write_bytes(warehouse.read_bytes())
    with duckdb.connect(str(copy)) as con:
        day = con.execute(
            "select min(date_day) from marts.channel_revenue_daily where channel = 'shopify' and orders > 0"
        ).fetchone()[0]
        con.execute(
            "update marts.channel_revenue_daily set gross_sales_usd = gross_sales_usd + 0.01 "
            "where channel = 'shopify' and date_day = ?",
            [day],
        )
        last = "revenue_month = (select max(revenue_month) from finance.monthly_revenue) and channel = 'ebay'"
        status = con.execute(f"select period_status from finance.monthly_revenue where {last}").fetchone()[0]
        con.execute(f"update finance.monthly_revenue set net_revenue_usd = net_revenue_usd - 1 where {last}")
        daily = validate(con, CHANNEL_REVENUE_RECONCILES)
        monthly = validate(con, MONTHLY_REVENUE_RECONCILES)
    assert not daily.passed
    assert [f["column"] for f in daily.failures] == ["gross_sales_usd_diff"]
    assert daily.sample_rows[0]["revenue_month"].startswith(f"{day:%Y-%m}-01")
    assert daily.sample_rows[0]["channel"] == "shopify"
    assert Decimal(daily.sample_rows[0]["gross_sales_usd_diff"]) == Decimal("0.01")
    assert not monthly.passed
    expected = "open_month_net_revenue_diff" if status == "open" else "closed_month_vs_published_diff"
    assert {f["column"] for f in monthly.failures} == {expected}
    assert [r["channel"] for r in monthly.sample_rows] == ["ebay"]


def test_every_check_of_the_graph_runs_in_the_main_job(built) -> None:
    """dbt relationship tests read two models: each must run in the run that builds (or follows) both."""
    _, outcome, _ = built
    evaluated = {(asset, name) for asset, name, _ in outcome.checks}
    declared = {(k.asset_key.to_user_string(), k.name) for k in defs.resolve_asset_graph().asset_check_keys}
    assert len(declared) > 300
    assert declared - evaluated == set()


def test_column_lineage_is_parsed_again_only_when_its_inputs_change(built) -> None:
    from orchestration.assets.dbt_metadata import LINEAGE_CACHE, lineage_key
    from orchestration.assets.transform import TARGET_DIR

    cache = json.loads((TARGET_DIR / LINEAGE_CACHE).read_text())
    entry = cache["model.salesdw.channel_revenue_daily"]
    assert "dagster/column_lineage" in entry["lineage"]
    columns = {"net_revenue_usd": {"data_type": "DECIMAL(18,2)"}}
    parents = {'"w"."marts"."fct_orders"': {"gross_sales_usd": {"data_type": "DECIMAL(18,2)"}}}
    key = lineage_key("select 1", columns, parents)
    assert key == lineage_key("select 1", dict(columns), dict(parents))
    assert key != lineage_key("select 2", columns, parents)
    assert key != lineage_key(
        "select 1", columns, {'"w"."marts"."fct_orders"': {"gross_sales_usd": {"data_type": "INTEGER"}}}
    )


def test_a_changed_model_or_setting_is_a_rebuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration import build_state

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.sql").write_text("select 1")
    (tmp_path / "dbt_project.yml").write_text("name: x")
    before = build_state.project_digest(tmp_path)
    assert build_state.project_digest(tmp_path) == before
    (tmp_path / "models" / "m.sql").write_text("select 2")
    assert build_state.project_digest(tmp_path) != before
    raw = {"raw_shop.orders": [3, "17"]}
    monkeypatch.setattr(build_state, "raw_tables", lambda: raw)
    first = build_state.fingerprint("duckdb:w", "2026-06-30")
    assert build_state.fingerprint("duckdb:w", "2026-06-30", {"raw_shop.orders": [3, "18"]}) != first
    assert build_state.fingerprint("duckdb:w", "2026-06-30") == first
    assert build_state.fingerprint("duckdb:w", "2026-07-01") != first
    monkeypatch.setenv("SALESDW_HTTP_TIMEOUT_S", "90")
    assert build_state.fingerprint("duckdb:w", "2026-06-30") != first
