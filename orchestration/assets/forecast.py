"""The commerce forecast as a Dagster asset: ``forecasts.commerce_forecasts``, partitioned by forecast month
(the months of ``finance.monthly_revenue``), fitted by ``forecasting`` on ``marts.channel_revenue_daily``.

A partition F holds the forecasts made at F's start (data before F only) of F, F+1 and F+2 per commerce
channel. A run over a range of forecast months is one invocation (single-run backfill: the rolling-origin
fits are shared). Re-running a partition replaces its rows in one transaction. A forecast month without
enough history, or whose previous month has no data yet, is skipped with its reason logged and in the
metadata, not an error. Two blocking checks read the whole table after the write: forecasts are
non-negative, and lower ≤ forecast ≤ upper.
"""

import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AutomationCondition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from core.warehouse import Warehouse, connect
from forecasting import COMMERCE_CHANNELS, MonthForecast, Skipped, forecast_months
from forecasting.commerce import add_months
from orchestration.assets.transform import monthly_partitions
from orchestration.resources import WAREHOUSE_POOL

FORECASTS_KEY = AssetKey(["forecasts", "commerce_forecasts"])
DAILY_REVENUE_KEY = AssetKey(["marts", "channel_revenue_daily"])
SCHEMA, TABLE = "forecasts", "commerce_forecasts"
METHOD = "model"
NON_NEGATIVE_CHECK = "forecasts_non_negative"
INSIDE_INTERVAL_CHECK = "forecasts_inside_interval"

CREATE_TABLE = f"""
create table if not exists {SCHEMA}.{TABLE} (
    forecast_month date not null,
    target_month date not null,
    horizon integer not null,
    channel varchar not null,
    method varchar not null,
    model_name varchar not null,
    forecast_usd decimal(18, 2) not null,
    lower_usd decimal(18, 2) not null,
    upper_usd decimal(18, 2) not null,
    fitted_at timestamp with time zone not null,
    history_end_date date not null,
    primary key (forecast_month, target_month, channel, method)
)"""
INSERT = f"""
insert into {SCHEMA}.{TABLE} (forecast_month, target_month, horizon, channel, method, model_name, forecast_usd,
    lower_usd, upper_usd, fitted_at, history_end_date) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""


def read_daily_revenue(wh: Warehouse, before: date, channels: Sequence[str] = COMMERCE_CHANNELS) -> pd.DataFrame:
    """The commerce channels' daily net revenue before ``before`` from ``marts.channel_revenue_daily``."""
    if not wh.table_exists("marts", "channel_revenue_daily"):
        raise RuntimeError("marts.channel_revenue_daily does not exist: build the dbt models before the forecast")
    names = ", ".join(f"'{c}'" for c in channels)
    return wh.df(
        "select date_day, channel, net_revenue_usd from marts.channel_revenue_daily "
        f"where channel in ({names}) and date_day < cast('{before.isoformat()}' as date) order by date_day, channel"
    )


def replace_partitions(
    wh: Warehouse, months: Sequence[date], forecasts: Sequence[MonthForecast], fitted_at: datetime
) -> int:
    """Replace the rows of these forecast months with ``forecasts`` in one transaction; the rows written."""
    wh.execute(f"create schema if not exists {SCHEMA}")
    wh.execute(CREATE_TABLE)
    wh.execute("begin transaction" if wh.target == "duckdb" else "begin")
    try:
        for month in months:
            wh.execute(f"delete from {SCHEMA}.{TABLE} where forecast_month = ?", [month])
        for f in forecasts:
            wh.execute(
                INSERT,
                [
                    f.forecast_month,
                    f.target_month,
                    f.horizon,
                    f.channel,
                    METHOD,
                    f.model_name,
                    f.forecast_usd,
                    f.lower_usd,
                    f.upper_usd,
                    fitted_at,
                    f.history_end_date,
                ],
            )
        wh.execute("commit")
    except Exception:
        wh.execute("rollback")
        raise
    return len(forecasts)


def table_problems(wh: Warehouse) -> dict[str, int]:
    """Rows of ``forecasts.commerce_forecasts`` breaking a check: negative forecasts or bounds, and forecasts
    outside their interval (lower ≤ forecast ≤ upper)."""
    if not wh.table_exists(SCHEMA, TABLE):
        return {NON_NEGATIVE_CHECK: 0, INSIDE_INTERVAL_CHECK: 0}
    negative = wh.scalar(
        f"select count(*) from {SCHEMA}.{TABLE} where forecast_usd < 0 or lower_usd < 0 or upper_usd < 0"
    )
    outside = wh.scalar(
        f"select count(*) from {SCHEMA}.{TABLE} where not (lower_usd <= forecast_usd and forecast_usd <= upper_usd)"
    )
    return {NON_NEGATIVE_CHECK: int(negative), INSIDE_INTERVAL_CHECK: int(outside)}


def check_results(problems: dict[str, int], rows: int) -> list[AssetCheckResult]:
    descriptions = {
        NON_NEGATIVE_CHECK: "forecast, lower and upper are ≥ 0",
        INSIDE_INTERVAL_CHECK: "lower_usd ≤ forecast_usd ≤ upper_usd",
    }
    return [
        AssetCheckResult(
            check_name=name,
            passed=problems[name] == 0,
            severity=AssetCheckSeverity.ERROR,
            metadata={"failing_rows": problems[name], "rows_in_table": rows, "rule": descriptions[name]},
        )
        for name in (NON_NEGATIVE_CHECK, INSIDE_INTERVAL_CHECK)
    ]


def _skipped_markdown(skipped: Sequence[Skipped]) -> str:
    lines = ["| forecast month | channel | reason |", "|---|---|---|"]
    lines += [f"| {s.forecast_month:%Y-%m} | {s.channel} | {s.reason} |" for s in skipped]
    return "\n".join(lines)


def partition_months(start: datetime, end: datetime) -> list[date]:
    """The forecast months (month starts) of a partition time window [start, end)."""
    months, month = [], start.date().replace(day=1)
    while month < end.date():
        months.append(month)
        month = add_months(month, 1)
    return months


@asset(
    key=FORECASTS_KEY,
    group_name="forecasts",
    partitions_def=monthly_partitions,
    backfill_policy=BackfillPolicy.single_run(),  # one invocation fits a range of forecast months
    deps=[DAILY_REVENUE_KEY],
    pool=WAREHOUSE_POOL,
    kinds={"python", "statsmodels"},
    owners=["team:analytics-engineering", "team:finance"],
    automation_condition=AutomationCondition.eager(),  # the latest forecast month follows the daily revenue
    check_specs=[
        AssetCheckSpec(NON_NEGATIVE_CHECK, asset=FORECASTS_KEY, blocking=True, description="forecasts are ≥ 0"),
        AssetCheckSpec(
            INSIDE_INTERVAL_CHECK, asset=FORECASTS_KEY, blocking=True, description="lower ≤ forecast ≤ upper"
        ),
    ],
    description="Monthly net revenue forecasts of the commerce channels (horizons 1–3, 80% interval), one "
    "partition per forecast month, fitted on marts.channel_revenue_daily before that month (forecasting/).",
)
def commerce_forecasts(context: AssetExecutionContext) -> MaterializeResult:
    window = context.partition_time_window
    months = partition_months(window.start, window.end)
    started = time.monotonic()
    fitted_at = datetime.now(UTC)
    with connect(read_only=False) as wh:
        daily = read_daily_revenue(wh, before=months[-1])
        context.log.info(
            f"forecast months {months[0]:%Y-%m} .. {months[-1]:%Y-%m}: {len(daily)} daily rows "
            f"through {daily['date_day'].max() if len(daily) else 'none'}"
        )

        def progress(month: date, made: list[MonthForecast], missed: list[Skipped], seconds: float) -> None:
            for s in missed:  # too little history is expected at the start: info; anything else is a warning
                log = context.log.info if "needed" in s.reason else context.log.warning
                log(f"{month:%Y-%m} {s.channel}: skipped, {s.reason}")
            context.log.info(
                f"{month:%Y-%m}: {len(made)} forecasts for {len({f.channel for f in made})} channel(s) in {seconds:.1f}s"
            )

        forecasts, skipped = forecast_months(daily, months, progress=progress)
        rows = replace_partitions(wh, months, forecasts, fitted_at)
        problems = table_problems(wh)
        table_rows = int(wh.scalar(f"select count(*) from {SCHEMA}.{TABLE}"))
    fitted = sorted({f.forecast_month for f in forecasts})
    metadata: dict[str, Any] = {
        "rows": rows,
        "dagster/row_count": table_rows,  # the whole table, as every table asset records
        "months_fitted": len(fitted),
        "months_skipped": len(set(months) - set(fitted)),
        "seconds": round(time.monotonic() - started, 2),
        "model_name": forecasts[0].model_name if forecasts else "",
    }
    if skipped:
        metadata["skipped"] = MetadataValue.md(_skipped_markdown(skipped))
    return MaterializeResult(metadata=metadata, check_results=check_results(problems, table_rows))
