"""The one Dagster ``Definitions`` of Sales Warehouse."""

from __future__ import annotations

from dagster import Definitions

from orchestration.assets.ingestion import raw_assets
from orchestration.assets.transform import dbt_asset_defs
from orchestration.checks.gx_checks import gx_checks
from orchestration.resources import resources
from orchestration.schedules import automation, jobs, schedules
from orchestration.sensors import sensors

defs = Definitions(
    assets=[*raw_assets, *dbt_asset_defs],
    asset_checks=gx_checks,
    jobs=jobs,
    schedules=schedules,
    sensors=[*sensors, automation],
    resources=resources(),
)
