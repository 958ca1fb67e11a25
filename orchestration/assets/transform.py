"""dbt models, seeds and tests as Dagster assets and asset checks, grouped by warehouse layer."""


import os
from collections.abc import Mapping
from datetime import date
from typing import Any, Iterator

from dagster import AssetExecutionContext, AssetSpec, Config
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.resources import DBT_PROJECT_DIR, WAREHOUSE_POOL, dbt_cli, dbt_project


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
    """Groups by layer (staging, intermediate, marts, finance, seeds)."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec
        group = "seeds" if props["resource_type"] == "seed" else props.get("config", {}).get("schema") or props["fqn"][1]
        return spec.replace_attributes(group_name=group)


ensure_manifest()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=WarehouseDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    pool=WAREHOUSE_POOL,
)
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig) -> Iterator[Any]:
    if config.close_through_month:  # the month-close job: close every month through this one
        month = date.fromisoformat(config.close_through_month[:7] + "-01")
        os.environ["SALESDW_CLOSE_THROUGH_MONTH"] = month.isoformat()
        context.log.info(f"closing every month through {month:%Y-%m}")
    yield from dbt.cli(["build"], context=context).stream()
