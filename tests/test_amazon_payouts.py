"""Amazon fees by type, refunds by SKU and settlements/payouts, end to end: the main job's warehouse (a copy of
the shared build) plus the settlement reports loaded by the ``settlements`` resource, reconciled with the sandbox
truth to the cent (marts.fct_marketplace_fees, marts.fct_refunds, finance.marketplace_payouts,
finance.monthly_revenue).

The settlement reports are read here through ``WorldReports``, an in-process stand-in for the Reports API client
(ingestion/sources/amazon/reports.py, built on another branch) that lists and serves exactly what the sandbox's
``SCHEDULED_REPORTS`` generate; once the client exists, the main job loads them itself and this double can go.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import pytest

from ingestion.incremental import utc_iso
from ingestion.sources.amazon.settlements import settlements_resource
from sandbox.amazon_reports import SCHEDULED_REPORTS
from sandbox.amazon_settlement import REPORT_TYPE
from sandbox.truth import compute_truth
from sandbox.world import World
from tests.conftest import SharedBuild
from tests.helpers import dbt_build, query

COPIES_SHARED_BUILD = True
ZERO = Decimal("0.00")


class WorldReports:
    """The ReportsApi interface over the world's scheduled reports (what getReports/getReportDocument serve)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.listed: list[datetime | None] = []

    def list(
        self, report_types: Sequence[str], created_since: datetime | None = None, statuses: Sequence[str] = ("DONE",)
    ) -> Iterator[dict[str, Any]]:
        self.listed.append(created_since)
        for kind in report_types:
            for r in SCHEDULED_REPORTS[kind](self.world):
                if r.created_time < self.world.config.now and (
                    created_since is None or r.created_time >= created_since
                ):
                    yield {
                        "reportId": r.report_id,
                        "reportType": r.report_type,
                        "dataStartTime": utc_iso(r.data_start_time),
                        "dataEndTime": utc_iso(r.data_end_time),
                        "createdTime": utc_iso(r.created_time),
                        "processingStatus": "DONE",
                        "reportDocumentId": f"amzn1.spdoc.1.4.na.{r.report_id}",
                        "marketplaceIds": list(r.marketplace_ids),
                    }

    def document(self, document_id: str) -> str:
        report_id = document_id.rsplit(".", 1)[1]
        report = next(r for r in SCHEDULED_REPORTS[REPORT_TYPE](self.world) if r.report_id == report_id)
        return report.content().decode()


def _load_settlements(path: Path, pipelines: Path, reports: WorldReports) -> None:
    pipeline = dlt.pipeline(
        pipeline_name="amazon_settlements",
        destination=dlt.destinations.duckdb(str(path)),
        dataset_name="raw_amazon",
        pipelines_dir=str(pipelines),
    )
    pipeline.run(settlements_resource(reports, "2023-11-01T00:00:00Z"))


@pytest.fixture(scope="module")
def built(private_build: SharedBuild, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, World]:
    world = private_build.sandbox.app.world
    pipelines = tmp_path_factory.mktemp("settlement_pipelines")
    reports = WorldReports(world)
    _load_settlements(private_build.warehouse, pipelines, reports)
    _load_settlements(private_build.warehouse, pipelines, reports)  # a re-run merges, never duplicates
    assert reports.listed[0] is not None and reports.listed[1] is not None and reports.listed[1] > reports.listed[0]
    dbt_build(
        private_build.warehouse,
        ["+marketplace_payouts", "fct_refunds", "monthly_revenue"],
        tmp_path_factory.mktemp("dbt"),
    )
    return private_build.warehouse, world


def test_settlements_load_once_and_payouts_equal_truth(built: tuple[Path, World]) -> None:
    path, world = built
    truth = {p["settlement_id"]: p for p in compute_truth(world)["amazon_payouts"]}
    ((raw, distinct),) = query(
        path, "select count(*), count(distinct settlement_line_id) from raw_amazon.settlement_lines"
    )
    assert raw == distinct > 0
    rows = query(
        path,
        """select settlement_id, marketplace, settlement_start_date, settlement_end_date, deposit_date, currency,
                  sales, fees, refunds, other, reserve_released, reserve_held, payout, payout_usd
           from finance.marketplace_payouts""",
    )
    assert len(rows) == len(truth) > 100
    names = ("sales", "fees", "refunds", "other", "reserve_released", "reserve_held", "payout", "payout_usd")
    for sid, market, start, end, deposit, ccy, *money in rows:
        want = truth[sid]
        assert (market, start.isoformat(), end.isoformat(), deposit.isoformat(), ccy) == (
            want["marketplace"],
            want["settlement_start_date"],
            want["settlement_end_date"],
            want["deposit_date"],
            want["currency"],
        )
        assert dict(zip(names, money)) == {n: Decimal(want[n]) for n in names}, sid
    assert sum(Decimal(p["fees"]) for p in truth.values()) > 0


def test_amazon_fees_by_type_equal_truth(built: tuple[Path, World]) -> None:
    path, world = built
    truth = compute_truth(world)
    got = {
        (m.strftime("%Y-%m"), ccy, fee_type): (amount, counts)
        for m, ccy, fee_type, amount, counts in query(
            path,
            """select date_trunc('month', posted_date), currency, fee_type, sum(fee_amount),
                      bool_and(counts_as_marketplace_fee)
               from marts.fct_marketplace_fees where channel = 'amazon' group by 1, 2, 3""",
        )
    }
    want = {
        (r["month"], r["currency"], r["fee_type"]): (Decimal(r["fees"]), r["counts_as_marketplace_fee"])
        for r in truth["amazon_fees_monthly"]
    }
    assert got == want
    types = {k[2] for k in got}
    assert {"Commission", "FBAPerUnitFulfillmentFee", "Subscription", "FBAStorageFee", "ProductAdsPayment"} <= types
    assert query(path, "select distinct fee_type from marts.fct_marketplace_fees where channel = 'ebay'") == [
        ("FINAL_VALUE_FEE",)
    ]
    # the rule: finance.monthly_revenue's marketplace fees leave Sponsored Products out, as the truth does
    monthly = {(r["month"], r["channel"]): Decimal(r["marketplace_fees_usd"]) for r in truth["monthly"]}
    for month, channel, fees in query(
        path,
        "select revenue_month, channel, marketplace_fees_usd from finance.monthly_revenue where channel in ('amazon', 'ebay')",
    ):
        assert fees == monthly.get((month.strftime("%Y-%m"), channel), ZERO), (month, channel)


def test_refunds_carry_the_sku_for_return_rates_per_product(built: tuple[Path, World]) -> None:
    path, world = built
    missing = query(
        path, "select channel, count(*) from marts.fct_refunds where sku is null and channel <> 'ebay' group by 1"
    )
    assert missing == []
    want: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for a in world.amazon_orders:
        for e in a.events:
            if e.kind == "refund":
                for item in e.items:
                    want[item.item.product.sku] += -sum((x for k, x in item.charges if k == "Principal"), ZERO) - sum(
                        (x for _, x in item.promotions), ZERO
                    )
    got = dict(query(path, "select sku, sum(refund_amount) from marts.fct_refunds where channel = 'amazon' group by 1"))
    assert got == dict(want) and got
    ebay_line_refunds = sum(1 for o in world.commerce.ebay_orders for r in o.refunds if r.line_id)
    ((with_sku,),) = query(path, "select count(*) from marts.fct_refunds where channel = 'ebay' and sku is not null")
    assert with_sku == ebay_line_refunds
    shopify = {
        (str(r.refund_id), o.lines[[li.line_id for li in o.lines].index(r.line_id)].product.sku)
        for o in world.shopify_orders
        for r in o.refunds
    }
    got_shopify = set(query(path, "select refund_id, sku from marts.fct_refunds where channel = 'shopify'"))
    assert got_shopify == shopify
