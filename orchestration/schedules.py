"""Jobs, schedules and the automation sensor.

Dagster runs one partitions definition per run, so the graph runs in three jobs: `salesdw_main`
(ingestion and every unpartitioned model upstream of the orders fact), `salesdw_orders_daily` (the
daily-partitioned orders fact) and `salesdw_revenue` (everything downstream of it, with the monthly
finance partitions). `salesdw run` runs the three in turn; without a person, the hourly ingestion
schedule loads the sources, the daily transform rebuilds the models, and declarative automation
(eager conditions on every dbt asset) carries each change downstream.
"""

from __future__ import annotations

from datetime import timedelta

from dagster import (
    AssetKey,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from ingestion.pipelines import SOURCES
from orchestration.assets.transform import ORDERS_KEY, monthly_partitions

MAIN_JOB = "salesdw_main"
ORDERS_JOB = "salesdw_orders_daily"
REVENUE_JOB = "salesdw_revenue"
INGEST_JOB = "salesdw_ingest"
TRANSFORM_JOB = "salesdw_transform"

RAW = AssetSelection.key_prefixes(*([spec.dataset] for spec in SOURCES.values()))
ORDERS = AssetSelection.assets(ORDERS_KEY)
# dbt relationship tests read two models; each runs in the dbt build that builds one and follows the
# other: fct_refunds → fct_orders and fct_order_lines → dim_product / dim_customer in the revenue run.
LATE = (
    ORDERS | AssetSelection.assets(*(AssetKey(["marts", m]) for m in ("fct_refunds", "dim_product", "dim_customer")))
).downstream()
ORDERS_RUN = ORDERS
AFTER_ORDERS = LATE - ORDERS_RUN - AssetSelection.key_prefixes(["reports"])  # the report: after the close


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """Tags of one run over a range of partitions (the partitioned assets have a single-run backfill policy)."""
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


main_job = define_asset_job(
    name=MAIN_JOB,
    selection=AssetSelection.all() - LATE,
    description="Ingest every source (dlt, blocking GX checks), then dbt build of every unpartitioned model, "
    "seed and snapshot upstream of the orders fact, with their tests. First of the three runs of `salesdw run`.",
)
ingest_job = define_asset_job(
    name=INGEST_JOB,
    selection=RAW,
    description="Ingest every source with dlt (incremental), with the raw-layer GX checks.",
)
transform_job = define_asset_job(
    name=TRANSFORM_JOB,
    selection=AssetSelection.all() - LATE - RAW,
    description="dbt build of the unpartitioned models upstream of the orders fact; automation carries on downstream.",
)
orders_job = define_asset_job(
    name=ORDERS_JOB,
    selection=ORDERS_RUN,
    description="marts.fct_orders for a range of daily partitions (UTC days of order changes).",
)
revenue_job = define_asset_job(
    name=REVENUE_JOB,
    selection=AFTER_ORDERS,
    description="Everything downstream of the orders fact (and of the models its tests read: refunds, customers, "
    "products): order lines, daily channel revenue, the finance ledger and finance.monthly_revenue for a "
    "range of monthly partitions, with the reconciliation checks.",
)
month_close_job = define_asset_job(
    name="finance_month_close",
    selection=AFTER_ORDERS,
    description="Close the finance months through `close_through_month` (dbt_finance_ledger config): their published "
    "figures freeze; later source changes become revenue adjustments in the open month.",
)

hourly_ingest = ScheduleDefinition(
    name="salesdw_ingest_hourly",
    job=ingest_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Hourly incremental load of every source (turn on in the UI or with `dagster schedule start`).",
)

daily_transform = ScheduleDefinition(
    name="salesdw_transform_daily",
    job=transform_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Daily dbt build at 03:00 UTC; the automation sensor then rebuilds the orders fact's latest "
    "partition, the marts downstream and the current finance month.",
)


def all_months_tags() -> dict[str, str]:
    """One run over every monthly partition (the finance months from history_start to the current one)."""
    return partition_range_tags(
        monthly_partitions.get_first_partition_key(), monthly_partitions.get_last_partition_key()
    )


@schedule(
    job=month_close_job,
    cron_schedule="0 6 6 * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description="On the 6th of each month, close the previous month.",
)
def monthly_close(context: ScheduleEvaluationContext) -> RunRequest:
    previous = (context.scheduled_execution_time.date().replace(day=1) - timedelta(days=1)).replace(day=1)
    return RunRequest(
        run_key=f"close-{previous:%Y-%m}",
        tags=all_months_tags(),
        run_config={"ops": {"dbt_finance_ledger": {"config": {"close_through_month": f"{previous:%Y-%m}"}}}},
    )


automation = AutomationConditionSensorDefinition(
    "salesdw_automation",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.STOPPED,
    minimum_interval_seconds=60,
    description="Declarative automation: materializes a dbt asset (its latest partition) when its upstream changed.",
)

jobs = [main_job, ingest_job, transform_job, orders_job, revenue_job, month_close_job]
schedules = [hourly_ingest, daily_transform, monthly_close]
