"""Raw-layer assets: one Dagster asset per dlt resource and per nested table the warehouse reads.

Keys are ``[raw_<source>, <table>]``, exactly dbt's source keys, so the lineage runs raw → staging
unbroken. Each source loads as one step (its nested tables are written in the same dlt load).
"""

from datetime import timedelta
from typing import Any, Iterator

from dagster import (
    AssetExecutionContext, AssetKey, AssetsDefinition, AssetSpec, Config, FreshnessPolicy, MaterializeResult,
    multi_asset,
)
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.contracts import QUARANTINE_TABLE
from ingestion.integrity import remove_replayed_rows
from ingestion.pipelines import (
    SOURCES, describe_source, loader_file_format, make_pipeline, refresh_quarantine_view, warehouse_path,
)
from orchestration.resources import WAREHOUSE_POOL, read_only_warehouse

KINDS = {"dlt", "duckdb"}
# Sources load hourly (salesdw_ingest_hourly): a raw table older than three hours means loads are failing.
RAW_FRESHNESS = FreshnessPolicy.time_window(fail_window=timedelta(hours=3), warn_window=timedelta(hours=2))
OWNERS = ["team:data-engineering"]
ROW_COUNT = "dagster/row_count"  # the table's rows after the load, shown by the UI


class IngestConfig(Config):
    full_refresh: bool = False
    """Drop this source's raw tables and incremental state, then load everything again."""


class RawLayerTranslator(DagsterDltTranslator):
    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        dataset = data.pipeline.dataset_name if data.pipeline else "raw"
        return spec.replace_attributes(
            key=AssetKey([dataset, data.resource.table_name]),  # type: ignore[list-item]
            deps=[],
            group_name=f"ingestion_{dataset.removeprefix('raw_')}",
            description=(data.resource.__doc__ or "").strip()
            or f"{dataset}.{data.resource.table_name}, loaded by dlt from the {data.resource.source_name} API",
            kinds=KINDS,
            owners=OWNERS,
            freshness_policy=RAW_FRESHNESS,
        )


def _new_columns(pipeline: Any) -> list[str]:
    """Columns the last load added to existing tables (harmless drift, absorbed by dlt)."""
    info = pipeline.last_trace.last_load_info
    added = []
    for package in info.load_packages if info else []:
        for table, update in (package.schema_update or {}).items():
            if table.startswith("_dlt") or table == QUARANTINE_TABLE:
                continue
            added += [f"{table}.{column}" for column in update.get("columns", {})]
    return sorted(added) if not info or not info.first_run else []


def table_row_counts(dataset: str) -> dict[str, int]:
    """Rows in each table of a raw dataset after the load (Dagster shows them as the asset's row count)."""
    with read_only_warehouse() as con:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ? and table_type = 'BASE TABLE'",
            [dataset]).fetchall()]
        return {t: con.execute(f'select count(*) from "{dataset}"."{t}"').fetchone()[0] for t in tables}


def _source_assets(key: str) -> AssetsDefinition:
    spec = SOURCES[key]
    translator = RawLayerTranslator()
    resource_specs = build_dlt_asset_specs(dlt_source=describe_source(key), dlt_pipeline=make_pipeline(key),
                                           dagster_dlt_translator=translator)
    nested_specs = [
        AssetSpec(key=AssetKey([spec.dataset, table]), group_name=f"ingestion_{spec.dataset.removeprefix('raw_')}",
                  deps=[AssetKey([spec.dataset, table.split("__")[0]])], kinds=KINDS, owners=OWNERS,
                  freshness_policy=RAW_FRESHNESS,
                  description=f"dlt nested table of {spec.dataset}.{table.rsplit('__', 1)[0]}: "
                              "written in the same load, replaced with its parent row on merge.")
        for table in spec.nested_tables
    ] + [AssetSpec(key=AssetKey([spec.dataset, QUARANTINE_TABLE]), group_name=f"ingestion_{spec.dataset.removeprefix('raw_')}",
                   kinds=KINDS, skippable=True, owners=OWNERS,
                   description=f"Records of {spec.dataset} that broke their contract, with reason and payload "
                               "(also in raw_quarantine.records).")]

    @multi_asset(specs=[*resource_specs, *nested_specs], name=f"ingest_{key}", pool=WAREHOUSE_POOL,
                 can_subset=False, description=f"Load {spec.dataset} with dlt.")
    def _assets(context: AssetExecutionContext, dlt: DagsterDltResource, config: IngestConfig) -> Iterator[Any]:
        # Source and pipeline are built at run time: config, secrets and warehouse path come from the run.
        pipeline = make_pipeline(key)
        results = list(dlt.run(context=context, dlt_source=SOURCES[key].factory(), dlt_pipeline=pipeline,
                               dagster_dlt_translator=translator, loader_file_format=loader_file_format(),
                               refresh="drop_sources" if config.full_refresh else None))
        row_counts = pipeline.last_trace.last_normalize_info.row_counts
        quarantined = row_counts.get(QUARANTINE_TABLE, 0)
        new_columns = _new_columns(pipeline)
        context.log.info(f"{spec.dataset}: rows loaded " + ", ".join(
            f"{t}={n}" for t, n in sorted(row_counts.items()) if not t.startswith("_dlt")))
        if quarantined:
            context.log.warning(f"{spec.dataset}: {quarantined} record(s) quarantined (raw_quarantine.records)")
        if new_columns:
            context.log.info(f"{spec.dataset}: schema drift absorbed, new columns: {', '.join(new_columns)}")
        replayed = remove_replayed_rows(warehouse_path(), spec.dataset)
        if replayed:
            context.log.warning(f"{spec.dataset}: removed rows replayed by a resumed load: {replayed}")
        total_quarantined = refresh_quarantine_view()
        rows = table_row_counts(spec.dataset)
        for result in results:
            yield MaterializeResult(asset_key=result.asset_key, metadata={
                **(result.metadata or {}), "quarantined_in_load": quarantined, "new_columns": new_columns,
                ROW_COUNT: rows.get(result.asset_key.path[-1], 0)})
        for table in spec.nested_tables:
            yield MaterializeResult(asset_key=AssetKey([spec.dataset, table]), metadata={
                "rows_loaded": row_counts.get(table, 0), ROW_COUNT: rows.get(table, 0)})
        if quarantined:
            yield MaterializeResult(asset_key=AssetKey([spec.dataset, QUARANTINE_TABLE]), metadata={
                "rows_loaded": quarantined, "raw_quarantine_total": total_quarantined,
                ROW_COUNT: rows.get(QUARANTINE_TABLE, 0)})

    return _assets


raw_assets = [_source_assets(key) for key in SOURCES]
