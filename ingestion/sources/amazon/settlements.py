"""Amazon settlement reports (``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``) into ``raw_amazon``.

Amazon generates a settlement report every 14 days per marketplace on its own; ``getReports`` lists them and
``getReportDocument`` serves the tab-separated flat file. ``settlement_record`` turns one file and its report
metadata into a record (the summary and every amount row, amounts exact); the contract checks it whole (a
settlement whose rows do not add up to its total is quarantined, never loaded in part); ``settlement_rows``
shapes it into the raw rows: ``settlement_lines`` (one per amount row, merged on ``settlement_line_id``) and
``settlements`` (the summary, merged on ``settlement_id``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import dlt

from ingestion.contracts import Contract, checked
from ingestion.http.session import IngestionHTTPError
from ingestion.incremental import UpdateCursor, parse_instant, utc_iso
from ingestion.sources.amazon.settings import CENT, SETTLEMENT_REPORT_TYPE

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = (
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
)
LINE_COLUMNS = (
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "fulfillment-id",
    "posted-date",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
    "promotion-id",
)
CURRENCIES = ("USD", "GBP", "EUR")


class ReportsApi(Protocol):
    """The Reports API client (ingestion/sources/amazon/reports.py)."""

    def list(
        self, report_types: Sequence[str], created_since: datetime | None = None, statuses: Sequence[str] = ("DONE",)
    ) -> Iterator[dict[str, Any]]: ...

    def document(self, document_id: str) -> str: ...


def _amount(text: str | None) -> Decimal | None:
    """An amount as the file writes it (``12.50``, ``-3.2``; a decimal comma is accepted), None when not one."""
    value = (text or "").strip().replace(",", ".")
    if not value:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def settlement_record(text: str, report: dict[str, Any]) -> dict[str, Any]:
    """One flat file (its text) and its getReports item -> ``{"settlement_id", "report_id", "summary", "lines"}``.

    The first data row with a ``total-amount`` is the summary; every other row is an amount row. Values are kept
    as sent (text, empty -> None); ``amount``/``total-amount`` become ``Decimal`` (None when not a number: the
    contract says why).
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter="\t")
    summary: dict[str, Any] | None = None
    lines: list[dict[str, Any]] = []
    for number, row in enumerate(reader, start=2):  # line 1 is the header
        if summary is None and _blank(row.get("total-amount")) is not None:
            summary = {c: _blank(row.get(c)) for c in ("settlement-id", *SUMMARY_COLUMNS)}
            summary["total-amount-value"] = _amount(row.get("total-amount"))
            continue
        line = {c: _blank(row.get(c)) for c in ("settlement-id", *LINE_COLUMNS)}
        line["line_number"] = number
        line["amount-value"] = _amount(row.get("amount"))
        lines.append(line)
    settlement_id = (summary or {}).get("settlement-id") or (lines[0]["settlement-id"] if lines else None)
    return {
        "settlement_id": settlement_id,
        "report_id": report.get("reportId"),
        "marketplace_id": (report.get("marketplaceIds") or [None])[0],
        "report_created_time": report.get("createdTime"),
        "summary": summary,
        "lines": lines,
    }


def _settlement_valid(record: dict[str, Any]) -> str | None:
    """A summary with a known currency and a total; every row an amount in whole cents; the rows add up."""
    summary = record["summary"]
    if not record["settlement_id"]:
        return "no settlement-id"
    if summary is None:
        return "no summary row (settlement-id, dates, deposit-date, total-amount, currency)"
    if summary["currency"] not in CURRENCIES:
        return f"unknown currency {summary['currency']!r}"
    total = summary["total-amount-value"]
    if total is None:
        return f"total-amount {summary['total-amount']!r} is not a number"
    for c in ("settlement-start-date", "settlement-end-date"):
        if summary[c] is None:
            return f"missing {c}"
    added = Decimal("0.00")
    for line in record["lines"]:
        amount = line["amount-value"]
        if amount is None or amount != amount.quantize(CENT):
            return f"row {line['line_number']}: amount {line['amount']!r} is not an amount in cents"
        if line["settlement-id"] not in (None, record["settlement_id"]):
            return f"row {line['line_number']}: settlement-id {line['settlement-id']} of another settlement"
        added += amount
    if added != total:
        return f"rows add up to {added}, total-amount is {total}"
    return None


def settlements_contract() -> Contract:
    return Contract("amazon", "settlements", "settlement_id", checks=(_settlement_valid,))


def _instant(value: str | None) -> str | None:
    """``2024-05-20 00:00:00 UTC`` (or ISO 8601) as ISO 8601 UTC text; None when empty."""
    if value is None:
        return None
    text = value.replace(" UTC", "Z").replace(" ", "T")
    return utc_iso(parse_instant(text))


def settlement_rows(record: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A checked record -> (its ``settlements`` row, its ``settlement_lines`` rows)."""
    summary, sid = record["summary"], record["settlement_id"]
    head = {
        "settlement_id": sid,
        "report_id": record["report_id"],
        "marketplace_id": record["marketplace_id"],
        "settlement_start_at": _instant(summary["settlement-start-date"]),
        "settlement_end_at": _instant(summary["settlement-end-date"]),
        "deposit_at": _instant(summary["deposit-date"]),
        "total_amount": summary["total-amount-value"],
        "currency": summary["currency"],
        "report_created_time": record["report_created_time"],
    }
    lines = []
    for line in record["lines"]:
        quantity = line["quantity-purchased"]
        lines.append(
            {
                "settlement_line_id": hashlib.sha256(f"{sid}|{line['line_number']}".encode()).hexdigest()[:32],
                "settlement_id": sid,
                "line_number": line["line_number"],
                "transaction_type": line["transaction-type"],
                "order_id": line["order-id"],
                "merchant_order_id": line["merchant-order-id"],
                "adjustment_id": line["adjustment-id"],
                "shipment_id": line["shipment-id"],
                "marketplace_name": line["marketplace-name"],
                "amount_type": line["amount-type"],
                "amount_description": line["amount-description"],
                "amount": line["amount-value"],
                "currency": summary["currency"],
                "fulfillment_id": line["fulfillment-id"],
                "posted_date": line["posted-date"],
                "posted_at": _instant(line["posted-date-time"]),
                "order_item_code": line["order-item-code"],
                "merchant_order_item_id": line["merchant-order-item-id"],
                "merchant_adjustment_item_id": line["merchant-adjustment-item-id"],
                "sku": line["sku"],
                "quantity_purchased": int(quantity) if quantity and quantity.isdigit() else None,
                "promotion_id": line["promotion-id"],
            }
        )
    return head, lines


MONEY = {"data_type": "decimal", "precision": 18, "scale": 2}
TEXT_LINE_COLUMNS = (
    "order_id",
    "merchant_order_id",
    "adjustment_id",
    "shipment_id",
    "marketplace_name",
    "fulfillment_id",
    "posted_date",
    "posted_at",
    "order_item_code",
    "merchant_order_item_id",
    "merchant_adjustment_item_id",
    "sku",
    "promotion_id",
)


def _listed(reports: ReportsApi, since: datetime) -> Iterator[dict[str, Any]]:
    """Settlement reports created since ``since``; when that is further back than getReports lists (Amazon
    keeps reports 90 days: 400 ``InvalidInput``), every report it still lists, with a warning: settlements
    older than Amazon's retention cannot be read any more (a first load gets the last 90 days)."""
    started = False
    try:
        for report in reports.list([SETTLEMENT_REPORT_TYPE], created_since=since):
            started = True
            yield report
        return
    except IngestionHTTPError as exc:
        if started or not ("HTTP 400" in str(exc) and "InvalidInput" in str(exc)):
            raise
    log.warning(
        "amazon/settlements: %s is past the reports Amazon still lists (90 days); reading every settlement "
        "report it lists, older settlements are beyond its retention",
        utc_iso(since),
    )
    yield from reports.list([SETTLEMENT_REPORT_TYPE], created_since=None)


def settlements_resource(reports: ReportsApi, start_date: str, lookback: timedelta = timedelta(days=3)) -> Any:
    """The ``settlements`` resource: every settlement report created since the cursor (the latest
    ``createdTime`` loaded, less ``lookback``), its rows into ``settlement_lines`` and its summary into
    ``settlements``; both merged on their keys, so a re-read never duplicates. A settlement that breaks the
    contract is quarantined whole (record id: its settlement-id)."""

    @dlt.resource(
        name="settlements",
        table_name="settlement_lines",
        primary_key="settlement_line_id",
        write_disposition="merge",
        columns={
            "amount": MONEY,
            "line_number": {"data_type": "bigint"},
            "quantity_purchased": {"data_type": "bigint"},
            **{c: {"data_type": "text"} for c in TEXT_LINE_COLUMNS},
        },
    )
    def settlements() -> Iterator[Any]:
        cursor = UpdateCursor(start_date, lookback, key="max_report_created_time")
        contract = settlements_contract()
        for report in _listed(reports, cursor.start):
            cursor.observe(report.get("createdTime"))
            document_id = report.get("reportDocumentId")
            if not document_id:
                continue
            record = settlement_record(reports.document(document_id), report)
            for item in checked(contract, [record]):
                if isinstance(item, list) and item and item[0] is record:  # the good record: shape it
                    head, lines = settlement_rows(record)
                    if lines:
                        yield lines
                    yield dlt.mark.with_hints(
                        [head],
                        dlt.mark.make_hints(
                            table_name="settlements",
                            write_disposition="merge",
                            primary_key="settlement_id",
                            columns={
                                "total_amount": MONEY,
                                **{
                                    c: {"data_type": "text"}
                                    for c in ("settlement_start_at", "settlement_end_at", "deposit_at")
                                },
                            },
                        ),
                        create_table_variant=True,
                    )
                else:
                    yield item  # the quarantined record
        cursor.commit()

    return settlements


__all__ = [
    "ReportsApi",
    "settlement_record",
    "settlement_rows",
    "settlements_contract",
    "settlements_resource",
]
