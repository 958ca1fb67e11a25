"""Jobs and schedules."""

from __future__ import annotations

from dagster import AssetSelection, DefaultScheduleStatus, ScheduleDefinition, define_asset_job

main_job = define_asset_job(
    name="salesdw_main",
    selection=AssetSelection.all(),
    description="Everything: ingest every source (dlt), dbt build (models, seeds, tests), data-quality checks.",
)

hourly_main = ScheduleDefinition(
    name="salesdw_main_hourly",
    job=main_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Hourly refresh of the whole warehouse (turn on in the UI or with `dagster schedule start`).",
)

schedules = [hourly_main]
