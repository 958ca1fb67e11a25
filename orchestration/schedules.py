"""Jobs and schedules."""

from __future__ import annotations

from datetime import timedelta

from dagster import (
    AssetSelection, DefaultScheduleStatus, RunRequest, ScheduleDefinition, ScheduleEvaluationContext,
    define_asset_job, schedule,
)

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

month_close_job = define_asset_job(
    name="finance_month_close",
    selection=AssetSelection.groups("seeds", "staging", "intermediate", "marts", "finance"),  # no re-ingest
    description="Close the finance months through `close_through_month` (dbt_models config): their published "
                "figures freeze; later source changes become revenue adjustments in the open month.",
)


@schedule(job=month_close_job, cron_schedule="0 6 6 * *", execution_timezone="UTC",
          default_status=DefaultScheduleStatus.STOPPED,
          description="On the 6th of each month, close the previous month.")
def monthly_close(context: ScheduleEvaluationContext) -> RunRequest:
    previous = (context.scheduled_execution_time.date().replace(day=1) - timedelta(days=1)).replace(day=1)
    return RunRequest(run_key=f"close-{previous:%Y-%m}", run_config={
        "ops": {"dbt_models": {"config": {"close_through_month": f"{previous:%Y-%m}"}}}})


schedules = [hourly_main, monthly_close]
