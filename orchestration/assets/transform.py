"""dbt models, seeds, snapshots and tests as Dagster assets and asset checks, grouped by warehouse layer.

Five dbt asset definitions share one translator (each is one step, so checks can sit between them):
- ``dbt_models``: everything unpartitioned except the finance ledger;
- ``dbt_orders_daily``: ``marts.fct_orders``, the incremental fact, in daily partitions (a partition is a
  UTC day of order changes: building it re-reads the orders changed that day, with the lookback);
- ``dbt_finance_ledger``: ``finance.period_closes`` and ``finance.revenue_adjustments`` (unpartitioned,
  append-only), built only after the blocking reconciliation check on ``marts.channel_revenue_daily``;
- ``dbt_finance_monthly``: ``finance.monthly_revenue`` in monthly partitions (a partition is a revenue
  month; a backfill of a range rebuilds exactly those months);
- ``dbt_planning``: the models tagged ``planning`` (plan vs actual, forecasts, the backtest), which read
  finance.monthly_revenue and the forecast asset, so they build after both (unpartitioned).
Partitioned builds pass the range to dbt (``partition_start``, ``partition_end``) and the month close its
month (``close_through_month``) as environment variables of the dbt process: ``dbt_run_env`` builds them. Nothing here
runs at import: ``dbt_asset_defs()`` prepares the manifest (``dbt parse`` when stale) when the
definitions load.
"""

import hashlib
import os
import shutil
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    AutomationCondition,
    BackfillPolicy,
    Config,
    DailyPartitionsDefinition,
    FreshnessPolicy,
    MonthlyPartitionsDefinition,
    Output,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from core.environment import environment
from core.settings import settings
from core.warehouse import PostgresParams, current_target, warehouse_path
from orchestration.assets.dbt_metadata import attach_metadata
from orchestration.assets.finance_report import monthly_revenue_report
from orchestration.resources import DBT_PROJECT_DIR, WAREHOUSE_POOL, dbt_cli, dbt_project

# the first day the warehouse models: dbt's var history_start, so partitions and models agree
HISTORY_START = str(yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["history_start"])
DAILY_FACTS = "fct_orders"
MONTHLY_FINANCE = "monthly_revenue"
FINANCE_LEDGER = "period_closes revenue_adjustments"
PLANNING = "tag:planning"
ORDERS_KEY = AssetKey(["marts", DAILY_FACTS])
MONTHLY_REVENUE_KEY = AssetKey(["finance", MONTHLY_FINANCE])

daily_partitions = DailyPartitionsDefinition(start_date=HISTORY_START, end_offset=1)  # today included
monthly_partitions = MonthlyPartitionsDefinition(start_date=HISTORY_START, end_offset=1)  # current month included

# Freshness: marts and finance are rebuilt by the daily transform (or automation after each load).
MART_FRESHNESS = FreshnessPolicy.time_window(fail_window=timedelta(hours=26), warn_window=timedelta(hours=25))


def warehouse_identity() -> str:
    """The database a manifest names its relations in: the target and its database (DuckDB: the file's stem).
    A manifest parsed for another one sends the row counts' queries to a database that is not there."""
    if current_target() == "postgres":
        pg = PostgresParams.from_env()
        return f"postgres:{pg.host}:{pg.port}/{pg.database}"
    return f"duckdb:{warehouse_path().stem}"


def prepare_manifest() -> None:
    """Parse the dbt project when its manifest is missing, older than any project file, or parsed for another
    warehouse (``manifest.warehouse`` beside it says which)."""
    manifest = dbt_project.manifest_path
    stamp = manifest.with_name("manifest.warehouse")
    sources = [p for d in ("models", "macros", "seeds", "snapshots", "tests") for p in (DBT_PROJECT_DIR / d).rglob("*")]
    sources += [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    newest = max(p.stat().st_mtime for p in sources if p.is_file())
    identity = warehouse_identity()
    fresh = manifest.exists() and manifest.stat().st_mtime >= newest
    if fresh and stamp.exists() and stamp.read_text() == identity:
        return
    dbt_cli().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
    stamp.write_text(identity)


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


TRANSLATOR = WarehouseDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
PARSE_STATE = "partial_parse.msgpack"
TARGET_DIR = DBT_PROJECT_DIR / dbt_project.target_path  # dbt's target folder (the project's `target/`)


def month_start(month: str) -> str:
    """``YYYY-MM`` (or any ISO date in the month) as the month's first day."""
    return date.fromisoformat(month[:7] + "-01").isoformat()


RUN_ENV_PREFIX = "DBT_SALESDW_"  # macros/run_vars.sql reads the run's partition range and month close from these


def dbt_run_env(partition: tuple[str, str] | None = None, close_through_month: str | None = None) -> dict[str, str]:
    """The environment of one ``dbt build``: the partition range (first and last day, inclusive) and the month to
    close through, which the partitioned models and the finance ledger read (macros/run_vars.sql). Environment
    variables, not ``--vars``: a change of vars makes dbt parse the whole project again, a changed environment
    variable only the files that read it. Every name is set ('' = unset), so nothing leaks from a caller."""
    env = {f"{RUN_ENV_PREFIX}{name}": "" for name in ("PARTITION_START", "PARTITION_END", "CLOSE_THROUGH_MONTH")}
    if partition:
        first, last = partition
        if date.fromisoformat(first) > date.fromisoformat(last):
            raise ValueError(f"partition range {first} .. {last} is empty")
        env.update({f"{RUN_ENV_PREFIX}PARTITION_START": first, f"{RUN_ENV_PREFIX}PARTITION_END": last})
    if close_through_month:
        env[f"{RUN_ENV_PREFIX}CLOSE_THROUGH_MONTH"] = month_start(close_through_month)
    return env


def partition_range(start: date, end: date, monthly: bool) -> tuple[str, str]:
    """A partition time window [start, end) as the first and last partition key dbt filters on (the last day,
    or for monthly partitions the last month's first day)."""
    last = end - timedelta(days=1)  # the window's end is exclusive
    return start.isoformat(), (last.replace(day=1) if monthly else last).isoformat()


def _parse_state(args: list[str]) -> Path:
    """The saved partial-parse state for builds with these arguments (dbt parses in full when its flags or
    vars differ from the state's; the run's partitions travel in the environment, so every build shares one)."""
    key = hashlib.sha256(" ".join(args).encode()).hexdigest()[:12]
    return TARGET_DIR / f"{PARSE_STATE}.{key}"


def _target_path(context: AssetExecutionContext, saved_state: Path) -> Path:
    """A fresh target directory per invocation, seeded with the last parse state for its vars."""
    path = TARGET_DIR / f"{context.op_execution_context.op.name}-{context.run_id[:8]}"
    path.mkdir(parents=True, exist_ok=True)
    if saved_state.exists():
        shutil.copy2(saved_state, path / PARSE_STATE)
    return path


def _build(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    partition: tuple[str, str] | None = None,
    close_through_month: str | None = None,
    report: bool = False,
) -> Iterator[Any]:
    if partition:
        context.log.info(f"dbt build of partitions {partition[0]} .. {partition[1]}")
    args = ["build"]
    saved_state = _parse_state(args)
    target = _target_path(context, saved_state)
    run_env = dbt_run_env(partition, close_through_month)
    with environment(run_env):  # dagster-dbt copies the environment when dbt starts
        invocation = dbt.cli(args, context=context, target_path=target)
    try:
        # Row counts and column schema/lineage are read through dbt's adapter once dbt has exited (DuckDB: one writer
        # per file), in bulk (dbt_metadata.py).
        events = list(
            attach_metadata(
                list(invocation.stream()),
                invocation.adapter,
                invocation.manifest,
                TRANSLATOR,
                target,
                TARGET_DIR,
                settings().dbt_asset_metadata,
            )
        )
    finally:
        _release_warehouse(invocation.adapter)
    if (target / PARSE_STATE).exists():
        staged = saved_state.with_name(saved_state.name + ".tmp")
        shutil.copy2(target / PARSE_STATE, staged)
        os.replace(staged, saved_state)
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

        with DuckDBConnectionManager._LOCK:
            if DuckDBConnectionManager._ENV is not None:
                DuckDBConnectionManager._ENV.close()
                DuckDBConnectionManager._ENV = None


def dbt_asset_defs() -> list[Any]:
    """The five dbt asset definitions, from a manifest prepared now (``dbt parse`` when it is stale)."""
    prepare_manifest()

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        dagster_dbt_translator=TRANSLATOR,
        exclude=f"{DAILY_FACTS} {MONTHLY_FINANCE} {FINANCE_LEDGER} {PLANNING}",
        pool=WAREHOUSE_POOL,
    )
    def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        yield from _build(context, dbt)

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        dagster_dbt_translator=TRANSLATOR,
        select=PLANNING,
        name="dbt_planning",
        pool=WAREHOUSE_POOL,
    )
    def dbt_planning(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        yield from _build(context, dbt)

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        dagster_dbt_translator=TRANSLATOR,
        select=FINANCE_LEDGER,
        name="dbt_finance_ledger",
        pool=WAREHOUSE_POOL,
    )
    def dbt_finance_ledger(
        context: AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig
    ) -> Iterator[Any]:
        if config.close_through_month:  # the month-close job: close every month through this one
            context.log.info(f"closing every month through {config.close_through_month[:7]}")
        yield from _build(context, dbt, close_through_month=config.close_through_month or None)

    def partitioned(
        select: str, partitions_def: DailyPartitionsDefinition | MonthlyPartitionsDefinition, report: bool = False
    ) -> Any:
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
            window = context.partition_time_window
            yield from _build(
                context, dbt, partition_range(window.start.date(), window.end.date(), monthly), report=report
            )

        return _assets

    return [
        dbt_models,
        partitioned(DAILY_FACTS, daily_partitions),
        dbt_finance_ledger,
        partitioned(MONTHLY_FINANCE, monthly_partitions, report=True),
        dbt_planning,
    ]
