"""The plan source (ingestion/sources/google_sheets): the sheet loads into raw_plan.targets equal to the world's plan
to the cent, the malformed rows are quarantined with their reasons and nothing else is lost, a re-run adds nothing,
a CSV export loads the same rows, a renamed header column is a clear error; plan_vs_actual_monthly reconciles."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from ingestion.pipelines import load
from ingestion.sources.google_sheets import PlanSheetError, plan_source
from sandbox.connect import sandbox_env
from sandbox.server import SandboxApp, SandboxServer
from sandbox.sheets_api import csv_export
from sandbox.truth import plan_truth
from sandbox.world import build_world
from tests.conftest import TEST_WORLD
from tests.helpers import dbt_build, environment, query

COLUMNS = "row_key, plan_version, month, channel, territory, net_revenue_usd, published_date, notes, sheet_row"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with (
        SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as running,
        environment(sandbox_env(running.url)),
    ):
        yield running


@pytest.fixture(scope="module")
def loaded(server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse = tmp_path_factory.mktemp("plan") / "warehouse.duckdb"
    result = load("plan", duckdb_path=warehouse)
    assert result.quarantined == len(plan_truth(build_world(TEST_WORLD))["malformed"])
    return warehouse


def test_plan_equals_the_sheet_to_the_cent(loaded: Path) -> None:
    truth = plan_truth(build_world(TEST_WORLD))
    rows = query(
        loaded,
        "select plan_version, strftime(month, '%Y-%m'), channel, territory, net_revenue_usd from raw_plan.targets",
    )
    expected = [
        (t["version"], t["month"], t["channel"], t["territory"], Decimal(t["net_revenue_usd"]))
        for t in truth["targets"]
    ]
    assert sorted(rows, key=str) == sorted(expected, key=str)
    totals = query(loaded, "select plan_version, channel, sum(net_revenue_usd) from raw_plan.targets group by all")
    assert sorted(totals) == sorted(
        (t["version"], t["channel"], Decimal(t["net_revenue_usd"])) for t in truth["totals"]
    )
    assert {type(r[4]) for r in rows} == {Decimal}


def test_malformed_rows_are_quarantined_with_their_reason_and_nothing_else_is_lost(loaded: Path) -> None:
    truth = plan_truth(build_world(TEST_WORLD))
    quarantined = dict(query(loaded, "select record_id, reason from raw_quarantine.records where source_key = 'plan'"))
    assert set(quarantined) == {m["record_id"] for m in truth["malformed"]}
    for m in truth["malformed"]:
        assert m["reason"] in quarantined[m["record_id"]], (m, quarantined[m["record_id"]])
    duplicate = next(r for r in quarantined.values() if "duplicate key" in r)
    assert "the first occurrence is kept" in duplicate
    (loaded_rows,) = query(loaded, "select count(*) from raw_plan.targets")[0]
    assert loaded_rows + len(quarantined) == truth["sheet_rows"]  # every data row of the sheet is somewhere


def test_a_rerun_adds_nothing(loaded: Path) -> None:
    before = query(loaded, f"select {COLUMNS} from raw_plan.targets order by row_key")
    result = load("plan", duckdb_path=loaded)
    assert result.table_rows["targets"] == len(before)
    assert query(loaded, f"select {COLUMNS} from raw_plan.targets order by row_key") == before
    assert query(loaded, "select count(*) from raw_plan.quarantine") == [
        (len(plan_truth(build_world(TEST_WORLD))["malformed"]),)
    ]


def test_a_csv_export_loads_the_same_rows(loaded: Path, tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text(csv_export(TEST_WORLD), encoding="utf-8")
    warehouse = tmp_path / "csv.duckdb"
    with environment({"SOURCES__PLAN__CSV_PATH": str(path)}):
        result = load("plan", duckdb_path=warehouse)
    assert result.quarantined == len(plan_truth(build_world(TEST_WORLD))["malformed"])
    sql = f"select {COLUMNS} from raw_plan.targets order by row_key"
    assert query(warehouse, sql) == query(loaded, sql)
    reasons = query(warehouse, "select reason from raw_plan.quarantine order by reason")
    assert reasons == query(loaded, "select reason from raw_plan.quarantine order by reason")


def test_a_renamed_header_column_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "renamed.csv"
    path.write_text(csv_export(TEST_WORLD).replace("Territory", "Region", 1), encoding="utf-8")
    with pytest.raises(Exception, match=r"header lacks 'Territory' \(territory\)"):
        list(plan_source(csv_path=str(path)).resources["targets"])
    with pytest.raises(PlanSheetError, match="spreadsheet_id"):
        plan_source(spreadsheet_id=None, csv_path=None, access_token=None, api_key=None)


def test_the_source_reads_by_api_key_too(server: SandboxServer) -> None:
    from sandbox import sheets_api

    rows = list(
        plan_source(
            base_url=server.url,
            spreadsheet_id=sheets_api.SPREADSHEET_ID,
            access_token=None,
            api_key=sheets_api.DEMO_API_KEY,
        ).resources["targets"]
    )
    kinds = Counter("quarantine" if "reason" in r else "target" for r in rows)
    truth = plan_truth(build_world(TEST_WORLD))
    assert kinds == {"target": len(truth["targets"]), "quarantine": len(truth["malformed"])}


def test_the_source_rides_out_the_seeded_faults() -> None:
    """Google's 429/5xx bodies, dropped connections and truncated bodies are retried: the same rows come through."""
    from sandbox import plan_world, sheets_api

    truth = plan_truth(build_world(TEST_WORLD))
    injected: Counter[str] = Counter()
    for fault_seed in range(40):
        app = SandboxApp(TEST_WORLD, rate_limits="off", faults="heavy", fault_seed=fault_seed, slow_s=0.2)
        with SandboxServer(app, port=0) as faulty:
            rows = list(
                plan_source(
                    base_url=faulty.url,
                    spreadsheet_id=plan_world.SPREADSHEET_ID,
                    access_token=sheets_api.DEMO_ACCESS_TOKEN,
                    api_key=None,
                ).resources["targets"]
            )
        assert sum("reason" not in r for r in rows) == len(truth["targets"])
        injected.update(app.faults.injected)  # type: ignore[union-attr]
        if sum(injected.values()) >= 4:
            break
    assert sum(injected.values()) >= 4, injected


def test_a_row_deleted_from_the_sheet_leaves_the_plan_and_the_completeness_check_fails(tmp_path: Path) -> None:
    """Every load merges the whole sheet: a row finance deletes stays in raw but not in the plan, and the plan then
    misses a month × channel × territory, which the plan_covers_every_month test (a Dagster asset check) reports."""
    lines = csv_export(TEST_WORLD).splitlines(keepends=True)
    gone = next(i for i, line in enumerate(lines) if line.startswith("budget_2025,2025-03,b2b,East,"))
    path, warehouse = tmp_path / "plan.csv", tmp_path / "w.duckdb"
    nodes = ["channels", "stg_plan__targets", "int_plan_targets"]
    with environment({"SOURCES__PLAN__CSV_PATH": str(path)}):
        path.write_text("".join(lines), encoding="utf-8")
        load("plan", duckdb_path=warehouse)
        dbt_build(warehouse, nodes, tmp_path / "dbt1")
        path.write_text("".join(lines[:gone] + lines[gone + 1 :]), encoding="utf-8")
        load("plan", duckdb_path=warehouse)
    with pytest.raises(AssertionError, match="plan_covers_every_month"):
        dbt_build(warehouse, nodes, tmp_path / "dbt2")
    key = "budget_2025|2025-03-01|b2b|East"
    assert query(
        warehouse, f"select is_in_current_sheet from staging.stg_plan__targets where plan_target_key = '{key}'"
    ) == [(False,)]
    sql = "select count(*) from intermediate.int_plan_targets where plan_version = 'budget_2025' and month_start = '2025-03-01' and territory = 'East'"
    assert query(warehouse, sql) == [(0,)]
    assert query(warehouse, "select count(*) from staging.stg_plan__targets where not is_in_current_sheet") == [(1,)]


def test_a_sheet_without_any_valid_row_is_an_error_not_an_empty_plan(tmp_path: Path) -> None:
    path = tmp_path / "tbd.csv"
    header = csv_export(TEST_WORLD).splitlines()[0]
    path.write_text(f"{header}\nbudget_2026,2026-01,shopify,,TBD,2025-12-01\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"no valid plan row \(1 quarantined, e.g. tbd.csv:2: net_revenue_usd 'TBD'"):
        list(plan_source(csv_path=str(path)).resources["targets"])
