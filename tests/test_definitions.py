"""The Dagster definitions load as one connected lineage graph, with the warehouse guarded by one pool."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dagster import AssetKey

from ingestion.pipelines import SOURCES
from orchestration.definitions import load_definitions
from orchestration.resources import WAREHOUSE_POOL

defs = load_definitions()

ROOT = Path(__file__).resolve().parent.parent


def test_definitions_load_with_the_main_job() -> None:
    assert defs.resolve_job_def("salesdw_main") is not None
    graph = defs.resolve_asset_graph()
    assert AssetKey(["marts", "channel_revenue_daily"]) in graph.get_all_asset_keys()


def test_every_dbt_source_is_a_dlt_asset_and_every_raw_asset_reaches_a_mart() -> None:
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    raw = {k for k in keys if k.path[0].startswith("raw_")}
    assert {k.path[0] for k in raw} == {s.dataset for s in SOURCES.values()}
    # no orphan source nodes: every raw key is materialized by an ingestion step
    for key in raw:
        assert graph.get(key).is_materializable, f"{key.to_user_string()} is not produced by dlt"
    # lineage: every raw table the warehouse reads flows into the marts
    for key in raw:
        if key.path[1] in ("quarantine", "deals__contacts"):
            # quarantine is a dead end by design; deal↔contact roles are not modeled in marts yet
            continue
        seen, todo = set(), [key]
        while todo:
            for child in graph.get(todo.pop()).child_keys - seen:
                seen.add(child)
                todo.append(child)
        # the finance schema holds marts too (finance.monthly_revenue, finance.plan_vs_actual_monthly)
        assert any(k.path[0] in ("marts", "finance") for k in seen), f"{key.to_user_string()} reaches no mart"


def test_everything_that_opens_the_warehouse_shares_one_pool_limited_to_one_step() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable:
            assert node.pools == {WAREHOUSE_POOL}, key.to_user_string()
    for check in defs.asset_checks or []:
        assert check.node_def.pool == WAREHOUSE_POOL
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert config["concurrency"]["pools"]["default_limit"] == 1


def test_monthly_close_schedule_closes_the_previous_month() -> None:
    from datetime import UTC, datetime

    from dagster import build_schedule_context

    from orchestration.schedules import monthly_close

    request = monthly_close(build_schedule_context(scheduled_execution_time=datetime(2027, 1, 6, 6, tzinfo=UTC)))
    assert request.run_config["ops"]["dbt_finance_ledger"]["config"]["close_through_month"] == "2026-12"
    assert request.run_key == "close-2026-12"
    assert defs.resolve_job_def("finance_month_close") is not None


def test_a_failed_run_is_reported_to_the_alerts_file(tmp_path: Path, monkeypatch) -> None:
    import json

    from dagster import DagsterInstance, build_run_status_sensor_context, job, op

    from orchestration.sensors import ALERTS_FILE_ENV, report_failed_runs

    @op
    def explode() -> None:
        raise RuntimeError("boom")

    @job
    def failing() -> None:
        explode()

    alerts = tmp_path / "alerts.jsonl"
    monkeypatch.setenv(ALERTS_FILE_ENV, str(alerts))
    with DagsterInstance.ephemeral() as instance:
        result = failing.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        context = build_run_status_sensor_context(
            sensor_name="report_failed_runs",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        )
        report_failed_runs(context.for_run_failure())
    lines = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["job"] == "failing" and lines[0]["run_id"] == result.run_id
    assert defs.resolve_sensor_def("report_failed_runs") is not None


def test_a_manifest_parsed_for_another_warehouse_is_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The manifest names its relations in one database: after a build on another (a PostgreSQL run, a warehouse
    file with another name) it is parsed again, not reused; for the same warehouse an up-to-date one is kept."""
    from orchestration.assets import transform

    transform.prepare_manifest()  # up to date for this environment's warehouse
    stamp = transform.dbt_project.manifest_path.with_name("manifest.warehouse")
    assert stamp.read_text() == transform.warehouse_identity()
    parses: list[list[str]] = []

    class Recorder:
        def cli(self, args: list[str], **_: object) -> Recorder:
            parses.append(args)
            return self

        def wait(self) -> None:
            return None

    monkeypatch.setattr(transform, "dbt_cli", Recorder)
    transform.prepare_manifest()
    assert parses == []
    stamp.write_text("postgres:127.0.0.1:5432/another_database")
    transform.prepare_manifest()
    assert parses == [["parse", "--quiet"]]
    assert stamp.read_text() == transform.warehouse_identity()


def test_every_dbt_name_fits_a_postgresql_identifier() -> None:
    """PostgreSQL cuts identifiers at 63 bytes and dbt refuses a longer relation name there (a unit test's too: it
    becomes a temporary table), so a name that only DuckDB accepts would fail the server target alone."""
    project = Path(__file__).resolve().parents[1] / "dbt_project"
    too_long = []
    for path in (project / "models").rglob("*.yml"):
        spec = yaml.safe_load(path.read_text()) or {}
        for kind in ("models", "unit_tests", "seeds", "snapshots"):
            too_long += [(path.name, e["name"]) for e in spec.get(kind) or [] if len(e["name"].encode()) > 63]
    too_long += [(p.name, p.stem) for p in (project / "models").rglob("*.sql") if len(p.stem.encode()) > 63]
    assert not too_long, too_long
