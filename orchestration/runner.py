"""Running the main job in-process: every step in turn, so DuckDB never sees two writers.

The main job is three runs, one per partitioning of the graph (Dagster runs one partitions definition
per run): ingestion and the unpartitioned models, then the daily-partitioned orders fact for the days
that changed, then everything downstream of it with the monthly finance partitions. A run that fails
(a failed step or a failed blocking check) stops the sequence: nothing downstream is rebuilt on bad data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dagster import AssetCheckSeverity, DagsterInstance, ExecuteInProcessResult

from core.settings import settings
from core.warehouse import warehouse_path
from ingestion import extract_ahead
from ingestion.pipelines import SOURCES
from orchestration.assets.transform import ORDERS_KEY, daily_partitions
from orchestration.console import console_logger
from orchestration.resources import read_only_warehouse
from orchestration.run_guard import prepare as prepare_runs
from orchestration.run_guard import run_tags
from orchestration.schedules import (
    INGEST_JOB,
    MAIN_JOB,
    ORDERS_JOB,
    REVENUE_JOB,
    TRANSFORM_JOB,
    all_months_tags,
    partition_range_tags,
)


@dataclass
class RunOutcome:
    success: bool
    results: list[ExecuteInProcessResult]
    checks: list[tuple[str, str, bool]] = field(default_factory=list)  # (asset, check, passed)
    warned: set[tuple[str, str]] = field(default_factory=set)  # (asset, check) failed with severity WARN
    rebuilt: bool = True  # False: nothing new was loaded, the models were left as the last build made them
    changed: list[str] = field(default_factory=list)  # raw tables whose rows changed since the last build

    @property
    def result(self) -> ExecuteInProcessResult:
        """The last run that executed (the one that failed, when one did)."""
        return self.results[-1]

    @property
    def all_events(self) -> list[Any]:
        return [e for r in self.results for e in r.all_events]

    @property
    def failed_checks(self) -> list[tuple[str, str, bool]]:
        """Checks that failed with severity ERROR (a warning, such as the backtest's, is not a failure)."""
        return [c for c in self.checks if not c[2] and (c[0], c[1]) not in self.warned]

    @property
    def warned_checks(self) -> list[tuple[str, str, bool]]:
        return [c for c in self.checks if not c[2] and (c[0], c[1]) in self.warned]

    def check_metadata(self, check_name: str) -> dict[str, Any]:
        for e in self.all_events:
            if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.event_specific_data.check_name == check_name:
                return {k: v.value for k, v in e.event_specific_data.metadata.items()}
        raise KeyError(check_name)

    def started_steps(self) -> set[str]:
        """Steps that ran; a step downstream of a failed blocking check never starts."""
        return {e.step_key for e in self.all_events if e.event_type_value == "STEP_START"}

    def materialized(self) -> set[str]:
        return {
            e.event_specific_data.materialization.asset_key.to_user_string()
            for e in self.all_events
            if e.event_type_value == "ASSET_MATERIALIZATION"
        }


def changed_orders_start() -> str:
    """First daily partition to rebuild: the day of the newest order change already modeled (dbt adds the
    lookback), or the first partition when the fact is empty or missing."""
    first = daily_partitions.get_first_partition_key()
    try:
        with read_only_warehouse() as con:
            newest = con.execute(f"select cast(max(updated_at) as date) from {'.'.join(ORDERS_KEY.path)}").fetchone()[0]
    except Exception:  # first run: the warehouse or the table does not exist yet
        return first
    return max(first, newest.isoformat()) if isinstance(newest, date) else first


def run_plan(full_refresh: bool) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """(job, tags, run config) of each run of the main job, in order."""
    ingest_config = {f"ingest_{k}": {"config": {"full_refresh": True}} for k in SOURCES} if full_refresh else {}
    last_day = daily_partitions.get_last_partition_key()
    orders_start = daily_partitions.get_first_partition_key() if full_refresh else min(changed_orders_start(), last_day)
    return [
        (MAIN_JOB, {}, {"ops": ingest_config} if ingest_config else {}),
        (ORDERS_JOB, partition_range_tags(orders_start, last_day), {}),
        (REVENUE_JOB, all_months_tags(), {}),
    ]


def run_main_job(
    instance: DagsterInstance,
    full_refresh: bool = False,
    log_level: str = "INFO",
    notify: Callable[[str], Any] | None = None,
) -> RunOutcome:
    """The main job. After a build that succeeded (build_state.py), the sources load first, in a run of their
    own, and the models are rebuilt only when what they are built from changed: a run that loads nothing new
    ends after its loads and their checks (``RunOutcome.rebuilt`` is False)."""
    from orchestration import build_state
    from orchestration.assets.transform import warehouse_identity
    from orchestration.definitions import load_definitions

    defs = load_definitions()
    identity = warehouse_identity()
    previous = None if full_refresh else build_state.last_build(identity)
    previous_tables = build_state.last_tables(identity)
    build_state.save(identity, None)  # a build that does not finish leaves no record: the next one rebuilds
    plan = run_plan(full_refresh)
    if previous is not None:  # load first, then decide
        plan = [(INGEST_JOB, {}, {}), (TRANSFORM_JOB, {}, {}), *plan[1:]]
    if settings().extract_ahead == "on":  # the sources' extracts run beside the loads (ingestion/extract_ahead.py)
        extract_ahead.start(sorted(SOURCES), full_refresh, warehouse_path())  # sorted: the order the steps run in
    try:
        return _run_plan(instance, defs, identity, plan, previous, previous_tables, log_level, notify)
    finally:
        extract_ahead.stop()


def _run_plan(
    instance: DagsterInstance,
    defs: Any,
    identity: str,
    plan: list[tuple[str, dict[str, str], dict[str, Any]]],
    previous: str | None,
    previous_tables: Any,
    log_level: str,
    notify: Callable[[str], Any] | None,
) -> RunOutcome:
    from orchestration import build_state

    results: list[ExecuteInProcessResult] = []
    rebuilt = True
    loaded: dict[str, list[Any]] | None = None  # the raw tables as the loads left them (dbt does not write raw)
    changed: list[str] = []
    for job_name, tags, config in plan:
        if job_name == TRANSFORM_JOB:
            loaded = build_state.raw_tables()
            if build_state.fingerprint(identity, tables=loaded) == previous:
                build_state.save(identity, previous, loaded)
                rebuilt = False
                break
            changed = build_state.changed_tables(previous_tables, loaded) if previous else []
            if changed and notify:
                shown = ", ".join(changed[:6]) + (f" and {len(changed) - 6} more" if len(changed) > 6 else "")
                notify(f"rebuilding the models: rows changed in {shown}")
        prepare_runs(instance)  # dead runs' pool slots freed, live holders named: never a silent wait
        tags = {**tags, **run_tags()}
        run_config = {**config, "loggers": {"console": {"config": {"log_level": log_level}}}}
        job = defs.resolve_job_def(job_name).with_logger_defs({"console": console_logger})  # one-line failures
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=run_config, tags=tags)
        results.append(result)
        if not result.success:
            break
    evaluations = [
        e.event_specific_data for r in results for e in r.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    checks = [(c.asset_key.to_user_string(), c.check_name, c.passed) for c in evaluations]
    warned = {
        (c.asset_key.to_user_string(), c.check_name)
        for c in evaluations
        if not c.passed and c.severity == AssetCheckSeverity.WARN
    }
    success = all(r.success for r in results) and (len(results) == len(plan) or not rebuilt)
    if success and rebuilt:
        tables = loaded if loaded is not None else build_state.raw_tables()
        build_state.save(identity, build_state.fingerprint(identity, tables=tables), tables)
    return RunOutcome(success, results, checks, warned, rebuilt, changed)
