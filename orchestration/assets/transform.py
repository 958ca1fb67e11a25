"""dbt models, seeds, snapshots and tests as Dagster assets and asset checks, grouped by warehouse layer.

Four dbt asset definitions share one translator (each is one step, so checks can sit between them):
- ``dbt_models``: everything unpartitioned except the finance ledger;
- ``dbt_orders_daily``: ``marts.fct_orders``, the incremental fact, in daily partitions (a partition is a
  UTC day of order changes: building it re-reads the orders changed that day, with the lookback);
- ``dbt_finance_ledger``: ``finance.period_closes`` and ``finance.revenue_adjustments`` (unpartitioned,
  append-only), built only after the blocking reconciliation check on ``marts.channel_revenue_daily``;
- ``dbt_finance_monthly``: ``finance.monthly_revenue`` in monthly partitions (a partition is a revenue
  month; a backfill of a range rebuilds exactly those months).
Partitioned builds pass the range to dbt in env vars SALESDW_PARTITION_START / SALESDW_PARTITION_END.
"""

import os
import shutil
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterator

import yaml
from dagster import (
    AssetExecutionContext, AssetKey, AssetSpec, AutomationCondition, BackfillPolicy, Config, DailyPartitionsDefinition,
    FreshnessPolicy, MonthlyPartitionsDefinition, Output,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.assets.finance_report import monthly_revenue_report
from orchestration.resources import ASSET_METADATA_ENV, DBT_PROJECT_DIR, WAREHOUSE_POOL, dbt_cli, dbt_project

# the first day the warehouse models: dbt's var history_start, so partitions and models agree
HISTORY_START = str(yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["history_start"])
DAILY_FACTS = "fct_orders"
MONTHLY_FINANCE = "monthly_revenue"
FINANCE_LEDGER = "period_closes revenue_adjustments"
ORDERS_KEY = AssetKey(["marts", DAILY_FACTS])
MONTHLY_REVENUE_KEY = AssetKey(["finance", MONTHLY_FINANCE])

daily_partitions = DailyPartitionsDefinition(start_date=HISTORY_START, end_offset=1)  # today included
monthly_partitions = MonthlyPartitionsDefinition(start_date=HISTORY_START, end_offset=1)  # current month included

# Freshness: marts and finance are rebuilt by the daily transform (or automation after each load).
MART_FRESHNESS = FreshnessPolicy.time_window(fail_window=timedelta(hours=26), warn_window=timedelta(hours=25))


def ensure_manifest() -> None:
    """Parse the dbt project when its manifest is missing or older than any project file."""
    manifest = dbt_project.manifest_path
    sources = [p for d in ("models", "macros", "seeds", "snapshots", "tests") for p in (DBT_PROJECT_DIR / d).rglob("*")]
    sources += [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    newest = max(p.stat().st_mtime for p in sources if p.is_file())
    if manifest.exists() and manifest.stat().st_mtime >= newest:
        return
    dbt_cli().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()


class DbtBuildConfig(Config):
    close_through_month: str = ""
    """YYYY-MM: close every month up to and including this one (finance month close); empty: the
    automatic close only (close_after_days after a month's end)."""


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """Groups by layer (staging, intermediate, marts, finance, seeds, snapshots); owners from dbt meta;
    freshness on marts and finance; eager automation so models follow their upstream."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec
        schema = props.get("config", {}).get("schema") or props["fqn"][1]
        group = {"seed": "seeds", "snapshot": "snapshots"}.get(props["resource_type"], schema)
        extra: dict[str, Any] = {"group_name": group, "automation_condition": AutomationCondition.eager()}
        if schema in ("marts", "finance") and props["resource_type"] == "model":
            extra["freshness_policy"] = MART_FRESHNESS
        if not spec.description:
            extra["description"] = f"dbt {props['resource_type']} {props['name']} ({props['original_file_path']})"
        return spec.replace_attributes(**extra)


# A run builds one part of the graph (see orchestration/schedules.py): a dbt test runs with it when the
# models it reads are built in this run or upstream of them, never against a model another run builds.
os.environ.setdefault("DBT_INDIRECT_SELECTION", "buildable")

TRANSLATOR = WarehouseDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

ensure_manifest()


PARTITION_ENV = ("SALESDW_PARTITION_START", "SALESDW_PARTITION_END")  # read by the partitioned models


def _partition_range(context: AssetExecutionContext, monthly: bool) -> tuple[str, str]:
    window = context.partition_time_window
    last = window.end.date() - timedelta(days=1)  # the window's end is exclusive
    return window.start.date().isoformat(), (last.replace(day=1) if monthly else last).isoformat()


def _target_path(context: AssetExecutionContext) -> Path:
    """A fresh target directory per invocation, seeded with the last parse state: dbt re-parses only what
    changed (the range travels in env vars, not --vars, which would force a full parse)."""
    path = TARGET_DIR / f"{context.op_execution_context.op.name}-{context.run_id[:8]}"
    path.mkdir(parents=True, exist_ok=True)
    if (TARGET_DIR / PARSE_STATE).exists():
        shutil.copy2(TARGET_DIR / PARSE_STATE, path / PARSE_STATE)
    return path


PARSE_STATE = "partial_parse.msgpack"
TARGET_DIR = DBT_PROJECT_DIR / dbt_project.target_path  # dbt's target folder (the project's `target/`)


def _build(context: AssetExecutionContext, dbt: DbtCliResource, partition: tuple[str, str] | None = None,
           report: bool = False) -> Iterator[Any]:
    if partition:
        context.log.info(f"dbt build of partitions {partition[0]} .. {partition[1]}")
    saved = {k: os.environ.pop(k, None) for k in PARTITION_ENV}
    os.environ.update(dict(zip(PARTITION_ENV, partition or ())))
    target = _target_path(context)
    invocation = dbt.cli(["build"], context=context, target_path=target)
    try:
        # Row counts and column schema/lineage are read through dbt's adapter once dbt has exited
        # (dagster-dbt waits for the process with DuckDB: one writer per file).
        stream = invocation.stream()
        detail = os.environ.get(ASSET_METADATA_ENV, "full")
        if detail in ("full", "counts"):
            stream = stream.fetch_row_counts()
        if detail == "full":
            stream = stream.fetch_column_metadata()
        events = list(stream)
    finally:
        _release_warehouse(invocation.adapter)
        for k, v in saved.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v
    if (target / PARSE_STATE).exists():
        shutil.copy2(target / PARSE_STATE, TARGET_DIR / f"{PARSE_STATE}.tmp")
        os.replace(TARGET_DIR / f"{PARSE_STATE}.tmp", TARGET_DIR / PARSE_STATE)
    finance_view = monthly_revenue_report() if report else {}  # month × channel figures without SQL
    for event in events:
        if finance_view and isinstance(event, Output):
            event = event.with_metadata({**event.metadata, **finance_view})
        yield event


def _release_warehouse(adapter: Any) -> None:
    """Close the in-process dbt adapter's warehouse connection, so the next dbt process can take DuckDB's
    write lock (dbt-duckdb keeps one database instance per process until told otherwise)."""
    if adapter is None:
        return
    adapter.cleanup_connections()
    if adapter.type() == "duckdb":
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        with DuckDBConnectionManager._LOCK:  # noqa: SLF001 - dbt-duckdb has no public close
            if DuckDBConnectionManager._ENV is not None:  # noqa: SLF001
                DuckDBConnectionManager._ENV.close()  # noqa: SLF001
                DuckDBConnectionManager._ENV = None  # noqa: SLF001


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=TRANSLATOR,
    exclude=f"{DAILY_FACTS} {MONTHLY_FINANCE} {FINANCE_LEDGER}",
    pool=WAREHOUSE_POOL,
)
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    yield from _build(context, dbt)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=TRANSLATOR,
    select=FINANCE_LEDGER,
    name="dbt_finance_ledger",
    pool=WAREHOUSE_POOL,
)
def dbt_finance_ledger(context: AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig) -> Iterator[Any]:
    if config.close_through_month:  # the month-close job: close every month through this one
        month = date.fromisoformat(config.close_through_month[:7] + "-01")
        os.environ["SALESDW_CLOSE_THROUGH_MONTH"] = month.isoformat()
        context.log.info(f"closing every month through {month:%Y-%m}")
    yield from _build(context, dbt)


def _partitioned_dbt_assets(select: str, partitions_def: DailyPartitionsDefinition | MonthlyPartitionsDefinition,
                            report: bool = False) -> Any:
    monthly = isinstance(partitions_def, MonthlyPartitionsDefinition)

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        dagster_dbt_translator=TRANSLATOR,
        select=select,
        name=f"dbt_{'finance_monthly' if monthly else 'orders_daily'}",
        partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run(),  # a backfill of a range is one dbt build
        pool=WAREHOUSE_POOL,
    )
    def _assets(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        yield from _build(context, dbt, _partition_range(context, monthly), report=report)

    return _assets


dbt_orders_daily = _partitioned_dbt_assets(DAILY_FACTS, daily_partitions)
dbt_finance_monthly = _partitioned_dbt_assets(MONTHLY_FINANCE, monthly_partitions, report=True)

dbt_asset_defs = [dbt_models, dbt_orders_daily, dbt_finance_ledger, dbt_finance_monthly]
