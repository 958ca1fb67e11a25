"""Amazon Finances v0 financial events -> raw_amazon.financial_event_lines -> stg_amazon__financial_event_lines.

The raw lines must give back, per month and currency, exactly the sandbox truth's Amazon refunds
(−(Principal + PromotionAdjustment) of refund events) and marketplace fees (−Σ fee lines), on PostedDate;
re-reads merge; advancing the world adds events and leaves the old ones as they were.
"""

from __future__ import annotations

import copy
import json
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from ingestion.incremental import parse_instant
from ingestion.pipelines import load
from ingestion.sources.amazon import exact_json, financial_event_lines, financial_events_contract
from ingestion.sources.amazon.settlements import settlement_record, settlement_rows, settlements_contract
from sandbox.amazon_fees import all_financial_events
from sandbox.amazon_settlement import COLUMNS, REPORT_TYPE, render_flat_file, settlements
from sandbox.connect import sandbox_env
from sandbox.server import SandboxApp, SandboxServer
from sandbox.truth import compute_truth, counts_as_marketplace_fee
from sandbox.world import build_world
from tests.conftest import TEST_WORLD
from tests.helpers import amazon_headers, dbt_build, environment

ZERO = Decimal("0.00")
LINE_COLUMNS = (
    "event_line_id",
    "event_type",
    "amazon_order_id",
    "marketplace_name",
    "posted_date",
    "order_item_id",
    "seller_sku",
    "quantity",
    "line_kind",
    "line_type",
    "amount",
    "currency",
)


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    # demo rate limits: the sandbox sends x-amzn-RateLimit-Limit, so the resource's pacer is exercised too
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="demo"), port=0) as s:
        yield s


@pytest.fixture(scope="module")
def env(server: SandboxServer) -> Iterator[None]:
    with environment(sandbox_env(server.url)):
        yield


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, server: SandboxServer, env: None) -> Path:
    path = tmp_path_factory.mktemp("amazon_finances") / "wh.duckdb"
    load("amazon", duckdb_path=path)
    return path


def lines_of(path: Path) -> dict[str, tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(f"select {', '.join(LINE_COLUMNS)} from raw_amazon.financial_event_lines").fetchall()
    return {r[0]: r for r in rows}


def recomputed(lines: dict[str, tuple[Any, ...]]) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(month, currency) -> (refunds, marketplace fees), from the raw lines by the metric definitions."""
    refunds: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    fees: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for _, event_type, _, _, posted, _, _, _, kind, line_type, amount, currency in lines.values():
        key = (parse_instant(posted).astimezone(UTC).strftime("%Y-%m"), currency)
        if event_type == "refund" and (kind == "promotion" or (kind == "charge" and line_type == "Principal")):
            refunds[key] -= amount
        if kind == "fee" and counts_as_marketplace_fee(line_type):
            fees[key] -= amount
    return {k: (refunds[k], fees[k]) for k in set(refunds) | set(fees)}


def truth_of(server: SandboxServer) -> dict[str, Any]:
    return compute_truth(server.app.world)


def expected(truth: dict[str, Any]) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    return {
        (r["month"], r["currency"]): (Decimal(r["refunds"]), Decimal(r["marketplace_fees"]))
        for r in truth["monthly_local"]
        if r["channel"] == "amazon"
    }


def assert_reconciles(lines: dict[str, tuple[Any, ...]], truth: dict[str, Any]) -> None:
    got, want = recomputed(lines), expected(truth)
    mismatches = {
        k: (got.get(k, (ZERO, ZERO)), want.get(k, (ZERO, ZERO)))
        for k in set(got) | set(want)
        if got.get(k, (ZERO, ZERO)) != want.get(k, (ZERO, ZERO))
    }
    assert not mismatches, f"(month, currency): (loaded refunds, fees) vs truth: {sorted(mismatches.items())}"
    assert any(refunds for refunds, _ in want.values()) and any(fees for _, fees in want.values())
    events = {(r[1], r[2], r[4]) for r in lines.values() if r[1] in ("shipment", "refund")}
    counts = truth["record_counts"]
    assert sum(1 for e in events if e[0] == "shipment") == counts["amazon.financial_events.shipments"]
    assert sum(1 for e in events if e[0] == "refund") == counts["amazon.financial_events.refunds"]
    assert fees_by_type(lines) == expected_fees_by_type(truth)


def fees_by_type(lines: dict[str, tuple[Any, ...]]) -> dict[tuple[str, str, str], Decimal]:
    """(month, currency, fee type) -> fees charged (positive), every fee line of every event list."""
    out: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
    for _, _, _, _, posted, _, _, _, kind, line_type, amount, currency in lines.values():
        if kind == "fee":
            out[(parse_instant(posted).astimezone(UTC).strftime("%Y-%m"), currency, line_type)] -= amount
    return dict(out)


def expected_fees_by_type(truth: dict[str, Any]) -> dict[tuple[str, str, str], Decimal]:
    return {(r["month"], r["currency"], r["fee_type"]): Decimal(r["fees"]) for r in truth["amazon_fees_monthly"]}


def test_raw_lines_reconcile_with_truth_per_month(loaded: Path, server: SandboxServer) -> None:
    lines = lines_of(loaded)
    assert_reconciles(lines, truth_of(server))
    with duckdb.connect(str(loaded), read_only=True) as con:
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'raw_amazon' and table_name = 'financial_event_lines'"
            ).fetchall()
        )
        quarantined = con.execute(
            "select count(*) from raw_quarantine.records where resource = 'financial_events'"
        ).fetchone()[0]  # type: ignore[index]
    assert types["amount"] == "DECIMAL(18,2)" and types["posted_date"] == "VARCHAR"
    assert quarantined == 0
    assert {r[1] for r in lines.values()} == {
        "shipment",
        "refund",
        "service_fee",
        "adjustment",
        "product_ads_payment",
        "retrocharge",
        "fba_liquidation",
    }
    assert {r[8] for r in lines.values()} == {"charge", "fee", "promotion", "other"}
    truth = truth_of(server)
    fee_types = {k[2] for k in fees_by_type(lines)}
    assert fee_types >= {"Commission", "Subscription", "FBAStorageFee", "ProductAdsPayment", "LiquidationFee"}
    # every event of the other lists is loaded: one identity per event (type, reference, time, SKU, currency)
    with duckdb.connect(str(loaded), read_only=True) as con:
        per_type = dict(
            con.execute(
                "select event_type, count(distinct event_reference || '|' || posted_date || '|' || "
                "coalesce(seller_sku, '') || currency) from raw_amazon.financial_event_lines group by 1"
            ).fetchall()
        )
        storage_skus = con.execute(
            "select count(*) from raw_amazon.financial_event_lines "
            "where line_type = 'FBAStorageFee' and seller_sku is null"
        ).fetchone()[0]  # type: ignore[index]
    for kind in ("service_fee", "adjustment", "product_ads_payment", "retrocharge", "fba_liquidation"):
        assert per_type[kind] == truth["record_counts"][f"amazon.financial_events.{kind}"], kind
    assert storage_skus == 0
    assert all(isinstance(r[10], Decimal) and r[11] in ("USD", "GBP", "EUR") for r in lines.values())


def test_a_second_run_merges_instead_of_duplicating(loaded: Path, server: SandboxServer) -> None:
    before = lines_of(loaded)
    load("amazon", duckdb_path=loaded)
    after = lines_of(loaded)
    assert after == before
    with duckdb.connect(str(loaded), read_only=True) as con:
        total, distinct = con.execute(
            "select count(*), count(distinct event_line_id) from raw_amazon.financial_event_lines"
        ).fetchone()  # type: ignore[misc]
    assert total == distinct == len(before)


def test_the_staging_view_builds_and_passes_its_tests(loaded: Path, tmp_path: Path) -> None:
    # the settlement views build empty before the first settlement is loaded (the raw tables do not exist yet)
    dbt_build(
        loaded,
        ["stg_amazon__financial_event_lines", "stg_amazon__settlements", "stg_amazon__settlement_lines"],
        tmp_path,
    )
    with duckdb.connect(str(loaded), read_only=True) as con:
        columns = con.execute(
            "select column_name, data_type from information_schema.columns where "
            "table_schema = 'staging' and table_name = 'stg_amazon__financial_event_lines' "
            "order by ordinal_position"
        ).fetchall()
        rows, raw = con.execute(
            "select (select count(*) from staging.stg_amazon__financial_event_lines), "
            "(select count(*) from raw_amazon.financial_event_lines)"
        ).fetchone()  # type: ignore[misc]
    assert columns == [
        ("event_line_id", "VARCHAR"),
        ("event_type", "VARCHAR"),
        ("amazon_order_id", "VARCHAR"),
        ("posted_at", "TIMESTAMP WITH TIME ZONE"),
        ("order_item_id", "VARCHAR"),
        ("seller_sku", "VARCHAR"),
        ("line_kind", "VARCHAR"),
        ("line_type", "VARCHAR"),
        ("amount", "DECIMAL(18,2)"),
        ("currency", "VARCHAR"),
        ("event_reference", "VARCHAR"),
    ]
    assert rows == raw


def test_advancing_the_world_adds_events_and_keeps_the_old_ones(loaded: Path, server: SandboxServer) -> None:
    before = lines_of(loaded)
    old_clock = server.app.config.now
    with urllib.request.urlopen(urllib.request.Request(f"{server.url}/_sandbox/advance?days=30", method="POST")) as r:
        assert r.status == 200
    load("amazon", duckdb_path=loaded)
    after = lines_of(loaded)
    assert {k: after.get(k) for k in before} == before  # posted events never change
    new = [r for k, r in after.items() if k not in before]
    # (events posted in the two minutes before the old clock were not listable yet: the API's bound)
    assert new and all(parse_instant(r[4]) >= old_clock - timedelta(minutes=2) for r in new)
    assert_reconciles(after, truth_of(server))


def test_amounts_are_parsed_exactly_and_never_as_floats() -> None:
    body = {
        "payload": {
            "FinancialEvents": {
                "ShipmentEventList": [
                    {
                        "AmazonOrderId": "111-1",
                        "PostedDate": "2025-03-01T10:00:00Z",
                        "MarketplaceName": "Amazon.com",
                        "ShipmentItemList": [
                            {
                                "SellerSKU": "S",
                                "OrderItemId": "1",
                                "QuantityShipped": 1,
                                "ItemChargeList": [
                                    {
                                        "ChargeType": "Principal",
                                        "ChargeAmount": {"CurrencyCode": "USD", "CurrencyAmount": 0.1},
                                    },
                                    {
                                        "ChargeType": "Tax",
                                        "ChargeAmount": {"CurrencyCode": "USD", "CurrencyAmount": 0.2},
                                    },
                                ],
                                "ItemFeeList": [
                                    {
                                        "FeeType": "Commission",
                                        "FeeAmount": {"CurrencyCode": "USD", "CurrencyAmount": -0.3},
                                    }
                                ],
                            }
                        ],
                    }
                ]
            }
        }
    }
    response = requests.Response()
    response.status_code, response._content = 200, json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    event = exact_json(response).json()["payload"]["FinancialEvents"]["ShipmentEventList"][0]
    event["EventType"] = "shipment"
    lines = financial_event_lines(event)
    amounts = [line["amount"] for line in lines]
    assert all(isinstance(a, Decimal) for a in amounts) and sum(amounts) == 0  # 0.1 + 0.2 − 0.3, exactly
    assert [line["line_kind"] for line in lines] == ["charge", "charge", "fee"]
    assert len({line["event_line_id"] for line in lines}) == 3
    assert [line["event_line_id"] for line in financial_event_lines(event)] == [l["event_line_id"] for l in lines]

    # the contract quarantines the whole event when one line breaks it
    bad = copy.deepcopy(event)
    bad["ShipmentItemList"][0]["ItemFeeList"][0]["FeeAmount"]["CurrencyCode"] = "XXX"
    bad["EventKey"] = "shipment:111-1:2025-03-01T10:00:00Z"
    missing = copy.deepcopy(event)
    del missing["ShipmentItemList"][0]["ItemChargeList"][1]["ChargeAmount"]["CurrencyAmount"]
    missing["EventKey"] = "shipment:111-1:x"
    good, quarantined = financial_events_contract().split([event, bad, missing])
    assert good == [event]
    assert [q["record_id"] for q in quarantined] == ["shipment:111-1:2025-03-01T10:00:00Z", "shipment:111-1:x"]
    assert "unknown currency" in quarantined[0]["reason"] and "amount" in quarantined[1]["reason"]


# --- settlements: GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2 rendered by the sandbox, parsed by the source ---

FEE_ROWS = {  # (amount-type, amount-description) of the rows that are fees; "ItemFees" rows are fees whatever the type
    ("Cost of Advertising", "TransactionTotalAmount"),
    ("other-transaction", "Subscription Fee"),
    ("other-transaction", "Storage Fee"),
    ("other-transaction", "StorageRenewalBilling"),
    ("Liquidations", "LiquidationsFees"),
}


def _report(s: Any) -> dict[str, Any]:
    return {
        "reportId": s.report_id,
        "reportType": REPORT_TYPE,
        "marketplaceIds": [s.marketplace_id],
        "createdTime": s.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reportDocumentId": f"amzn1.spdoc.1.4.na.{s.report_id}",
    }


def test_every_settlement_file_parses_back_to_the_truth_payout() -> None:
    world = build_world(TEST_WORLD)
    truth = {p["settlement_id"]: p for p in compute_truth(world)["amazon_payouts"]}
    listed = [s for s in settlements(world) if s.created_at < world.config.now]
    assert len(listed) == len(truth) > 100  # 14-day periods × 3 marketplaces over 30 months
    for s in listed:
        text = render_flat_file(s)
        header = text.split("\n", 1)[0].split("\t")
        assert header == list(COLUMNS) and len(header) == 24
        record = settlement_record(text, _report(s))
        good, bad = settlements_contract().split([record])
        assert good and not bad, bad
        head, rows = settlement_rows(record)
        want = truth[s.settlement_id]
        assert head["total_amount"] == Decimal(want["payout"]) == sum((r["amount"] for r in rows), ZERO)
        assert head["currency"] == want["currency"]
        assert head["settlement_start_at"][:10] == want["settlement_start_date"]
        assert head["deposit_at"][:10] == want["deposit_date"]
        fees = -sum(
            (
                r["amount"]
                for r in rows
                if r["amount_type"] == "ItemFees" or (r["amount_type"], r["amount_description"]) in FEE_ROWS
            ),
            ZERO,
        )
        assert fees == Decimal(want["fees"]), s.settlement_id
        reserve = {r["amount_description"]: r["amount"] for r in rows if "Reserve" in (r["amount_description"] or "")}
        assert reserve == {
            "Previous Reserve Amount Balance": Decimal(want["reserve_released"]),
            "Current Reserve Amount": -Decimal(want["reserve_held"]),
        }
        assert len({r["settlement_line_id"] for r in rows}) == len(rows)
    # the reserve carries over: what one settlement holds, the next of its marketplace releases
    by_market: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in truth.values():
        by_market[p["currency"]].append(p)
    for payouts in by_market.values():
        payouts.sort(key=lambda p: p["settlement_start_date"])
        assert all(a["reserve_held"] == b["reserve_released"] for a, b in zip(payouts, payouts[1:]))
        assert any(Decimal(p["reserve_held"]) > 0 for p in payouts)


def test_a_settlement_that_does_not_add_up_is_quarantined_whole() -> None:
    world = build_world(TEST_WORLD)
    s = next(s for s in settlements(world) if len(s.lines) > 3)
    lines = render_flat_file(s).splitlines()
    cells = lines[3].split("\t")
    cells[COLUMNS.index("amount")] = str(Decimal(cells[COLUMNS.index("amount")]) + Decimal("0.01"))
    tampered = "\n".join([*lines[:3], "\t".join(cells), *lines[4:]])
    comma = render_flat_file(s).replace(
        f"\t{s.total_amount:.2f}\t", f"\t{s.total_amount:.2f}".replace(".", ",") + "\t", 1
    )
    unknown = render_flat_file(s).replace(f"\t{s.currency}\t", "\tXXX\t", 1)
    records = [settlement_record(t, _report(s)) for t in (tampered, comma, unknown)]
    good, bad = settlements_contract().split(records)
    assert [r["summary"]["currency"] for r in good] == [s.currency]  # a decimal comma parses (EU files)
    assert [q["record_id"] for q in bad] == [s.settlement_id, s.settlement_id]
    assert "add up" in bad[0]["reason"] and "unknown currency" in bad[1]["reason"]


def test_every_event_list_pages_together_in_posted_date_order(server: SandboxServer) -> None:
    """listFinancialEvents counts the events of all lists against MaxResultsPerPage, in PostedDate order across
    lists and pages, and serves every event the world posted in the window exactly once."""
    world = server.app.world
    headers = amazon_headers(server.url)
    after, before = "2025-11-01T00:00:00Z", "2026-02-01T00:00:00Z"
    params: dict[str, Any] = {"PostedAfter": after, "PostedBefore": before, "MaxResultsPerPage": 7}
    served: list[tuple[str, str]] = []
    pages = 0
    while True:
        body = requests.get(f"{server.url}/finances/v0/financialEvents", headers=headers, params=params, timeout=30)
        payload = body.json()["payload"]
        events = [
            (e.get("PostedDate") or e.get("postedDate"), name)
            for name, es in payload["FinancialEvents"].items()
            for e in es
        ]
        assert len(events) <= 7
        served += sorted(events)
        pages += 1
        if "NextToken" not in payload:
            break
        params = {"NextToken": payload["NextToken"]}
    assert [p for p, _ in served] == sorted(p for p, _ in served)  # one PostedDate order across pages
    lo, hi = parse_instant(after), parse_instant(before)
    expected = [e for e in all_financial_events(world) if lo <= e.posted_at < hi]
    assert len(served) == len(expected) and pages == -(-len(expected) // 7)
    names = {n for _, n in served}
    assert {"ShipmentEventList", "ServiceFeeEventList", "ProductAdsPaymentEventList"} <= names
