"""The one Dagster ``Definitions`` of Sales Warehouse."""

from __future__ import annotations

from dagster import Definitions

from orchestration.assets.ingestion import raw_assets
from orchestration.assets.transform import dbt_models
from orchestration.checks.gx_checks import gx_checks
from orchestration.resources import resources
from orchestration.schedules import main_job, month_close_job, schedules
from orchestration.sensors import sensors

defs = Definitions(
    assets=[*raw_assets, dbt_models],
    asset_checks=gx_checks,
    jobs=[main_job, month_close_job],
    schedules=schedules,
    sensors=sensors,
    resources=resources(),
)
