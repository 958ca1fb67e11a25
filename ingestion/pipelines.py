"""The raw layer: one dlt pipeline per source, each loading its own ``raw_*`` dataset of the warehouse.

``load(key)`` is the one way a source is loaded (the Dagster asset, the tests and the benchmarks call it):
the dlt run (optionally a full refresh: the source's tables and cursors dropped first), then the replay
guard, then the union of every source's quarantine, and a ``LoadResult`` that says what happened.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import dlt
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from core.settings import settings
from core.warehouse import PostgresParams, connect, current_target, warehouse_path
from ingestion.contracts import QUARANTINE_TABLE
from ingestion.extract_ahead import extracted_ahead
from ingestion.integrity import remove_replayed_rows
from ingestion.sources import (
    amazon,
    amazon_ads,
    ebay,
    fx,
    google_ads,
    google_analytics,
    google_sheets,
    hubspot,
    meta_ads,
    shopify,
)

__all__ = ["SOURCES", "LoadResult", "load", "make_pipeline", "refresh_quarantine_view"]

log = logging.getLogger("salesdw.ingestion")

# The fastest loader file format each target supports: DuckDB reads parquet; PostgreSQL loads csv with COPY.
LOADER_FILE_FORMAT = {"duckdb": "parquet", "postgres": "csv"}


@dataclass(frozen=True)
class SourceSpec:
    key: str
    dataset: str
    factory: Callable[..., Any]
    # placeholder arguments that let a source be built to describe its resources, before config exists
    placeholders: dict[str, Any]
    # dlt nested tables (child tables of a resource's table) that the warehouse reads
    nested_tables: tuple[str, ...] = ()
    # tables among nested_tables that a resource writes as a table of its own (dlt table variants) -> that
    # resource's table
    variant_of: dict[str, str] = field(default_factory=dict)
    # dlt's normalize processes (more than one: files normalized in parallel) and the rows per extracted file (so a
    # big load has several files to share out); the defaults suit the small sources
    normalize_workers: int = 1
    file_max_items: int | None = None
    # extracted ahead in a process of its own (extract_ahead.py), not after the other sources in a shared one
    extract_alone: bool = False


SOURCES: dict[str, SourceSpec] = {
    s.key: s
    for s in (
        SourceSpec(
            "shopify",
            "raw_shopify",
            shopify.shopify_source,
            {"shop_url": "http://unset", "access_token": "unset"},
            shopify.NESTED_TABLES,
            normalize_workers=2,  # a full load is ~0.4M rows at scale 1: two processes normalize it
            file_max_items=50_000,
            extract_alone=True,  # its bulk exports take the server longest: extracted beside the others
        ),
        SourceSpec(
            "crm",
            "raw_crm",
            hubspot.hubspot_source,
            {"base_url": "http://unset", "access_token": "unset"},
            hubspot.NESTED_TABLES,
        ),
        SourceSpec(
            "amazon",
            "raw_amazon",
            amazon.amazon_source,
            {
                "endpoint": "http://unset",
                "token_url": "http://unset",
                "client_id": "unset",
                "client_secret": "unset",
                "refresh_token": "unset",
            },
            amazon.NESTED_TABLES,
            variant_of={"settlements": "settlement_lines"},
        ),
        SourceSpec(
            "ebay",
            "raw_ebay",
            ebay.ebay_source,
            {"base_url": "http://unset", "client_id": "unset", "client_secret": "unset", "refresh_token": "unset"},
            ebay.NESTED_TABLES,
        ),
        SourceSpec("fx", "raw_fx", fx.fx_source, {"base_url": "http://unset"}),
        SourceSpec(
            "plan",
            "raw_plan",
            google_sheets.plan_source,
            {"spreadsheet_id": "unset", "access_token": "unset", "api_key": None},
        ),
        SourceSpec(
            "google_analytics",
            "raw_ga4",
            google_analytics.google_analytics_source,
            {"property_id": "0", "access_token": "unset"},
        ),
        SourceSpec(
            "meta_ads",
            "raw_meta",
            meta_ads.meta_ads_source,
            {"access_token": "unset", "ad_account_ids": ["unset"], "base_url": "http://unset"},
            meta_ads.NESTED_TABLES,
        ),
        SourceSpec(
            "amazon_ads",
            "raw_amazon_ads",
            amazon_ads.amazon_ads_source,
            {"client_id": "unset", "client_secret": "unset", "refresh_token": "unset"},
            amazon_ads.NESTED_TABLES,
        ),
        SourceSpec(
            "google_ads",
            "raw_google_ads",
            google_ads.google_ads_source,
            {
                "developer_token": "unset",
                "client_id": "unset",
                "client_secret": "unset",
                "refresh_token": "unset",
                "customer_ids": ["0000000000"],
                "base_url": "http://unset",
                "token_url": "http://unset",
            },
            google_ads.NESTED_TABLES,
        ),
    )
}


def loader_file_format() -> str:
    return LOADER_FILE_FORMAT[current_target()]


def _destination(duckdb_path: Path) -> tuple[Any, Path]:
    """The current target's dlt destination, and the folder for the pipelines' local working state."""
    if current_target() == "postgres":
        params = PostgresParams.from_env()
        # local state per database, in the folder of the DuckDB path (the deployment's data folder)
        return (
            dlt.destinations.postgres(credentials=params.dlt_credentials()),
            duckdb_path.parent / "dlt_pipelines" / f"postgres_{params.host}_{params.port}_{params.database}",
        )
    # a load's merges run in DuckDB inside this process: capped, they spill to disk instead of growing with the data
    credentials = DuckDbCredentials(str(duckdb_path), global_config={"memory_limit": settings().load_memory_limit})
    return dlt.destinations.duckdb(credentials), duckdb_path.parent / "dlt_pipelines"


def pipeline_name(key: str) -> str:
    return f"salesdw_{key}"


def make_pipeline(key: str, duckdb_path: Path | None = None, pipelines_dir: Path | None = None) -> dlt.Pipeline:
    """The source's pipeline; ``pipelines_dir`` overrides where its local state lives (describing a source's assets
    uses a folder of its own, so processes loading definitions at once never write the same state file)."""
    path = duckdb_path or warehouse_path()
    destination, default_dir = _destination(path)
    pipelines_dir = pipelines_dir or default_dir
    pipelines_dir.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=pipeline_name(key),
        destination=destination,
        dataset_name=SOURCES[key].dataset,
        pipelines_dir=str(pipelines_dir),
    )


def describe_source(key: str) -> Any:
    """The source with placeholder config: enough to list its resources (asset definitions)."""
    spec = SOURCES[key]
    return spec.factory(**spec.placeholders)


class Logger(Protocol):
    def info(self, msg: str) -> Any: ...
    def warning(self, msg: str) -> Any: ...


@dataclass(frozen=True)
class LoadResult:
    """What one load did: dlt's ``LoadInfo``, rows normalized per table, records quarantined in this load,
    columns it added (drift), rows the replay guard removed, the quarantine's total and every table's rows."""

    key: str
    dataset: str
    info: Any  # dlt LoadInfo
    pipeline: dlt.Pipeline
    rows_loaded: dict[str, int]
    quarantined: int
    new_columns: list[str]
    replayed: dict[str, int]
    quarantine_total: int
    table_rows: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)  # dlt's extract / normalize / load (and the wait ahead)

    @property
    def load_ids(self) -> list[str]:
        return list(self.info.loads_ids) if self.info is not None else []


def _new_columns(pipeline: dlt.Pipeline) -> list[str]:
    """Columns the last load added to existing tables (harmless drift, absorbed by dlt)."""
    info = pipeline.last_trace.last_load_info
    added = []
    for package in info.load_packages if info else []:
        for table, update in (package.schema_update or {}).items():
            if table.startswith("_dlt") or table == QUARANTINE_TABLE:
                continue
            added += [f"{table}.{column}" for column in update.get("columns", {})]
    return sorted(added) if not info or not info.first_run else []


def table_row_counts(dataset: str, duckdb_path: Path | None = None) -> dict[str, int]:
    """Rows in each table of a raw dataset (Dagster shows them as the assets' row counts)."""
    with connect(duckdb_path, read_only=True) as con:
        tables = [
            t
            for (t,) in con.rows(
                "select table_name from information_schema.tables where table_schema = ? and table_type = 'BASE TABLE'",
                [dataset],
            )
        ]
        return {t: con.scalar(f'select count(*) from "{dataset}"."{t}"') for t in tables}


def configure_load(spec: SourceSpec) -> None:
    """dlt's settings for one source's load (never at import): its normalize processes, and the rows per file it
    writes, scoped to its pipeline (``<pipeline>.data_writer``), so sources extracted side by side never share
    one value."""
    dlt.config["normalize.workers"] = spec.normalize_workers
    dlt.config[f"{pipeline_name(spec.key)}.data_writer.file_max_items"] = spec.file_max_items


def load(
    key: str, full_refresh: bool = False, duckdb_path: Path | None = None, source: Any = None, logger: Logger = log
) -> LoadResult:
    """Load one source with its config from dlt config/secrets/env (or the ``source`` given) into the current
    target; ``full_refresh`` drops the source's tables and incremental state first and reloads everything."""
    spec = SOURCES[key]
    configure_load(spec)
    ahead = extracted_ahead(key, full_refresh, logger)  # extracted by the extract-ahead process (extract_ahead.py)
    pipeline = make_pipeline(key, duckdb_path)  # made after that wait: the state as the extract left it
    if ahead is not None:
        seconds = dict(ahead)
        started = time.monotonic()
        normalized = pipeline.normalize()  # the loader file format was chosen by the extract
        seconds["normalize"], started = time.monotonic() - started, time.monotonic()
        info = pipeline.load()
        seconds["load"] = time.monotonic() - started
    else:
        info = pipeline.run(
            source if source is not None else spec.factory(),
            loader_file_format=loader_file_format(),
            refresh="drop_sources" if full_refresh else None,
        )
        # a run that finishes a killed run's pending packages loads them without extracting or normalizing anew:
        # it has no normalize step, and its rows were counted by the run that normalized them
        normalized = pipeline.last_trace.last_normalize_info
        seconds = {
            step.step: (step.finished_at - step.started_at).total_seconds()
            for step in pipeline.last_trace.steps
            if step.step in ("extract", "normalize", "load") and step.finished_at
        }
    rows_loaded = {t: n for t, n in (normalized.row_counts if normalized else {}).items() if not t.startswith("_dlt")}
    quarantined = rows_loaded.get(QUARANTINE_TABLE, 0)
    new_columns = _new_columns(pipeline)
    logger.info(f"{spec.dataset}: rows loaded " + ", ".join(f"{t}={n}" for t, n in sorted(rows_loaded.items())))
    if quarantined:
        logger.warning(f"{spec.dataset}: {quarantined} record(s) quarantined (raw_quarantine.records)")
    if new_columns:
        logger.info(f"{spec.dataset}: schema drift absorbed, new columns: {', '.join(new_columns)}")
    replayed = remove_replayed_rows(duckdb_path or warehouse_path(), spec.dataset)
    if replayed:
        logger.warning(f"{spec.dataset}: removed rows replayed by a resumed load: {replayed}")
    total = refresh_quarantine_view(duckdb_path)
    return LoadResult(
        key,
        spec.dataset,
        info,
        pipeline,
        rows_loaded,
        quarantined,
        new_columns,
        replayed,
        total,
        table_row_counts(spec.dataset, duckdb_path),
        {phase: round(t, 3) for phase, t in seconds.items()},
    )


def refresh_quarantine_view(duckdb_path: Path | None = None) -> int:
    """``raw_quarantine.records``: every source's quarantined records in one place; returns the count."""
    with connect(duckdb_path, read_only=False) as con:
        present = {
            r[0]
            for r in con.rows(
                "select table_schema from information_schema.tables where table_name = ?", [QUARANTINE_TABLE]
            )
        }
        parts = [
            f"select cast('{s.key}' as varchar) as source_key, resource, record_id, reason, payload, detected_at, "
            f"_dlt_load_id as load_id from {s.dataset}.{QUARANTINE_TABLE}"
            for s in SOURCES.values()
            if s.dataset in present
        ]
        con.execute("create schema if not exists raw_quarantine")
        body = " union all ".join(parts) or (
            "select cast(null as varchar) as source_key, cast(null as varchar) as resource, "
            "cast(null as varchar) as record_id, cast(null as varchar) as reason, cast(null as varchar) as payload, "
            "cast(null as timestamp with time zone) as detected_at, cast(null as varchar) as load_id where false"
        )
        # the same column types either way: PostgreSQL replaces a view only when they do not change
        con.execute(f"create or replace view raw_quarantine.records as {body}")
        return con.scalar("select count(*) from raw_quarantine.records")
