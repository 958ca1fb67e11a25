"""Amazon SP-API Reports 2021-06-30 (docs/architecture.md: Amazon orders through reports).

Operations (JSON bodies without a ``payload`` wrapper, errors as ``{"errors": [{code, message, details}]}``):

- ``POST /reports/2021-06-30/reports`` (createReport): ``{reportType, marketplaceIds, dataStartTime?,
  dataEndTime?, reportOptions?}`` -> 202 ``{"reportId"}``. 400 ``InvalidInput`` for a missing or unknown
  ``reportType``, no ``marketplaceIds`` (or an unknown one), a date that is not ISO 8601, ``dataStartTime`` after
  ``dataEndTime``, and for the order report a range over :data:`MAX_RANGE` (30 days) or a ``dataStartTime``
  older than :data:`LOOKBACK` (730 days: older orders come through ``getOrders``). ``dataEndTime`` defaults to
  now, ``dataStartTime`` to ``dataEndTime`` − 30 days; an end after now is clamped to now.
- ``GET .../reports/{reportId}`` (getReport): the report; ``processingStatus`` IN_QUEUE -> IN_PROGRESS -> DONE
  (with ``reportDocumentId``) or FATAL, or CANCELLED (cancelReport while IN_QUEUE). 404 ``NotFound``.
- ``GET .../reports`` (getReports): ``reportTypes`` (1..10, required without ``nextToken``),
  ``processingStatuses``, ``marketplaceIds``, ``pageSize`` 1..100 (default 10), ``createdSince`` (default and
  earliest now − 90 days), ``createdUntil`` (default now), ``nextToken`` (alone; it carries the filters). Newest
  first; lists requested reports and every :data:`SCHEDULED_REPORTS` report created before now.
- ``DELETE .../reports/{reportId}`` (cancelReport): 200 with an empty body for an IN_QUEUE report, else 400.
- ``GET .../documents/{reportDocumentId}`` (getReportDocument): ``{reportDocumentId, url}`` (+
  ``compressionAlgorithm: "GZIP"`` for a document over :data:`GZIP_OVER_BYTES`). ``url`` is a pre-signed
  S3-style URL (``X-Amz-*`` query) valid :data:`URL_TTL_S` (5 minutes) from the getReportDocument call. The
  download needs no Amazon token; an expired URL is S3's 403 ``AccessDenied`` "Request has expired", a bad
  signature 403 ``SignatureDoesNotMatch`` (XML). It sends ``ETag`` (the MD5 of the body, as S3 does for a single
  PUT) and honours ``Range: bytes=N-``.

``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL``: tab-separated UTF-8, a header line with the columns of
:data:`ORDER_COLUMNS`, one row per order item of every order of the marketplaces whose ``last-updated-date`` is
in [dataStartTime, dataEndTime), ordered by last-updated-date then order id. Dates as Amazon writes them in flat
files (``2024-05-01T13:04:11+00:00``); money as plain decimals in the order's currency; ``order-status`` as the
Orders API says it except ``Cancelled`` (as the flat files spell it); ``fulfillment-channel`` ``Amazon``.

Processing: a background thread per report. ``real``: :data:`REAL_QUEUE_S` in the queue, then
:data:`REAL_ROWS_PER_S` rows a second (Amazon publishes no figure: an assumption; reports are processed in
parallel); ``demo``: :data:`DEMO_QUEUE_S` and no pacing; ``off``: no wait. Faults: under ``light``/``heavy`` a
seeded share (:data:`FAIL_RATES`) of requested reports ends FATAL (tests force the next ones with
``state(app).fail_next``); under ``heavy`` the bad Amazon orders of ``faults.classify`` are written bad (currency
``XXX`` on every row, a negative quantity or an empty item-price on the first row), as getOrders serves them.

Reports Amazon generates on its own schedule (the settlement report) are never created by a client:
``getReports`` lists them and ``getReportDocument`` serves them. A module that produces such a report
registers a function in ``SCHEDULED_REPORTS``: report type -> every report of that type the world has
generated (those with ``created_time`` before the world's ``now`` are visible).
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.commerce_world import AMAZON_MARKETPLACES, AmazonOrder
from sandbox.faults import UNKNOWN_CURRENCY, classify
from sandbox.protocol import Request, Response, decode_cursor, encode_cursor, iso_z, parse_time
from sandbox.s3_presigned import Bucket, s3_error

if TYPE_CHECKING:
    from sandbox.world import World


@dataclass(frozen=True)
class ScheduledReport:
    """A report Amazon generates on its own schedule: listed by ``getReports``, never requested."""

    report_type: str
    report_id: str  # digits, as Amazon's report ids
    marketplace_ids: tuple[str, ...]
    data_start_time: datetime
    data_end_time: datetime
    created_time: datetime  # when Amazon generated it (listed once before the world's now)
    content: Callable[[], bytes]  # the document body (UTF-8, tab-separated), rendered on demand


# report type -> every report of that type the world generates
SCHEDULED_REPORTS: dict[str, Callable[[World], list[ScheduledReport]]] = {}


ORDERS_REPORT = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
ORDER_COLUMNS = (
    "amazon-order-id",
    "merchant-order-id",
    "purchase-date",
    "last-updated-date",
    "order-status",
    "fulfillment-channel",
    "sales-channel",
    "order-channel",
    "ship-service-level",
    "product-name",
    "sku",
    "asin",
    "item-status",
    "quantity",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "gift-wrap-price",
    "gift-wrap-tax",
    "item-promotion-discount",
    "ship-promotion-discount",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "promotion-ids",
    "is-business-order",
    "purchase-order-number",
    "price-designation",
)
MAX_RANGE = timedelta(days=30)  # the order reports: "a date range of up to 30 days"
LOOKBACK = timedelta(days=730)  # order data of about the last two years
LIST_WINDOW = timedelta(days=90)  # getReports: createdSince at most 90 days back
MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE, MAX_LIST_ITEMS = 100, 10, 10
REAL_QUEUE_S = 30.0
REAL_ROWS_PER_S = 500.0
DEMO_QUEUE_S = 0.05
URL_TTL_S = 300  # tests shorten it
GZIP_OVER_BYTES = 64 * 1024  # documents larger than this are served gzipped (tests lower it)
FAIL_RATES = {"none": 0.0, "light": 0.02, "heavy": 0.08}
CLOCK = time.time  # the signing clock (tests may replace it)
BUCKET = "tortuga-prod-na"  # the S3 bucket of the document URLs (path /<bucket>/<document id>)
S3_SIGNING_KEY = b"sandbox-sp-api-report-documents"  # the sandbox's stand-in for AWS's signing key
S3_ACCESS_KEY = "ASIASANDBOXSPREPORTS0"
DOCUMENTS = Bucket(BUCKET, S3_SIGNING_KEY, S3_ACCESS_KEY)
REQUESTABLE = (ORDERS_REPORT,)


def error(status: int, code: str, message: str) -> Response:
    return Response(status, {"errors": [{"code": code, "message": message, "details": ""}]})


@dataclass
class Report:
    report_id: str
    report_type: str
    marketplace_ids: tuple[str, ...]
    data_start: datetime
    data_end: datetime
    created: datetime
    options: dict[str, str] = field(default_factory=dict)
    status: str = "IN_QUEUE"
    started: datetime | None = None
    finished: datetime | None = None
    document_id: str | None = None
    fatal: bool = False
    rows: int = 0


@dataclass
class Document:
    document_id: str
    data: bytes  # as stored (gzipped when compressed)
    compressed: bool


@dataclass
class ReportsState:
    epoch: float = field(default_factory=time.monotonic)
    reports: dict[str, Report] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_id: int = 50_000_000_000
    created: int = 0
    fail_next: int = 0  # tests: how many of the next requested reports end FATAL


_STATES: dict[int, ReportsState] = {}
_STATES_LOCK = threading.Lock()


def state(app: Any) -> ReportsState:
    """The reports of one sandbox app, kept beside it."""
    with _STATES_LOCK:
        found = _STATES.get(id(app))
        if found is None:
            found = _STATES[id(app)] = ReportsState()
            if app is not None:
                weakref.finalize(app, _STATES.pop, id(app), None)
        return found


def _mode(app: Any) -> str:
    return getattr(getattr(app, "limiter", None), "mode", "off")


def _now(world: World, st: ReportsState) -> datetime:
    """The API's clock: the world's now, moving with the seconds the sandbox has been up (createdTime etc.)."""
    return world.config.now + timedelta(seconds=time.monotonic() - st.epoch)


def _unit(*parts: object) -> float:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _flat_date(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- the order report


def order_rows(a: AmazonOrder, bad_seed: int | None) -> list[list[str]]:
    """The report rows of one order (one per item); ``bad_seed``: the world seed under heavy faults."""
    country, currency, channel, _, _ = AMAZON_MARKETPLACES[a.marketplace_id]
    status = "Cancelled" if a.status == "Canceled" else a.status
    bad = classify(bad_seed, "amazon.orders", a.order_id) if bad_seed is not None else None
    rows = []
    for n, i in enumerate(a.items):
        qty, price = str(i.quantity), str(i.item_price)
        if bad is not None and n == 0 and bad.reason == "negative_quantity":
            qty = str(-abs(i.quantity))
        if bad is not None and n == 0 and bad.reason == "null_amount":
            price = ""
        ccy = UNKNOWN_CURRENCY if bad is not None and bad.reason == "unknown_currency" else currency
        values = {
            "amazon-order-id": a.order_id,
            "purchase-date": _flat_date(a.purchase_date),
            "last-updated-date": _flat_date(a.last_update),
            "order-status": status,
            "fulfillment-channel": "Amazon",
            "sales-channel": channel,
            "ship-service-level": "Std " + country,
            "product-name": i.product.title,
            "sku": i.product.sku,
            "asin": f"B0{i.product.product_id % 10**8:08d}",
            "item-status": "Cancelled" if a.status == "Canceled" else a.status,
            "quantity": qty,
            "currency": ccy,
            "item-price": price,
            "item-tax": str(i.item_tax),
            "shipping-price": str(i.shipping_price),
            "shipping-tax": "0.00",
            "gift-wrap-price": "0.00",
            "gift-wrap-tax": "0.00",
            "item-promotion-discount": str(i.promotion_discount),
            "ship-promotion-discount": "0.00",
            "ship-country": country,
            "promotion-ids": f"PLM-{a.order_id}-{n}" if i.promotion_discount > Decimal(0) else "",
            "is-business-order": "false",
        }
        rows.append([values.get(c, "") for c in ORDER_COLUMNS])
    return rows


def _orders_in(world: World, r: Report) -> list[AmazonOrder]:
    markets = set(r.marketplace_ids)
    return sorted(
        (a for a in world.amazon_orders if a.marketplace_id in markets and r.data_start <= a.last_update < r.data_end),
        key=lambda a: (a.last_update, a.order_id),
    )


def _process(app: Any, world: World, st: ReportsState, r: Report) -> None:
    """The background work of one report: queue, then rows at the mode's pace, then the document."""
    try:
        mode = _mode(app)
        time.sleep(REAL_QUEUE_S if mode == "real" else DEMO_QUEUE_S if mode == "demo" else 0.0)
        with st.lock:
            if r.status == "CANCELLED":
                return
            r.status, r.started = "IN_PROGRESS", _now(world, st)
        heavy = getattr(app, "fault_mode", "none") == "heavy"
        lines = ["\t".join(ORDER_COLUMNS)]
        began = time.monotonic()
        for a in _orders_in(world, r):
            for row in order_rows(a, world.config.seed if heavy else None):
                lines.append("\t".join(v.replace("\t", " ") for v in row))
            r.rows = len(lines) - 1
            if mode == "real":
                ahead = r.rows / REAL_ROWS_PER_S - (time.monotonic() - began)
                if ahead > 0.05:
                    time.sleep(ahead)
        with st.lock:
            r.finished = _now(world, st)
            if r.fatal:
                r.status = "FATAL"
                return
            data = ("\n".join(lines) + "\n").encode()
            doc_id = f"amzn1.spdoc.1.4.na.{hashlib.sha256(r.report_id.encode()).hexdigest()[:32]}"
            compressed = len(data) > GZIP_OVER_BYTES
            st.documents[doc_id] = Document(doc_id, gzip.compress(data, mtime=0) if compressed else data, compressed)
            r.document_id, r.status = doc_id, "DONE"
    except Exception:  # a sandbox bug ends the report FATAL, as an internal error would on Amazon
        r.status, r.finished = "FATAL", _now(world, st)
        raise


# --------------------------------------------------------------------------- scheduled reports


def _scheduled(world: World, st: ReportsState, report_types: list[str] | None = None) -> list[Report]:
    """Every registered scheduled report created before the world's now, as a DONE report with its document."""
    out = []
    for rt, produce in SCHEDULED_REPORTS.items():
        if report_types is not None and rt not in report_types:
            continue
        for s in produce(world):
            if s.created_time >= world.config.now:
                continue
            doc_id = f"amzn1.spdoc.1.4.na.sched{s.report_id}"
            if doc_id not in st.documents:
                st.documents[doc_id] = _LazyDocument(doc_id, s.content)  # type: ignore[assignment]
            out.append(
                Report(
                    s.report_id,
                    s.report_type,
                    s.marketplace_ids,
                    s.data_start_time,
                    s.data_end_time,
                    s.created_time,
                    status="DONE",
                    started=s.created_time,
                    finished=s.created_time,
                    document_id=doc_id,
                )
            )
    return out


class _LazyDocument:
    """A scheduled report's document, rendered on its first download."""

    def __init__(self, document_id: str, content: Callable[[], bytes]) -> None:
        self.document_id, self._content, self._data = document_id, content, None
        self.compressed = False

    @property
    def data(self) -> bytes:
        if self._data is None:
            raw = self._content()
            self.compressed = len(raw) > GZIP_OVER_BYTES
            self._data = gzip.compress(raw, mtime=0) if self.compressed else raw
        return self._data


def render(r: Report) -> dict[str, Any]:
    out: dict[str, Any] = {
        "reportId": r.report_id,
        "reportType": r.report_type,
        "dataStartTime": iso_z(r.data_start),
        "dataEndTime": iso_z(r.data_end),
        "marketplaceIds": list(r.marketplace_ids),
        "createdTime": iso_z(r.created),
        "processingStatus": r.status,
    }
    if r.started is not None:
        out["processingStartTime"] = iso_z(r.started)
    if r.finished is not None and r.status in ("DONE", "FATAL", "CANCELLED"):
        out["processingEndTime"] = iso_z(r.finished)
    if r.document_id is not None and r.status == "DONE":
        out["reportDocumentId"] = r.document_id
    return out


# --------------------------------------------------------------------------- operations


def create_report(req: Request, world: World, app: Any = None) -> Response:
    st = state(app)
    try:
        body = req.json()
    except ValueError:
        return error(400, "InvalidInput", "The request body is not valid JSON.")
    if not isinstance(body, dict):
        return error(400, "InvalidInput", "The request body must be a JSON object.")
    report_type = body.get("reportType")
    if not report_type:
        return error(400, "InvalidInput", "reportType is required.")
    if report_type not in REQUESTABLE:
        return error(400, "InvalidInput", f"Invalid Report Type {report_type}")
    markets = body.get("marketplaceIds")
    if not isinstance(markets, list) or not markets:
        return error(400, "InvalidInput", "marketplaceIds is required.")
    unknown = [m for m in markets if m not in AMAZON_MARKETPLACES]
    if unknown:
        return error(400, "InvalidInput", f"Invalid marketplaceIds: {','.join(map(str, unknown))}")
    options = body.get("reportOptions") or {}
    if not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values()):
        return error(400, "InvalidInput", "reportOptions must be an object of string values.")
    now = world.config.now
    try:
        end = parse_time(body["dataEndTime"]) if body.get("dataEndTime") else now
        start = parse_time(body["dataStartTime"]) if body.get("dataStartTime") else end - MAX_RANGE
    except (ValueError, TypeError, AttributeError):
        return error(400, "InvalidInput", "dataStartTime and dataEndTime must be ISO 8601 date-times.")
    end = min(end, now)
    if start > end:
        return error(400, "InvalidInput", "dataStartTime must be before dataEndTime.")
    if end - start > MAX_RANGE:
        return error(
            400,
            "InvalidInput",
            f"The date range of {report_type} can be at most {MAX_RANGE.days} days (dataStartTime to dataEndTime).",
        )
    if start < now - LOOKBACK:
        return error(
            400,
            "InvalidInput",
            f"dataStartTime is too far in the past: {report_type} covers the last {LOOKBACK.days} days.",
        )
    with st.lock:
        st.next_id += 1
        st.created += 1
        report = Report(str(st.next_id), report_type, tuple(markets), start, end, _now(world, st), dict(options))
        rate = FAIL_RATES.get(getattr(app, "fault_mode", "none"), 0.0)
        if st.fail_next > 0:
            st.fail_next -= 1
            report.fatal = True
        elif rate and _unit(getattr(app, "fault_seed", 0), "report-fatal", st.created) < rate:
            report.fatal = True
        st.reports[report.report_id] = report
    threading.Thread(
        target=_process, args=(app, world, st, report), name=f"sp-report-{report.report_id}", daemon=True
    ).start()
    return Response(202, {"reportId": report.report_id})


def _find(world: World, st: ReportsState, report_id: str) -> Report | None:
    found = st.reports.get(report_id)
    if found is None:
        found = next((r for r in _scheduled(world, st) if r.report_id == report_id), None)
    return found


def get_report(req: Request, world: World, report_id: str, app: Any = None) -> Response:
    st = state(app)
    with st.lock:
        found = _find(world, st, report_id)
        if found is None:
            return error(404, "NotFound", f"Report {report_id} was not found.")
        return Response(200, render(found))


def cancel_report(req: Request, world: World, report_id: str, app: Any = None) -> Response:
    st = state(app)
    with st.lock:
        found = _find(world, st, report_id)
        if found is None:
            return error(404, "NotFound", f"Report {report_id} was not found.")
        if found.status != "IN_QUEUE":
            return error(
                400, "InvalidInput", f"Report {report_id} is {found.status}: only IN_QUEUE reports can be cancelled."
            )
        found.status, found.finished = "CANCELLED", _now(world, st)
    return Response(200, b"", {"Content-Type": "application/json"})


STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")


def get_reports(req: Request, world: World, app: Any = None) -> Response:
    st = state(app)
    q = req.query
    now = _now(world, st)
    if "nextToken" in q:
        try:
            f = decode_cursor(q["nextToken"])
            types, statuses, markets = f["t"], f["s"], f["m"]
            since, until, size, offset = parse_time(f["a"]), parse_time(f["b"]), int(f["n"]), int(f["o"])
        except (ValueError, KeyError, TypeError):
            return error(400, "InvalidInput", "Invalid nextToken.")
    else:
        types = req.values("reportTypes")
        if not types:
            return error(400, "InvalidInput", "reportTypes is required when nextToken is not provided.")
        statuses = req.values("processingStatuses")
        markets = req.values("marketplaceIds")
        for name, values in (("reportTypes", types), ("processingStatuses", statuses), ("marketplaceIds", markets)):
            if values is not None and len(values) > MAX_LIST_ITEMS:
                return error(400, "InvalidInput", f"{name} may list at most {MAX_LIST_ITEMS} values.")
        bad = [s for s in statuses or () if s not in STATUSES]
        if bad:
            return error(400, "InvalidInput", f"Invalid processingStatuses: {','.join(bad)}")
        try:
            size = int(q.get("pageSize", DEFAULT_PAGE_SIZE))
            since = parse_time(q["createdSince"]) if "createdSince" in q else now - LIST_WINDOW
            until = parse_time(q["createdUntil"]) if "createdUntil" in q else now
        except ValueError:
            return error(400, "InvalidInput", "pageSize must be a number; createdSince/createdUntil ISO 8601.")
        if not 1 <= size <= MAX_PAGE_SIZE:
            return error(400, "InvalidInput", f"pageSize must be between 1 and {MAX_PAGE_SIZE}.")
        if since < now - LIST_WINDOW - timedelta(seconds=1):
            return error(400, "InvalidInput", f"createdSince can be at most {LIST_WINDOW.days} days in the past.")
        if since > until:
            return error(400, "InvalidInput", "createdSince must be before createdUntil.")
        offset = 0
    with st.lock:
        candidates = [*st.reports.values(), *_scheduled(world, st, types)]
        matching = [
            r
            for r in candidates
            if r.report_type in types
            and (not statuses or r.status in statuses)
            and (not markets or set(r.marketplace_ids) & set(markets))
            and since <= r.created <= until
        ]
        matching.sort(key=lambda r: (r.created, r.report_id), reverse=True)
        page = [render(r) for r in matching[offset : offset + size]]
    body: dict[str, Any] = {"reports": page}
    if offset + size < len(matching):
        body["nextToken"] = encode_cursor(
            {
                "t": types,
                "s": statuses,
                "m": markets,
                "a": since.isoformat(),
                "b": until.isoformat(),
                "n": size,
                "o": offset + size,
            }
        )
    return Response(200, body)


def presign(base_url: str, key: str) -> str:
    return DOCUMENTS.presign(base_url, key, CLOCK(), URL_TTL_S)


def get_report_document(req: Request, world: World, document_id: str, app: Any = None) -> Response:
    st = state(app)
    with st.lock:
        if document_id not in st.documents:
            _scheduled(world, st)  # a scheduled report's document is known once listed
        doc = st.documents.get(document_id)
    if doc is None:
        return error(404, "NotFound", f"Report document {document_id} was not found.")
    data = doc.data  # renders a scheduled document, which decides its compression
    body: dict[str, Any] = {"reportDocumentId": document_id, "url": presign(req.base_url, document_id)}
    if doc.compressed:
        body["compressionAlgorithm"] = "GZIP"
    del data
    return Response(200, body)


def download(req: Request, world: World, key: str, app: Any = None) -> Response:
    st = state(app)
    refused = DOCUMENTS.refuse(req, key, CLOCK())
    if refused is not None:
        return refused
    doc = st.documents.get(key)
    if doc is None:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
    data = doc.data
    headers = {"Content-Type": "application/octet-stream", "ETag": f'"{hashlib.md5(data).hexdigest()}"'}
    wanted = req.headers.get("range", "")
    if wanted.startswith("bytes=") and wanted[6:].rstrip("-").isdigit():
        offset = int(wanted[6:].rstrip("-"))
        if offset >= len(data):
            return s3_error(416, "InvalidRange", "The requested range is not satisfiable", RangeRequested=wanted)
        headers["Content-Range"] = f"bytes {offset}-{len(data) - 1}/{len(data)}"
        return Response(206, data[offset:], headers)
    return Response(200, data, headers)


for _handler in (create_report, get_report, cancel_report, get_reports, get_report_document, download):
    _handler.wants_app = True  # type: ignore[attr-defined]
