"""The monthly sales report (report/) as a monthly-partitioned asset, materialized after the month close.

It reads only the public marts and finance tables (a reader's connection) and the latest asset check
results from the Dagster instance running it; it writes report_YYYY-MM.html / .pdf next to the warehouse
(data/reports). It is in no main / revenue / close job (orchestration/schedules.py leaves the `reports`
prefix out): `monthly_report_after_close` requests its month's partition when `finance_month_close`
succeeds, and `salesdw report` builds the same files by hand.
"""

from datetime import date

from dagster import (
    AssetExecutionContext,
    AssetKey,
    DagsterRunStatus,
    DefaultSensorStatus,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    RunStatusSensorContext,
    asset,
    define_asset_job,
    run_status_sensor,
)

from orchestration.assets.transform import monthly_partitions
from orchestration.resources import WAREHOUSE_POOL, read_only_warehouse

REPORT_KEY = AssetKey(["reports", "monthly_sales_report"])


@asset(
    key=REPORT_KEY,
    partitions_def=monthly_partitions,
    deps=[AssetKey(["finance", "monthly_revenue"]), AssetKey(["finance", "period_closes"])],
    group_name="reports",
    owners=["team:sales-ops", "team:data-engineering"],
    pool=WAREHOUSE_POOL,
    description="The month's sales report for management: self-contained HTML and PDF (report/).",
)
def monthly_sales_report(context: AssetExecutionContext) -> MaterializeResult:
    from core.warehouse import warehouse_path
    from report.build import write_report
    from report.data import check_status_from_instance

    month = date.fromisoformat(context.partition_key)
    checks = check_status_from_instance(context.instance)
    with read_only_warehouse() as con:
        data, files = write_report(con, month, warehouse_path().parent / "reports", checks=checks)
    net = data.figure("Net revenue").value
    return MaterializeResult(
        metadata={
            "files": MetadataValue.json([str(f) for f in files]),
            "provisional": data.provisional,
            "failing_checks": len(checks.failed) if checks else -1,
            "net_revenue_usd": MetadataValue.text(f"{net:,.2f}" if net is not None else "not available"),
        }
    )


monthly_report_job = define_asset_job("monthly_sales_report", selection=[REPORT_KEY], partitions_def=monthly_partitions)


def _closed_month(context: RunStatusSensorContext) -> str | None:
    config = context.dagster_run.run_config.get("ops", {}).get("dbt_finance_ledger", {}).get("config", {})
    month = config.get("close_through_month")
    return f"{month}-01" if month else None


@run_status_sensor(
    name="monthly_report_after_close",
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=None,
    request_job=monthly_report_job,
    default_status=DefaultSensorStatus.STOPPED,
    description="After a successful finance_month_close run, build the closed month's report.",
)
def monthly_report_after_close(context: RunStatusSensorContext) -> RunRequest | None:
    if context.dagster_run.job_name != "finance_month_close":
        return None
    month = _closed_month(context)
    if month is None:
        return None
    return RunRequest(run_key=f"report-{month}", partition_key=month)
