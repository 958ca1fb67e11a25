"""The raw layer: one dlt pipeline per source, each loading its own ``raw_*`` dataset of the warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import dlt

from ingestion.contracts import QUARANTINE_TABLE
from ingestion.integrity import remove_replayed_rows
from ingestion.sources.amazon import amazon_source
from ingestion.sources.ebay import ebay_source
from ingestion.sources.fx import fx_source
from ingestion.sources.hubspot import hubspot_source
from ingestion.sources.shopify import shopify_source
from ingestion.warehouse import PROJECT_ROOT, PostgresParams, connect, current_target, warehouse_path

__all__ = ["PROJECT_ROOT", "SOURCES", "make_pipeline", "run_source", "refresh_quarantine_view", "warehouse_path"]

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


SOURCES: dict[str, SourceSpec] = {s.key: s for s in (
    SourceSpec("shopify", "raw_shopify", shopify_source, {"shop_url": "http://unset", "access_token": "unset"},
               ("orders__line_items", "orders__refunds", "orders__refunds__refund_line_items", "products__variants")),
    SourceSpec("crm", "raw_crm", hubspot_source, {"base_url": "http://unset", "access_token": "unset"},
               ("owners__teams", "deals__stage_history", "deals__owner_history", "deals__companies",
                "deals__contacts", "deal_pipelines__stages")),
    SourceSpec("amazon", "raw_amazon", amazon_source, {"endpoint": "http://unset", "token_url": "http://unset",
                                                       "client_id": "unset", "client_secret": "unset",
                                                       "refresh_token": "unset"}, ("orders__order_items",)),
    SourceSpec("ebay", "raw_ebay", ebay_source, {"base_url": "http://unset", "client_id": "unset",
                                                 "client_secret": "unset", "refresh_token": "unset"},
               ("orders__line_items", "orders__payment_summary__refunds")),
    SourceSpec("fx", "raw_fx", fx_source, {"base_url": "http://unset"}),
)}


def loader_file_format() -> str:
    return LOADER_FILE_FORMAT[current_target()]


def _destination(duckdb_path: Path) -> tuple[Any, Path]:
    """The current target's dlt destination, and the folder for the pipelines' local working state."""
    if current_target() == "postgres":
        params = PostgresParams.from_env()
        # local state per database, in the folder of the DuckDB path (the deployment's data folder)
        return (dlt.destinations.postgres(credentials=params.dlt_credentials()),
                duckdb_path.parent / "dlt_pipelines" / f"postgres_{params.host}_{params.port}_{params.database}")
    return dlt.destinations.duckdb(str(duckdb_path)), duckdb_path.parent / "dlt_pipelines"


def make_pipeline(key: str, duckdb_path: Path | None = None) -> dlt.Pipeline:
    path = duckdb_path or warehouse_path()
    destination, pipelines_dir = _destination(path)
    pipelines_dir.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=f"salesdw_{key}",
        destination=destination,
        dataset_name=SOURCES[key].dataset,
        pipelines_dir=str(pipelines_dir),
    )


def describe_source(key: str) -> Any:
    """The source with placeholder config: enough to list its resources (asset definitions)."""
    spec = SOURCES[key]
    return spec.factory(**spec.placeholders)


def run_source(key: str, duckdb_path: Path | None = None) -> Any:
    """Load one source with config from dlt config/secrets/env; returns dlt's LoadInfo."""
    pipeline = make_pipeline(key, duckdb_path)
    info = pipeline.run(SOURCES[key].factory(), loader_file_format=loader_file_format())
    remove_replayed_rows(duckdb_path or warehouse_path(), SOURCES[key].dataset)
    refresh_quarantine_view(duckdb_path)
    return info


def refresh_quarantine_view(duckdb_path: Path | None = None) -> int:
    """``raw_quarantine.records``: every source's quarantined records in one place; returns the count."""
    with connect(duckdb_path, read_only=False) as con:
        present = {r[0] for r in con.rows(
            "select table_schema from information_schema.tables where table_name = ?", [QUARANTINE_TABLE])}
        parts = [f"select cast('{s.key}' as varchar) as source_key, resource, record_id, reason, payload, detected_at, "
                 f"_dlt_load_id as load_id from {s.dataset}.{QUARANTINE_TABLE}"
                 for s in SOURCES.values() if s.dataset in present]
        con.execute("create schema if not exists raw_quarantine")
        body = " union all ".join(parts) or (
            "select cast(null as varchar) as source_key, cast(null as varchar) as resource, "
            "cast(null as varchar) as record_id, cast(null as varchar) as reason, cast(null as varchar) as payload, "
            "cast(null as timestamp with time zone) as detected_at, cast(null as varchar) as load_id where false")
        # the same column types either way: PostgreSQL replaces a view only when they do not change
        con.execute(f"create or replace view raw_quarantine.records as {body}")
        return con.scalar("select count(*) from raw_quarantine.records")
