"""Raw-layer assets: one Dagster asset per dlt resource and per nested table the warehouse reads.

Keys are ``[raw_<source>, <table>]``, exactly dbt's source keys, so the lineage runs raw → staging
unbroken. Each source loads as one step (its nested tables are written in the same dlt load).
"""

import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Config,
    FreshnessPolicy,
    MaterializeResult,
    multi_asset,
)
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.contracts import QUARANTINE_TABLE
from ingestion.pipelines import SOURCES, describe_source, load, make_pipeline
from orchestration.resources import WAREHOUSE_POOL

KINDS = {"dlt", "duckdb"}
# Sources load hourly (salesdw_ingest_hourly): a raw table older than three hours means loads are failing.
RAW_FRESHNESS = FreshnessPolicy.time_window(fail_window=timedelta(hours=3), warn_window=timedelta(hours=2))
OWNERS = ["team:data-engineering"]
ROW_COUNT = "dagster/row_count"  # the table's rows after the load, shown by the UI
DLT_SECONDS = "dlt_seconds"  # the source's load by dlt phase (extract, or extract ahead and the wait; normalize; load)


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


def _source_assets(key: str) -> AssetsDefinition:
    spec = SOURCES[key]
    translator = RawLayerTranslator()
    # a pipeline only to name the specs' dataset and destination: its state in a folder of this process's own (two
    # processes loading the definitions at once, e.g. the UI and `salesdw run`, raced on the real one's state file)
    with tempfile.TemporaryDirectory(prefix="salesdw-describe-") as scratch:
        resource_specs = build_dlt_asset_specs(
            dlt_source=describe_source(key),
            dlt_pipeline=make_pipeline(key, pipelines_dir=Path(scratch)),
            dagster_dlt_translator=translator,
        )
    nested_specs = [
        AssetSpec(
            key=AssetKey([spec.dataset, table]),
            group_name=f"ingestion_{spec.dataset.removeprefix('raw_')}",
            deps=[AssetKey([spec.dataset, parent])],
            kinds=KINDS,
            owners=OWNERS,
            freshness_policy=RAW_FRESHNESS,
            description=f"dlt nested table of {spec.dataset}.{table.rsplit('__', 1)[0]}: "
            "written in the same load, replaced with its parent row on merge."
            if "__" in table
            else f"A second table the {spec.dataset}.{parent} resource writes in the same load.",
        )
        for table, parent in ((t, spec.variant_of.get(t, t.split("__")[0])) for t in spec.nested_tables)
    ] + [
        AssetSpec(
            key=AssetKey([spec.dataset, QUARANTINE_TABLE]),
            group_name=f"ingestion_{spec.dataset.removeprefix('raw_')}",
            kinds=KINDS,
            skippable=True,
            owners=OWNERS,
            description=f"Records of {spec.dataset} that broke their contract, with reason and payload "
            "(also in raw_quarantine.records).",
        )
    ]

    @multi_asset(
        specs=[*resource_specs, *nested_specs],
        name=f"ingest_{key}",
        pool=WAREHOUSE_POOL,
        can_subset=False,
        description=f"Load {spec.dataset} with dlt.",
    )
    def _assets(context: AssetExecutionContext, dlt: DagsterDltResource, config: IngestConfig) -> Iterator[Any]:
        # Source and pipeline are built at run time: config, secrets and warehouse path come from the run.
        source = spec.factory()
        result = load(key, full_refresh=config.full_refresh, source=source, logger=context.log)
        for resource in source.selected_resources.values():
            asset_key = translator.get_asset_spec(
                DltResourceTranslatorData(resource=resource, pipeline=result.pipeline)
            ).key
            metadata = dlt.extract_resource_metadata(context, resource, result.info, result.pipeline)
            yield MaterializeResult(
                asset_key=asset_key,
                metadata={
                    **metadata,
                    "quarantined_in_load": result.quarantined,
                    "new_columns": result.new_columns,
                    DLT_SECONDS: result.seconds,
                    ROW_COUNT: result.table_rows.get(asset_key.path[-1], 0),
                },
            )
        for table in spec.nested_tables:
            yield MaterializeResult(
                asset_key=AssetKey([spec.dataset, table]),
                metadata={"rows_loaded": result.rows_loaded.get(table, 0), ROW_COUNT: result.table_rows.get(table, 0)},
            )
        if result.quarantined:
            yield MaterializeResult(
                asset_key=AssetKey([spec.dataset, QUARANTINE_TABLE]),
                metadata={
                    "rows_loaded": result.quarantined,
                    "raw_quarantine_total": result.quarantine_total,
                    ROW_COUNT: result.table_rows.get(QUARANTINE_TABLE, 0),
                },
            )

    return _assets


def raw_assets() -> list[AssetsDefinition]:
    """One multi-asset per source (built when the definitions load, not at import)."""
    return [_source_assets(key) for key in SOURCES]
