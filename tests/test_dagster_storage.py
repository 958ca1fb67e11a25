"""Dagster instance storage: SQLite under DAGSTER_HOME by default, PostgreSQL with dagster.yaml's documented block.

The PostgreSQL instance is the project's dagster.yaml with the block between its markers uncommented (so the
documented block is what is tested), against a scratch database; a run recorded there is read back by a new
instance on the same home, as after a restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from dagster import (
    AssetCheckResult,
    AssetKey,
    BackfillPolicy,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    DailyPartitionsDefinition,
    MaterializeResult,
    asset,
    asset_check,
    materialize,
)

from core.paths import PROJECT_ROOT
from orchestration.event_log import SyncNormalSqliteEventLogStorage
from tests.helpers import environment
from tests.pg_scratch import admin_params, scratch_database

BEGIN, END = "# >>> postgres storage", "# <<< postgres storage"
SQLITE_BEGIN, SQLITE_END = "# >>> sqlite event log", "# <<< sqlite event log"


@asset
def storage_probe() -> MaterializeResult:
    """A cheap asset whose materialization and metadata the instance must keep."""
    return MaterializeResult(metadata={"rows": 42})


def _project_yaml(postgres: bool) -> str:
    """The project's dagster.yaml, with the documented PostgreSQL block enabled when asked."""
    lines = (PROJECT_ROOT / "dagster.yaml").read_text().splitlines()
    start, end = lines.index(BEGIN), lines.index(END)
    block = lines[start + 1 : end]
    assert block and all(line.startswith("# ") for line in block), "the block must be commented out by default"
    if postgres:  # as the file says: the sqlite event log block deleted, the postgres block uncommented
        lines[start + 1 : end] = [line[2:] for line in block]
        del lines[lines.index(SQLITE_BEGIN) : lines.index(SQLITE_END) + 1]
    return "\n".join(lines) + "\n"


def _home(tmp_path: Path, postgres: bool) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(_project_yaml(postgres))
    return home


def _record_a_run(home: Path) -> str:
    """Materialize the probe in the instance at home, then dispose of that instance (the 'restart')."""
    with environment({"DAGSTER_HOME": str(home)}), DagsterInstance.from_config(str(home)) as instance:
        result = materialize([storage_probe], instance=instance)
        assert result.success
        return result.run_id


def _assert_run_survived(home: Path, run_id: str) -> DagsterInstance:
    with environment({"DAGSTER_HOME": str(home)}):
        instance = DagsterInstance.from_config(str(home))
    run = instance.get_run_by_id(run_id)
    assert run is not None and run.status == DagsterRunStatus.SUCCESS
    events = {e.dagster_event.event_type for e in instance.all_logs(run_id) if e.dagster_event}
    assert {
        DagsterEventType.RUN_START,
        DagsterEventType.STEP_SUCCESS,
        DagsterEventType.ASSET_MATERIALIZATION,
        DagsterEventType.RUN_SUCCESS,
    } <= events
    latest = instance.get_latest_materialization_event(AssetKey("storage_probe"))
    assert latest is not None and latest.run_id == run_id
    assert latest.asset_materialization.metadata["rows"].value == 42
    return instance


@pytest.fixture()
def dagster_db() -> Iterator[str]:
    with scratch_database("salesdw_acc_dagster") as name:
        yield name


def test_postgres_storage_keeps_runs_across_a_restart(tmp_path: Path, dagster_db: str) -> None:
    home = _home(tmp_path, postgres=True)
    p = admin_params(dagster_db)
    with environment(
        {
            "PGHOST": p["host"],
            "PGPORT": p["port"],
            "PGUSER": p["user"],
            "PGPASSWORD": "",
            "SALESDW_DAGSTER_DB": dagster_db,
        }
    ):
        run_id = _record_a_run(home)
        with _assert_run_survived(home, run_id) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
            assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    assert not (home / "history" / "runs.db").exists()
    conn = psycopg2.connect(**p)  # recorded in PostgreSQL itself, not in a file under the home
    try:
        with conn.cursor() as cur:
            cur.execute("select status from runs where run_id = %s", [run_id])
            assert cur.fetchall() == [("SUCCESS",)]
            cur.execute(
                "select count(*) from event_logs where run_id = %s and dagster_event_type = 'ASSET_MATERIALIZATION'",
                [run_id],
            )
            assert cur.fetchone()[0] == 1
    finally:
        conn.close()


def test_default_storage_is_sqlite_under_dagster_home(tmp_path: Path) -> None:
    home = _home(tmp_path, postgres=False)
    run_id = _record_a_run(home)
    with _assert_run_survived(home, run_id) as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert type(instance.event_log_storage).__name__ == "SyncNormalSqliteEventLogStorage"
        assert (home / "history" / "runs.db").is_file()
        assert (home / "history" / "runs" / f"{run_id}.db").is_file()  # Dagster's own place: its history stays
        # the rest of the instance settings the project relies on
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


DAYS = DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-03-01")


@asset(partitions_def=DAYS, backfill_policy=BackfillPolicy.single_run())
def daily_probe(context) -> MaterializeResult:  # context: AssetExecutionContext (Dagster reads no string hint)
    """A partitioned asset built for a range of days in one run: one materialization per day."""
    return MaterializeResult(metadata={"days": len(context.partition_keys)})


@asset_check(asset=daily_probe)
def daily_probe_check() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


def _record_a_range(home: Path, batch_size: str) -> tuple[str, dict[str, int]]:
    """Build every day of DAYS in one run with the given event batch size; the run's event types counted."""
    tags = {"dagster/asset_partition_range_start": "2026-01-01", "dagster/asset_partition_range_end": "2026-02-28"}
    with (
        environment({"DAGSTER_HOME": str(home), "DAGSTER_EVENT_BATCH_SIZE": batch_size}),
        DagsterInstance.from_config(str(home)) as instance,
    ):
        result = materialize([daily_probe, daily_probe_check], instance=instance, tags=tags)
        assert result.success
    with environment({"DAGSTER_HOME": str(home)}), DagsterInstance.from_config(str(home)) as instance:  # restarted
        counts: dict[str, int] = {}
        for entry in instance.all_logs(result.run_id):
            if entry.dagster_event:
                counts[entry.dagster_event.event_type_value] = counts.get(entry.dagster_event.event_type_value, 0) + 1
        return result.run_id, counts


def test_event_batches_store_what_single_events_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With DAGSTER_EVENT_BATCH_SIZE set, SyncNormalSqliteEventLogStorage writes the planned events and the
    per-partition materializations of a run in one transaction per file: the run's log and the asset index
    must hold exactly what the same run stores one event at a time."""
    batches: list[int] = []
    store_batch = SyncNormalSqliteEventLogStorage.store_event_batch

    def counted(self: SyncNormalSqliteEventLogStorage, events: Any) -> None:
        batches.append(len(events))
        store_batch(self, events)

    monkeypatch.setattr(SyncNormalSqliteEventLogStorage, "store_event_batch", counted)
    (tmp_path / "single").mkdir()
    (tmp_path / "batched").mkdir()
    single_home, batched_home = _home(tmp_path / "single", postgres=False), _home(tmp_path / "batched", False)
    _, single = _record_a_range(single_home, "0")
    assert batches == []
    run_id, batched = _record_a_range(batched_home, "1000")
    assert max(batches) >= 59  # the planned events and the materializations, a batch each
    days = DAYS.get_partition_keys()
    assert batched == single
    assert batched["ASSET_MATERIALIZATION"] == batched["ASSET_MATERIALIZATION_PLANNED"] == len(days) == 59
    with environment({"DAGSTER_HOME": str(batched_home)}), DagsterInstance.from_config(str(batched_home)) as instance:
        assert instance.get_materialized_partitions(daily_probe.key) == set(days)  # the index, per partition
        latest = instance.get_latest_materialization_event(daily_probe.key)
        assert latest is not None and latest.run_id == run_id
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key([daily_probe_check.check_key])
        assert check[daily_probe_check.check_key].run_id == run_id
