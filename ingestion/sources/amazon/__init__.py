"""Amazon SP-API source into ``raw_amazon``, authenticated through LWA: orders with their order items
(Orders v0, or the order report of Reports 2021-06-30 for bulk: reports.py), the money lines of every financial
event list (Finances v0) and the settlement reports."""

from __future__ import annotations

import itertools
import logging
import math
import queue
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import dlt
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from ingestion.http.auth import RefreshTokenAuth
from ingestion.http.client import pages, rest_client
from ingestion.http.pacing import Pacer
from ingestion.http.session import IngestionHTTPError
from ingestion.incremental import UpdateCursor, incremental_pages, parse_instant, utc_iso
from ingestion.sources.amazon.contracts import financial_events_contract, orders_contract
from ingestion.sources.amazon.finances import (
    _exact_amount,
    exact_json,
    financial_event_key,
    financial_event_lines,
    posted_date,
    shipped_order_items,
)
from ingestion.sources.amazon.reports import (
    ReportRequest,
    ReportsApi,
    item_keys,
    orders_api_seconds,
    orders_from_rows,
    reports_seconds,
    run_reports,
    tsv_rows,
)
from ingestion.sources.amazon.settings import (
    EVENT_LISTS,
    GET_ORDER_ITEMS_LIMIT,
    GET_ORDERS_LIMIT,
    LIST_FINANCIAL_EVENTS_LIMIT,
    MARKETPLACES,
    MAX_POSTED_SPAN,
    NESTED_TABLES,
    ORDERS_REPORT,
    ORDERS_REPORT_LOOKBACK,
    ORDERS_REPORT_LOOKBACK_MARGIN,
    ORDERS_REPORT_MAX_RANGE,
    REPORT_PROCESSING_S,
    REPORT_ROWS_PER_S,
    ROWS_PER_ORDER,
    rate_limit_reading,
)
from ingestion.sources.amazon.settlements import settlements_resource

__all__ = ["NESTED_TABLES", "amazon_source", "exact_json", "financial_event_lines", "financial_events_contract"]

log = logging.getLogger("salesdw.ingestion")
EVENTS_PER_BATCH = 500  # events split and flattened at a time
SHIPMENT_MARGIN = timedelta(days=30)  # history items: shipment events read this far around the orders' window


def fully_shipped(order: dict[str, Any], items: list[dict[str, Any]]) -> bool:
    """Do ``items`` (from shipment events) account for the whole order? Shipped, nothing unshipped, and the
    units the events shipped equal getOrders' ``NumberOfItemsShipped``; otherwise (cancelled, pending, a
    shipment not posted yet or not read) the order's items come from getOrderItems."""
    shipped = order.get("NumberOfItemsShipped")
    return (
        order.get("OrderStatus") == "Shipped"
        and not order.get("NumberOfItemsUnshipped")
        and isinstance(shipped, int)
        and shipped > 0
        and sum(int(i["QuantityOrdered"]) for i in items) == shipped
    )


def batched(events: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for event in events:
        batch.append(event)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _is_invalid_input(exc: IngestionHTTPError) -> bool:
    return "HTTP 400" in str(exc) and "InvalidInput" in str(exc)


def lwa_auth(token_url: str, client_id: str, client_secret: str, refresh_token: str) -> RefreshTokenAuth:
    """Login with Amazon: client credentials in the form; the token goes in ``x-amz-access-token``."""
    return RefreshTokenAuth(
        "amazon",
        token_url,
        client_id,
        client_secret,
        refresh_token,
        basic_client_auth=False,
        header="x-amz-access-token",
        prefix="",
    )


@dlt.source(name="amazon", max_table_nesting=2)
def amazon_source(
    endpoint: str = dlt.config.value,
    token_url: str = dlt.config.value,
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    refresh_token: str = dlt.secrets.value,
    marketplace_ids: tuple[str, ...] = MARKETPLACES,
    start_date: str = "2023-11-01T00:00:00Z",
    lookback_minutes: int = 60,
    finances_lookback_days: int = 2,
    finances_page_size: int = 100,
    orders_via: str = "auto",
    report_attempts: int = 3,
    reports_poll_max_s: float = 5.0,
) -> Any:
    auth = lwa_auth(token_url, client_id, client_secret, refresh_token)

    def client(operation: str, limit: tuple[float, float], paged: bool = True) -> Any:
        """A client for one SP-API operation, paced by its own token bucket (burst, rate/s as published)."""
        paginator = JSONResponseCursorPaginator(cursor_path="payload.NextToken", cursor_param="NextToken")
        return rest_client(
            "amazon",
            operation,
            endpoint,
            auth=auth,
            paginator=paginator if paged else None,
            pacer=Pacer(*limit, read_headers=rate_limit_reading),
        )

    orders_client = client("orders", GET_ORDERS_LIMIT)
    items_client = client("order_items", GET_ORDER_ITEMS_LIMIT, paged=False)
    reports_api = ReportsApi(lambda name, limit: client(name, limit, paged=False))
    reports_api.poll_max_s = reports_poll_max_s
    markets = ",".join(marketplace_ids)

    def with_items(
        order_pages: Iterator[list[dict[str, Any]]],
        shipped: dict[str, list[dict[str, Any]]] | None = None,
        unloaded: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Each order of each page with its ``OrderItems``: from ``shipped`` (its shipment events, see
        :func:`history_items`) when they account for every unit the order shipped, else one getOrderItems call.
        Only the ``unloaded`` orders of a page (the cursor's lookback re-reads loaded versions) are kept, before any
        call."""
        for page in order_pages:
            page = unloaded(page) if unloaded else page
            for order in page:
                derived = (shipped or {}).get(order["AmazonOrderId"])
                if derived is not None and fully_shipped(order, derived):
                    order["OrderItems"], order["ReadVia"] = derived, "getOrders+ShipmentEvents"
                else:
                    order["OrderItems"] = items_client.get(
                        f"orders/v0/orders/{order['AmazonOrderId']}/orderItems"
                    ).json()["payload"]["OrderItems"]
                    order["ReadVia"] = "getOrders"
                item_keys(order["AmazonOrderId"], order["OrderItems"])
            yield page

    def history_items(after: datetime, before: datetime) -> dict[str, list[dict[str, Any]]]:
        """Order items of the orders shipped in [after, before) from their ShipmentEvents (listFinancialEvents
        in windows of at most 180 days, the financial events resource's bucket): a page of 100 events instead of
        100 getOrderItems calls for history the order reports no longer cover."""
        shipments: list[dict[str, Any]] = []
        at = after
        while at < before:
            end = min(at + MAX_POSTED_SPAN, before)
            shipments += [e for e in read_window(at, end) if e["EventType"] == "shipment"]
            at = end
        found = shipped_order_items(shipments)
        log.info(
            "amazon/orders: %d shipment event(s) %s..%s give the items of %d order(s) older than the reports' lookback",
            len(shipments),
            utc_iso(after),
            utc_iso(before),
            len(found),
        )
        return found

    def through_reports(
        start: datetime, before: datetime, history: Iterator[list[dict[str, Any]]] | None
    ) -> Iterator[list[dict[str, Any]]]:
        """Order reports over [start, before) in windows of the maximum range, pipelined; ``history`` (getOrders
        pages of what is older than the reports' lookback) is read meanwhile in a thread of its own (other
        token buckets), its pages handed on between the reports' steps."""
        windows: list[ReportRequest] = []
        at = start
        while at < before:
            end = min(at + ORDERS_REPORT_MAX_RANGE, before)
            windows.append(ReportRequest(ORDERS_REPORT, tuple(marketplace_ids), at, end))
            at = end
        found: queue.Queue[Any] = queue.Queue(maxsize=8)
        stop = threading.Event()
        finished = object()

        def read_history() -> None:
            try:
                for page in history or ():
                    if stop.is_set():
                        return
                    found.put(page)
            except BaseException as exc:  # handed to the main thread, raised there
                found.put(exc)
            finally:
                found.put(finished)

        history_read = threading.Event()  # the main thread has taken the reader's last item

        def drain(block: bool) -> Iterator[list[dict[str, Any]]]:
            while not history_read.is_set():
                try:
                    item = found.get(block=block)
                except queue.Empty:
                    return
                if item is finished:
                    history_read.set()
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item

        reader = threading.Thread(target=read_history, name="amazon-orders-history", daemon=True)
        reader.start()
        history_done = False
        try:
            for _, report, text in run_reports(reports_api, windows, attempts=report_attempts):
                yield from drain(block=False)
                if text is None or report is None:
                    yield []  # waiting on Amazon: control back to dlt's round robin
                    continue
                yield orders_from_rows(tsv_rows(text), f"report:{report['reportId']}")
            yield from drain(block=True)
            history_done = True
        finally:
            if not history_done:
                stop.set()

    @dlt.resource(
        name="orders",
        primary_key="amazon_order_id",
        write_disposition="merge",
        columns={c: {"data_type": "text"} for c in ("buyer_info__buyer_email", "read_via")},
        # getOrderItems' OrderItemId: declared, so staging finds the column when every item came from a report
        nested_hints={
            "order_items": dlt.mark.make_nested_hints(columns=[{"name": "order_item_id", "data_type": "text"}])
        },
    )
    def orders() -> Iterator[list[dict[str, Any]]]:
        """Orders changed since the cursor (less ``lookback_minutes``), each with its ``OrderItems`` (a nested
        table, replaced on merge), through getOrders + getOrderItems or the order report, whichever costs fewer
        seconds at the published limits (docs/architecture.md: Amazon orders through reports).

        A probe (one getOrders page from the cursor) gives the API's clock (``LastUpdatedBefore``, now − 2
        minutes) and the orders to expect (the page's count, or 100 × the window ÷ the time the page spans).
        What is older than the reports' lookback (730 days, less a day of margin) always comes through
        getOrders. For the rest: ``orders_via`` ``auto`` compares :func:`orders_api_seconds` with
        :func:`reports_seconds` for the expected orders; ``reports`` / ``orders_api`` force one path. Both paths
        give the same record shape (:func:`orders_from_rows`), with ``ItemKey`` on every item and ``ReadVia``
        (``getOrders`` or ``report:<reportId>``)."""
        cursor = UpdateCursor(start_date, timedelta(minutes=lookback_minutes))
        contract = orders_contract()
        params: dict[str, Any] = {
            "MarketplaceIds": markets,
            "LastUpdatedAfter": utc_iso(cursor.start),
            "MaxResultsPerPage": 100,
        }

        def order_id(order: dict[str, Any]) -> str:
            return order["AmazonOrderId"]

        def updated(order: dict[str, Any]) -> str:
            return order["LastUpdateDate"]

        def read() -> Iterator[list[dict[str, Any]]]:
            start = cursor.start
            try:
                probe = orders_client.get("orders/v0/orders", params=params).json()["payload"]
            except IngestionHTTPError as exc:
                if _is_invalid_input(exc) and "2 minutes" in str(exc):
                    return  # the cursor is within the API's last 2 minutes: nothing to read yet
                raise
            before = parse_instant(probe["LastUpdatedBefore"])
            first, token = probe.get("Orders") or [], probe.get("NextToken")
            if token is None:
                expected = float(len(first))
            else:
                spanned = (parse_instant(first[-1]["LastUpdateDate"]) - start).total_seconds()
                expected = 100 * (before - start).total_seconds() / max(spanned, 1.0)
            floor = before - ORDERS_REPORT_LOOKBACK + ORDERS_REPORT_LOOKBACK_MARGIN
            recent = max(start, floor)
            share = (before - recent) / (before - start) if before > start else 0.0
            recent_orders = expected * share
            windows = math.ceil((before - recent) / ORDERS_REPORT_MAX_RANGE) if before > recent else 0
            api_s = orders_api_seconds(recent_orders, GET_ORDERS_LIMIT, GET_ORDER_ITEMS_LIMIT)
            report_s = (
                reports_seconds(windows, recent_orders * ROWS_PER_ORDER, REPORT_PROCESSING_S, REPORT_ROWS_PER_S)
                if windows
                else math.inf
            )
            use_reports = windows > 0 and (orders_via == "reports" or (orders_via == "auto" and report_s < api_s))
            log.info(
                "amazon/orders: %s..%s, ~%.0f orders expected (%.0f within the reports' lookback): getOrders "
                "~%.0fs, %d order report(s) ~%.0fs at the published limits -> %s",
                utc_iso(start),
                utc_iso(before),
                expected,
                recent_orders,
                api_s,
                windows,
                report_s,
                "reports" if use_reports else "getOrders",
            )
            if not use_reports:
                rest = (
                    pages(
                        orders_client,
                        "orders/v0/orders",
                        params={**params, "NextToken": token},
                        data_selector="payload.Orders",
                    )
                    if token
                    else iter(())
                )
                yield from with_items(
                    itertools.chain([first], rest), unloaded=lambda page: cursor.unloaded(page, order_id, updated)
                )
                return
            history = None
            if start < floor:
                # read in the history thread: the items first (shipment events up to a margin past the floor,
                # where the last of those orders shipped), then the getOrders pages
                def history_pages() -> Iterator[list[dict[str, Any]]]:
                    shipped = history_items(start - SHIPMENT_MARGIN, min(floor + SHIPMENT_MARGIN, before))
                    yield from with_items(
                        pages(
                            orders_client,
                            "orders/v0/orders",
                            params={**params, "LastUpdatedBefore": utc_iso(floor)},
                            data_selector="payload.Orders",
                        ),
                        shipped,
                    )

                history = history_pages()
            yield from through_reports(recent, before, history)

        yield from incremental_pages(cursor, read(), updated, contract, record_id=order_id)
        if cursor.skipped:
            log.info("amazon/orders: %d order(s) re-read in the version already loaded, left out", cursor.skipped)

    finances_client = client("financial_events", LIST_FINANCIAL_EVENTS_LIMIT)

    def read_window(posted_after: datetime, posted_before: datetime | None) -> Iterator[dict[str, Any]]:
        """Every event of the lists read (``EVENT_LISTS``) posted in [after, before), ``EventType`` and
        ``EventKey`` added; ``before`` None: up to the API's own default, its clock − 2 minutes."""
        params: dict[str, Any] = {"PostedAfter": utc_iso(posted_after), "MaxResultsPerPage": finances_page_size}
        if posted_before is not None:
            params["PostedBefore"] = utc_iso(posted_before)
        for page in pages(
            finances_client,
            "finances/v0/financialEvents",
            params=params,
            data_selector="payload.FinancialEvents",
            hooks={"response": [exact_json]},
        ):
            for lists in page:
                for list_name, events in lists.items():
                    if list_name not in EVENT_LISTS:
                        if events:
                            log.warning("amazon/financial_events: %d event(s) of %s not loaded", len(events), list_name)
                        continue
                    for event in events or []:
                        event["EventType"] = EVENT_LISTS[list_name][0]
                        event["EventKey"] = financial_event_key(event)
                        yield event

    def windows(start: datetime) -> Iterator[dict[str, Any]]:
        """Events from ``start`` to the API's upper bound, in windows of at most 180 days.

        The bound is the API's clock − 2 minutes, which is not ours (the sandbox runs a simulated clock),
        so the last window leaves ``PostedBefore`` to the API. Each step first asks for everything from
        ``after`` on; if the API refuses (400 ``InvalidInput``: more than 180 days to its clock), it reads
        the 180 days from ``after`` explicitly and moves on. An incremental run is one open window; a
        backfill costs one refused request per 180 days. A genuinely invalid request fails the explicit
        window too and is raised.
        """
        after = start
        while True:
            started = False
            try:
                for event in read_window(after, None):
                    started = True
                    yield event
                return
            except IngestionHTTPError as exc:
                if started or not _is_invalid_input(exc):
                    raise
                log.info(
                    "amazon/financial_events: more than %d days from %s to the API's clock, reading a %d-day window",
                    MAX_POSTED_SPAN.days,
                    utc_iso(after),
                    MAX_POSTED_SPAN.days,
                )
            before = after + MAX_POSTED_SPAN
            yield from read_window(after, before)
            after = before

    @dlt.resource(
        name="financial_events",
        table_name="financial_event_lines",
        primary_key="event_line_id",
        write_disposition="merge",
        columns={
            "amount": {"data_type": "decimal", "precision": 18, "scale": 2},
            "posted_date": {"data_type": "text"},
            "quantity": {"data_type": "bigint"},
            **{
                c: {"data_type": "text"}
                for c in (
                    "amazon_order_id",
                    "marketplace_name",
                    "order_item_id",
                    "order_adjustment_item_id",
                    "seller_sku",
                    "promotion_id",
                    "event_reference",
                )
            },
        },
    )
    def financial_events() -> Iterator[Any]:
        """Money lines of every Finances v0 event list the business gets, one row per line, signed as Amazon posts them.

        Read: ``listFinancialEvents`` by ``PostedDate`` from the cursor (the latest ``PostedDate`` loaded,
        less ``finances_lookback_days`` for events posted late) to the API's clock, in windows of at most
        180 days (see ``windows``), ``NextToken`` pages. Events are immutable once posted, so re-reads
        of the lookback merge onto the same rows. ``CurrencyAmount`` (a JSON number) is parsed as
        ``Decimal`` (``exact_json``), never a float, and stored as DECIMAL(18,2).

        Flattened (events carry no id): ``line_kind`` charge | fee | promotion | other, ``line_type`` the
        fee type / charge type / what the amount is, ``seller_sku`` where the event has one:

        - ``ShipmentEventList`` (``ShipmentItemList``) and ``RefundEventList`` (``ShipmentItemAdjustmentList``):
          one row per entry of each item's money lists: ``ItemChargeList``/``ItemChargeAdjustmentList`` ->
          ``charge`` (``ChargeType``: Principal, Tax, ShippingCharge), ``ItemFeeList``/``ItemFeeAdjustmentList``
          -> ``fee`` (``FeeType``: Commission, FBAPerUnitFulfillmentFee, RefundCommission),
          ``PromotionList``/``PromotionAdjustmentList`` -> ``promotion`` (``promotion_id`` kept).
        - ``ServiceFeeEventList``: a ``fee`` per ``FeeList`` entry (Subscription, FBAStorageFee,
          FBALongTermStorageFee), the event's ``SellerSKU``.
        - ``AdjustmentEventList``: an ``other`` row per ``AdjustmentItemList`` item (``line_type`` the
          ``AdjustmentType``, amount ``TotalAmount``, ``Quantity`` as an integer).
        - ``ProductAdsPaymentEventList``: a ``fee`` ``ProductAdsPayment`` of ``transactionValue``
          (``event_reference`` = ``invoiceId``).
        - ``RetrochargeEventList``: ``other`` ``BaseTax`` and ``ShippingTax`` of the order.
        - ``FBALiquidationEventList``: ``other`` ``LiquidationProceeds`` and ``fee`` ``LiquidationFee``.

        Columns: ``event_line_id`` (primary key: sha256 of event type, reference, PostedDate, item, line kind,
        line type and position), ``event_type`` (shipment | refund | service_fee | adjustment |
        product_ads_payment | retrocharge | fba_liquidation), ``amazon_order_id``, ``marketplace_name``,
        ``posted_date`` (text, as sent), ``order_item_id`` / ``order_adjustment_item_id``, ``seller_sku``,
        ``quantity``, ``line_kind``, ``line_type``, ``promotion_id``, ``event_reference`` (order, invoice,
        transaction or removal order id), ``amount`` (signed as sent: charges to the seller negative),
        ``currency``.

        Contract (per event, so an event's lines load or are quarantined together, record id
        ``<type>:<reference>:<PostedDate>``): a posting time, and every line a known currency and an amount
        in whole cents. Lists not in ``EVENT_LISTS`` are logged, not loaded.
        """
        cursor = UpdateCursor(start_date, timedelta(days=finances_lookback_days), key="max_posted_date")

        def lines(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [
                dict(line, amount=_exact_amount(line["amount"]))
                for event in events
                for line in financial_event_lines(event)
            ]

        yield from incremental_pages(
            cursor,
            batched(windows(cursor.start), EVENTS_PER_BATCH),
            posted_date,
            financial_events_contract(),
            rows=lines,
        )

    return orders, financial_events, settlements_resource(reports_api, start_date)
