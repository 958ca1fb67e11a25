"""A backfill of monthly finance partitions after the table is lost rebuilds exactly the full build's figures."""

from __future__ import annotations

from pathlib import Path

import duckdb
from dagster import DagsterInstance

from orchestration.assets.transform import MONTHLY_REVENUE_KEY
from orchestration.definitions import load_definitions
from orchestration.schedules import REVENUE_JOB, partition_range_tags
from tests.helpers import query

COPIES_SHARED_BUILD = True  # the finance mart is dropped and backfilled: on a copy of the shared build

MONEY = (
    "gross_sales_usd, discounts_usd, refunds_usd, net_sales_usd, marketplace_fees_usd, adjustments_usd, net_revenue_usd"
)


def test_a_backfill_of_three_monthly_partitions_gives_the_full_builds_figures(warehouse: Path) -> None:
    instance = DagsterInstance.ephemeral()
    full = query(
        warehouse,
        f"select revenue_month, channel, orders, {MONEY}, period_status from finance.monthly_revenue order by 1, 2",
    )
    months = sorted({r[0] for r in full})[-3:]
    with duckdb.connect(str(warehouse)) as con:  # lose the finance mart, then backfill three months
        con.execute("drop table finance.monthly_revenue")
    result = (
        load_definitions()
        .resolve_job_def(REVENUE_JOB)
        .execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags=partition_range_tags(f"{months[0]:%Y-%m-%d}", f"{months[-1]:%Y-%m-%d}"),
        )
    )
    assert result.success
    backfilled = query(
        warehouse,
        f"select revenue_month, channel, orders, {MONEY}, period_status from finance.monthly_revenue order by 1, 2",
    )
    assert backfilled == [r for r in full if r[0] in months]
    assert len({r[0] for r in backfilled}) == 3
    materialized = instance.get_materialized_partitions(MONTHLY_REVENUE_KEY)
    assert {f"{m:%Y-%m-%d}" for m in months} <= materialized
