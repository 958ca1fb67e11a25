"""SP-API Reports 2021-06-30: create, poll, list and download reports; the order report as Orders v0 records.

:class:`ReportsApi` is the client (one paced RESTClient per operation, each with its published token bucket);
:func:`run_reports` pipelines many reports (create as many as the createReport bucket allows, poll, download
each as it is DONE, FATAL/CANCELLED ones requested again); :func:`orders_from_rows` maps the rows of
``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL`` into the order + ``OrderItems`` shape getOrders and
getOrderItems give, so one contract and one raw shape serve both paths (docs/architecture.md: Amazon orders
through reports).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from dlt.sources.helpers.rest_client import RESTClient

from ingestion.http.pacing import Pacer
from ingestion.http.progress import Progress
from ingestion.http.session import IngestionHTTPError, ResilientSession
from ingestion.incremental import parse_instant, utc_iso
from ingestion.sources.amazon.settings import (
    CANCEL_REPORT_LIMIT,
    CREATE_REPORT_LIMIT,
    GET_REPORT_DOCUMENT_LIMIT,
    GET_REPORT_LIMIT,
    GET_REPORTS_LIMIT,
    MARKETPLACE_BY_CHANNEL,
    REPORT_ORDER_STATUS,
)

log = logging.getLogger("salesdw.ingestion")
PATH = "reports/2021-06-30"
DOWNLOAD_ATTEMPTS = 5
FAILED = ("FATAL", "CANCELLED")


class ReportFailed(IngestionHTTPError):
    """A report that ended CANCELLED or FATAL (after the retries of :func:`run_reports`)."""


def _pacer(client: RESTClient) -> Pacer:
    return client.session.pacer  # type: ignore[attr-defined,no-any-return]


class ReportsApi:
    """The Reports API operations, each through its own paced client (its published burst and rate)."""

    def __init__(self, client: Callable[[str, tuple[int, float]], RESTClient]) -> None:
        self.creates = client("reports.createReport", CREATE_REPORT_LIMIT)
        self.polls = client("reports.getReport", GET_REPORT_LIMIT)
        self.lists = client("reports.getReports", GET_REPORTS_LIMIT)
        self.cancels = client("reports.cancelReport", CANCEL_REPORT_LIMIT)
        self.documents = client("reports.getReportDocument", GET_REPORT_DOCUMENT_LIMIT)
        # the pre-signed document URLs go to S3: no Amazon token, no SP-API usage plan
        self.s3 = ResilientSession("amazon", "report_documents")
        self.poll_min_s, self.poll_max_s = 0.05, 5.0

    def create(
        self,
        report_type: str,
        marketplace_ids: Sequence[str],
        start: datetime | None = None,
        end: datetime | None = None,
        options: dict[str, str] | None = None,
    ) -> str:
        body: dict[str, Any] = {"reportType": report_type, "marketplaceIds": list(marketplace_ids)}
        if start is not None:
            body["dataStartTime"] = utc_iso(start)
        if end is not None:
            body["dataEndTime"] = utc_iso(end)
        if options:
            body["reportOptions"] = options
        return str(self.creates.post(f"{PATH}/reports", json=body).json()["reportId"])

    def get(self, report_id: str) -> dict[str, Any]:
        """One getReport."""
        return self.polls.get(f"{PATH}/reports/{report_id}").json()  # type: ignore[no-any-return]

    def cancel(self, report_id: str) -> None:
        self.cancels.request(f"{PATH}/reports/{report_id}", method="DELETE")

    def wait(self, report_id: str) -> dict[str, Any]:
        """Poll (backing off from ``poll_min_s`` to ``poll_max_s``) until DONE; CANCELLED / FATAL: ReportFailed."""
        delay = self.poll_min_s
        while True:
            report = self.get(report_id)
            status = report.get("processingStatus")
            if status == "DONE":
                return report
            if status in FAILED:
                raise ReportFailed(f"amazon: report {report_id} ({report.get('reportType')}) ended {status}")
            time.sleep(delay)
            delay = min(self.poll_max_s, delay * 2)

    def list(
        self, report_types: Sequence[str], created_since: datetime | None = None, statuses: Sequence[str] = ("DONE",)
    ) -> Iterator[dict[str, Any]]:
        """getReports, every page (``nextToken`` alone on the next request: it carries the filters)."""
        params: dict[str, Any] = {"reportTypes": ",".join(report_types), "pageSize": 100}
        if statuses:
            params["processingStatuses"] = ",".join(statuses)
        if created_since is not None:
            params["createdSince"] = utc_iso(created_since)
        while True:
            body = self.lists.get(f"{PATH}/reports", params=params).json()
            yield from body.get("reports") or []
            token = body.get("nextToken")
            if not token:
                return
            params = {"nextToken": token}

    def document(self, document_id: str) -> str:
        """getReportDocument, then the download: checked against S3's ETag (MD5), gunzipped if GZIP, as text.

        A truncated body (its MD5 differs) is fetched again; an expired URL (S3's 403 "Request has expired")
        costs one more getReportDocument for a fresh URL."""
        meta = self.documents.get(f"{PATH}/documents/{document_id}").json()
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            try:
                response = self.s3.get(meta["url"])
            except IngestionHTTPError as exc:
                if "Request has expired" not in str(exc) or attempt == DOWNLOAD_ATTEMPTS:
                    raise
                log.info("amazon: the URL of report document %s expired; asking for a new one", document_id)
                meta = self.documents.get(f"{PATH}/documents/{document_id}").json()
                continue
            data = response.content
            etag = response.headers.get("ETag", "").strip('"')
            if etag and hashlib.md5(data).hexdigest() != etag:
                log.warning(
                    "amazon: report document %s: %d bytes do not match the ETag, fetching it again (%d)",
                    document_id,
                    len(data),
                    attempt,
                )
                continue
            if meta.get("compressionAlgorithm") == "GZIP":
                data = gzip.decompress(data)
            return data.decode("utf-8")
        raise IngestionHTTPError(f"amazon: report document {document_id} could not be downloaded whole")


def tsv_rows(text: str) -> Iterator[dict[str, str]]:
    """A flat file's rows by header name (tab-separated, first line the header, no quoting)."""
    lines = iter(text.splitlines())
    header = next(lines, "").split("\t")
    for line in lines:
        if line.strip():
            values = line.split("\t")
            yield dict(zip(header, values + [""] * (len(header) - len(values)), strict=False))


# --------------------------------------------------------------------------- the pipeline


@dataclass
class ReportRequest:
    """One report to produce: its type, marketplaces, data window and options (``label`` for the logs)."""

    report_type: str
    marketplace_ids: tuple[str, ...]
    start: datetime | None = None
    end: datetime | None = None
    options: dict[str, str] | None = None
    attempts: int = 0


def _ready_in(pacer: Pacer) -> float:
    """Seconds until the operation's bucket lets a request through without waiting."""
    return pacer.delay()


def run_reports(
    api: ReportsApi, requests: Sequence[ReportRequest], attempts: int = 3
) -> Iterator[tuple[ReportRequest | None, dict[str, Any] | None, str | None]]:
    """Produce every report, pipelined: create while the createReport bucket has tokens (at least one report in
    flight), poll the pending ones with backoff, fetch each document as its report is DONE and the
    getReportDocument bucket allows; between those, sleep until the first thing is due. Yields ``(request,
    report, text)`` as each document arrives (in completion order), and ``(None, None, None)`` while waiting
    (a caller may hand control back). A FATAL or CANCELLED report is requested again, at most ``attempts``
    times in all, then :class:`ReportFailed`."""
    queue: deque[ReportRequest] = deque(requests)
    pending: dict[str, tuple[ReportRequest, float, float]] = {}  # id -> (request, next poll at, poll delay)
    done: deque[tuple[ReportRequest, dict[str, Any]]] = deque()
    progress = Progress("amazon", "reports")
    while queue or pending or done:
        while queue and (not pending or _ready_in(_pacer(api.creates)) == 0.0):
            req = queue.popleft()
            req.attempts += 1
            report_id = api.create(req.report_type, req.marketplace_ids, req.start, req.end, req.options)
            pending[report_id] = (req, time.monotonic() + api.poll_min_s, api.poll_min_s)
        for report_id, (req, due, delay) in list(pending.items()):
            if due > time.monotonic():
                continue
            report = api.get(report_id)
            status = report.get("processingStatus")
            if status == "DONE":
                del pending[report_id]
                done.append((req, report))
            elif status in FAILED:
                del pending[report_id]
                if req.attempts >= attempts:
                    raise ReportFailed(
                        f"amazon: report {report_id} ({req.report_type}, {_window(req)}) ended {status} "
                        f"{req.attempts} times"
                    )
                log.warning(
                    "amazon: report %s (%s, %s) ended %s; requesting it again (%d/%d)",
                    report_id,
                    req.report_type,
                    _window(req),
                    status,
                    req.attempts,
                    attempts,
                )
                queue.appendleft(req)
            else:
                pending[report_id] = (req, time.monotonic() + delay, min(api.poll_max_s, delay * 2))
        while done and _ready_in(_pacer(api.documents)) == 0.0:
            req, report = done.popleft()
            text = api.document(report["reportDocumentId"])
            progress.page(text.count("\n"))
            yield req, report, text
        waits = [due - time.monotonic() for _, due, _ in pending.values()]
        if queue and pending:
            waits.append(_ready_in(_pacer(api.creates)))
        if done:
            waits.append(_ready_in(_pacer(api.documents)))
        pause = max(0.0, min(waits, default=0.0))
        if pause > 0:  # at most a second at a time, so the caller can interleave other work
            time.sleep(min(pause, 1.0))
            yield None, None, None
    progress.done()


def _window(req: ReportRequest) -> str:
    return f"{utc_iso(req.start) if req.start else '-'}..{utc_iso(req.end) if req.end else 'now'}"


# --------------------------------------------------------------------------- order report rows -> orders


def _money(currency: str, value: str) -> dict[str, Any]:
    return {"CurrencyCode": currency or None, "Amount": value.strip() or None}


def _decimal(value: str | None) -> Decimal | None:
    try:
        return Decimal(value) if value not in (None, "") else None
    except InvalidOperation:
        return None


def item_keys(order_id: str, items: Sequence[dict[str, Any]]) -> None:
    """Give each item its stable key ``<AmazonOrderId>-<SellerSKU>-<n>`` (n: 1-based occurrence of the SKU in
    the order, in the order Amazon lists the items): the same on both paths, since report rows have no
    OrderItemId and one order can carry a SKU twice."""
    seen: dict[str, int] = {}
    for item in items:
        sku = str(item.get("SellerSKU") or "")
        seen[sku] = seen.get(sku, 0) + 1
        item["ItemKey"] = f"{order_id}-{sku}-{seen[sku]}"


def orders_from_rows(rows: Iterator[dict[str, str]], read_via: str) -> list[dict[str, Any]]:
    """Order report rows (one per item) as Orders v0 records with ``OrderItems`` (money stays strings: Decimal
    in staging), grouped by ``amazon-order-id`` in first-seen order. ``OrderTotal`` is Σ(item-price + item-tax
    + shipping-price − item-promotion-discount) as Amazon totals an order; none for a cancelled order (as
    getOrders), nor when an amount is missing (the contract quarantines that order on its item)."""
    orders: dict[str, dict[str, Any]] = {}
    totals: dict[str, Decimal | None] = {}
    for row in rows:
        order_id = row.get("amazon-order-id", "")
        currency = row.get("currency", "")
        order = orders.get(order_id)
        if order is None:
            status = REPORT_ORDER_STATUS.get(row.get("order-status", ""), row.get("order-status", ""))
            channel = row.get("sales-channel", "")
            order = orders[order_id] = {
                "AmazonOrderId": order_id,
                "PurchaseDate": utc_iso(parse_instant(row["purchase-date"])),
                "LastUpdateDate": utc_iso(parse_instant(row["last-updated-date"])),
                "OrderStatus": status,
                "FulfillmentChannel": {"Amazon": "AFN", "Merchant": "MFN"}.get(row.get("fulfillment-channel", "")),
                "SalesChannel": channel,
                "MarketplaceId": MARKETPLACE_BY_CHANNEL.get(channel),
                "ShipServiceLevel": row.get("ship-service-level") or None,
                "IsBusinessOrder": row.get("is-business-order", "").lower() == "true",
                "ReadVia": read_via,
                "OrderItems": [],
                "_currency": currency,
            }
            totals[order_id] = Decimal("0.00")
        order["OrderItems"].append(
            {
                "ASIN": row.get("asin"),
                "SellerSKU": row.get("sku"),
                "Title": row.get("product-name"),
                "QuantityOrdered": row.get("quantity"),  # a numeric string: the contract makes it an integer
                "ItemPrice": _money(currency, row.get("item-price", "")),
                "ItemTax": _money(currency, row.get("item-tax", "")),
                "ShippingPrice": _money(currency, row.get("shipping-price", "")),
                "PromotionDiscount": _money(currency, row.get("item-promotion-discount", "")),
            }
        )
        parts = [_decimal(row.get(c)) for c in ("item-price", "item-tax", "shipping-price", "item-promotion-discount")]
        running = totals[order_id]
        if running is None or any(p is None for p in parts):
            totals[order_id] = None
        else:
            price, tax, ship, promo = parts
            totals[order_id] = running + price + tax + ship - promo  # type: ignore[operator]
    out = []
    for order_id, order in orders.items():
        currency = order.pop("_currency")
        total = totals[order_id]
        if order["OrderStatus"] != "Canceled":
            order["OrderTotal"] = {"CurrencyCode": currency or None, "Amount": None if total is None else str(total)}
        item_keys(order_id, order["OrderItems"])
        out.append(order)
    return out


# --------------------------------------------------------------------------- the cost rule


def bucket_seconds(requests: int, limit: tuple[float, float]) -> float:
    """The least time ``requests`` calls take through a full token bucket (burst, rate/s)."""
    burst, rate = limit
    return max(0.0, (requests - burst) / rate)


def orders_api_seconds(orders: float, get_orders: tuple[float, float], get_items: tuple[float, float]) -> float:
    """getOrders (100 a page) + one getOrderItems per order, at the published limits (the buckets run side by side)."""
    return max(bucket_seconds(math.ceil(orders / 100), get_orders), bucket_seconds(math.ceil(orders), get_items))


def reports_seconds(windows: int, rows: float, processing_s: float, rows_per_s: float) -> float:
    """One order report per window: createReport and getReportDocument buckets, plus one report's processing
    (they run side by side on Amazon), assumed ``processing_s`` + ``rows`` ÷ ``rows_per_s``."""
    return max(bucket_seconds(windows, CREATE_REPORT_LIMIT), bucket_seconds(windows, GET_REPORT_DOCUMENT_LIMIT)) + (
        processing_s + rows / max(windows, 1) / rows_per_s
    )
