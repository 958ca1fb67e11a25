"""Amazon SP-API source into ``raw_amazon``, authenticated through LWA: orders with their order items
(Orders v0), and the money lines of shipment and refund financial events (Finances v0)."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator

import dlt
import requests
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from ingestion.auth import RefreshTokenAuth
from ingestion.client import pages, rest_client
from ingestion.contracts import (
    Contract, amount_present, checked, currency_known, each, quantity_positive, quarantined,
)
from ingestion.http import IngestionHTTPError
from ingestion.incremental import UpdateCursor, utc_iso
from ingestion.pacing import Pacer, amazon_reading

log = logging.getLogger("salesdw.ingestion")

MARKETPLACES = ("ATVPDKIKX0DER", "A1F83G8C2ARO7P", "A1PA6795UKMFR9")  # US, UK, DE
# listFinancialEvents: PostedAfter and PostedBefore at most 180 days apart
MAX_POSTED_SPAN = timedelta(days=180)
# event list -> (event_type, item list); item list -> its money lists as (line_kind, list, type field, amount field)
EVENT_LISTS = {"ShipmentEventList": ("shipment", "ShipmentItemList"),
               "RefundEventList": ("refund", "ShipmentItemAdjustmentList")}
MONEY_LISTS = (
    ("charge", ("ItemChargeList", "ItemChargeAdjustmentList"), "ChargeType", "ChargeAmount"),
    ("fee", ("ItemFeeList", "ItemFeeAdjustmentList"), "FeeType", "FeeAmount"),
    ("promotion", ("PromotionList", "PromotionAdjustmentList"), "PromotionType", "PromotionAmount"),
)
CENT = Decimal("0.01")


def orders_contract() -> Contract:
    return Contract("amazon", "orders", "AmazonOrderId", checks=(
        currency_known("OrderTotal.CurrencyCode"),
        each("OrderItems", quantity_positive("QuantityOrdered"), amount_present("ItemPrice.Amount"),
             currency_known("ItemPrice.CurrencyCode")),
    ), integer_fields=("OrderItems.QuantityOrdered",))


def exact_json(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    """Response hook: ``response.json()`` parses every JSON number with a fraction as ``Decimal``.

    Finances' ``CurrencyAmount`` is a JSON number; ``requests`` would make it a float (``0.1 + 0.2``
    money). dlt's ``paginate`` reads both the page data and the ``NextToken`` through ``response.json()``,
    so replacing it on the response object keeps floats out of the whole path.
    """
    response.raise_for_status()  # (ResilientSession already raised or retried every error status)
    body = json.loads(response.content, parse_float=Decimal)
    response.json = lambda **_: body  # type: ignore[method-assign]
    return response


def _exact_amount(value: Any) -> Decimal | None:
    """A ``CurrencyAmount`` as an exact ``Decimal`` (a numeric string is accepted); None when missing/invalid."""
    if isinstance(value, float):  # exact_json never produces one: guard against a parse path that would
        raise TypeError("CurrencyAmount was parsed as a float: money would not be exact")
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(value) if isinstance(value, (int, Decimal)) else Decimal(str(value).strip())
    except ArithmeticError:
        return None
    return amount if amount.is_finite() else None


def financial_event_key(event: dict[str, Any]) -> str:
    return f"{event.get('EventType')}:{event.get('AmazonOrderId')}:{event.get('PostedDate')}"


def financial_event_lines(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The money lines of one event (``EventType`` set by the reader), in the API's order; see the resource."""
    event_type = event["EventType"]
    item_list = EVENT_LISTS["ShipmentEventList" if event_type == "shipment" else "RefundEventList"][1]
    lines = []
    for item_index, item in enumerate(event.get(item_list) or []):
        order_item_id, adjustment_id = item.get("OrderItemId"), item.get("OrderAdjustmentItemId")
        item_ref = order_item_id or adjustment_id or f"{item.get('SellerSKU')}#{item_index}"
        for line_kind, list_names, type_field, amount_field in MONEY_LISTS:
            for list_name in list_names:
                for position, entry in enumerate(item.get(list_name) or []):
                    money = entry.get(amount_field) or {}
                    key = "|".join(str(p) for p in (event_type, event.get("AmazonOrderId"), event.get("PostedDate"),
                                                    item_ref, line_kind, entry.get(type_field), position))
                    lines.append({
                        "event_line_id": hashlib.sha256(key.encode()).hexdigest()[:32],
                        "event_type": event_type,
                        "amazon_order_id": event.get("AmazonOrderId"),
                        "marketplace_name": event.get("MarketplaceName"),
                        "posted_date": event.get("PostedDate"),
                        "order_item_id": order_item_id,
                        "order_adjustment_item_id": adjustment_id,
                        "seller_sku": item.get("SellerSKU"),
                        "quantity": item.get("QuantityShipped"),
                        "line_kind": line_kind,
                        "line_type": entry.get(type_field),
                        "promotion_id": entry.get("PromotionId"),
                        "amount": money.get("CurrencyAmount"),
                        "currency": money.get("CurrencyCode"),
                    })
    return lines


def _lines_valid(event: dict[str, Any]) -> str | None:
    """Every money line has a known currency and an amount in whole cents (DECIMAL(18,2) holds it exactly)."""
    checks = (currency_known("currency"), amount_present("amount"))
    for line in financial_event_lines(event):
        where = f"{line['line_kind']} {line['line_type']} of item {line['order_item_id'] or line['seller_sku']}"
        if not line["currency"]:
            return f"missing currency code in {where}"
        for check in checks:
            reason = check(line)
            if reason:
                return f"{where}: {reason}"
        amount = _exact_amount(line["amount"])
        if amount is None:
            return f"{where}: missing or non-numeric amount"
        if amount != amount.quantize(CENT) or abs(amount) >= Decimal(10) ** 16:
            return f"{where}: amount {amount} does not fit DECIMAL(18,2)"
    return None


def financial_events_contract() -> Contract:
    """Checked per event, so an event is loaded whole or quarantined whole (its lines sum to its totals)."""
    return Contract("amazon", "financial_events", "EventKey", checks=(_lines_valid,), integer_fields=(
        "ShipmentItemList.QuantityShipped", "ShipmentItemAdjustmentList.QuantityShipped"))


def _is_invalid_input(exc: IngestionHTTPError) -> bool:
    return "HTTP 400" in str(exc) and "InvalidInput" in str(exc)


def lwa_auth(token_url: str, client_id: str, client_secret: str, refresh_token: str) -> RefreshTokenAuth:
    """Login with Amazon: client credentials in the form; the token goes in ``x-amz-access-token``."""
    return RefreshTokenAuth("amazon", token_url, client_id, client_secret, refresh_token,
                            basic_client_auth=False, header="x-amz-access-token", prefix="")


@dlt.source(name="amazon", max_table_nesting=2)
def amazon_source(
    endpoint: str = dlt.config.value,
    token_url: str = dlt.config.value,
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    refresh_token: str = dlt.secrets.value,
    marketplace_ids: tuple[str, ...] = MARKETPLACES,
    start_date: str = "2025-01-01T00:00:00Z",
    lookback_minutes: int = 60,
    finances_lookback_days: int = 2,
    finances_page_size: int = 100,
) -> Any:
    auth = lwa_auth(token_url, client_id, client_secret, refresh_token)
    # per-operation token buckets as SP-API publishes them (rate/s, burst)
    orders_client = rest_client("amazon", "orders", endpoint, auth=auth,
                                pacer=Pacer(capacity=20, refill_per_s=0.0167, read_headers=amazon_reading),
                                paginator=JSONResponseCursorPaginator(cursor_path="payload.NextToken",
                                                                      cursor_param="NextToken"))
    items_client = rest_client("amazon", "order_items", endpoint, auth=auth,
                               pacer=Pacer(capacity=30, refill_per_s=0.5, read_headers=amazon_reading))

    @dlt.resource(name="orders", primary_key="amazon_order_id", write_disposition="merge")
    def orders() -> Iterator[list[dict[str, Any]]]:
        """Orders changed in the window, each with its ``OrderItems`` (a nested table, replaced on merge)."""
        cursor = UpdateCursor(start_date, timedelta(minutes=lookback_minutes))
        contract = orders_contract()
        params = {"MarketplaceIds": ",".join(marketplace_ids), "LastUpdatedAfter": utc_iso(cursor.start),
                  "MaxResultsPerPage": 100}
        for page in pages(orders_client, "orders/v0/orders", params=params, data_selector="payload.Orders"):
            for order in page:
                cursor.observe(order["LastUpdateDate"])
                order["OrderItems"] = items_client.get(
                    f"orders/v0/orders/{order['AmazonOrderId']}/orderItems").json()["payload"]["OrderItems"]
            yield from checked(contract, page)
        cursor.commit()

    finances_client = rest_client("amazon", "financial_events", endpoint, auth=auth,
                                  pacer=Pacer(capacity=30, refill_per_s=0.5, read_headers=amazon_reading),
                                  paginator=JSONResponseCursorPaginator(cursor_path="payload.NextToken",
                                                                        cursor_param="NextToken"))

    def read_window(posted_after: datetime, posted_before: datetime | None) -> Iterator[dict[str, Any]]:
        """Every shipment and refund event posted in [after, before), ``EventType`` added; ``before`` None:
        up to the API's own default, its clock − 2 minutes."""
        params: dict[str, Any] = {"PostedAfter": utc_iso(posted_after), "MaxResultsPerPage": finances_page_size}
        if posted_before is not None:
            params["PostedBefore"] = utc_iso(posted_before)
        for page in pages(finances_client, "finances/v0/financialEvents", params=params,
                          data_selector="payload.FinancialEvents", hooks={"response": [exact_json]}):
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
                log.info("amazon/financial_events: more than %d days from %s to the API's clock, "
                         "reading a %d-day window", MAX_POSTED_SPAN.days, utc_iso(after), MAX_POSTED_SPAN.days)
            before = after + MAX_POSTED_SPAN
            yield from read_window(after, before)
            after = before

    @dlt.resource(name="financial_events", table_name="financial_event_lines", primary_key="event_line_id",
                  write_disposition="merge", columns={
        "amount": {"data_type": "decimal", "precision": 18, "scale": 2},
        "posted_date": {"data_type": "text"},
        "quantity": {"data_type": "bigint"},
        **{c: {"data_type": "text"} for c in ("order_item_id", "order_adjustment_item_id", "promotion_id")},
    })
    def financial_events() -> Iterator[Any]:
        """Money lines of Finances v0 shipment and refund events, one row per line, signed as Amazon posts them.

        Read: ``listFinancialEvents`` by ``PostedDate`` from the cursor (the latest ``PostedDate`` loaded,
        less ``finances_lookback_days`` for events posted late) to the API's clock, in windows of at most
        180 days (see ``windows``), ``NextToken`` pages. Events are immutable once posted, so re-reads
        of the lookback merge onto the same rows. ``CurrencyAmount`` (a JSON number) is parsed as
        ``Decimal`` (``exact_json``), never a float, and stored as DECIMAL(18,2).

        Flattened: events carry no id, so each ``ShipmentEvent`` (``ShipmentItemList``) and ``RefundEvent``
        (``ShipmentItemAdjustmentList``) becomes one row per entry of each item's money lists:
        ``ItemChargeList``/``ItemChargeAdjustmentList`` -> ``line_kind`` ``charge`` (``line_type`` =
        ``ChargeType``: Principal, Tax, ShippingCharge), ``ItemFeeList``/``ItemFeeAdjustmentList`` -> ``fee``
        (``FeeType``: Commission, FBAPerUnitFulfillmentFee, RefundCommission), ``PromotionList``/
        ``PromotionAdjustmentList`` -> ``promotion`` (``PromotionType``; ``promotion_id`` kept). Columns:
        ``event_line_id`` (primary key: sha256 of event type, AmazonOrderId, PostedDate, the item's
        OrderItemId / OrderAdjustmentItemId / SellerSKU#position, line kind, line type and the line's
        position in its list), ``event_type`` (shipment|refund), ``amazon_order_id``, ``marketplace_name``,
        ``posted_date`` (text, as sent), ``order_item_id`` (shipments; refund items carry
        ``order_adjustment_item_id`` instead), ``seller_sku``, ``quantity`` (QuantityShipped), ``line_kind``,
        ``line_type``, ``amount`` (signed as sent: charges to the seller negative), ``currency``.

        Contract (per event, so an event's lines load or are quarantined together, record id
        ``<type>:<AmazonOrderId>:<PostedDate>``): every line has a known currency and an amount in whole
        cents. Only ``ShipmentEventList`` and ``RefundEventList`` are read; other lists are logged.
        """
        cursor = UpdateCursor(start_date, timedelta(days=finances_lookback_days), key="max_posted_date")
        contract = financial_events_contract()
        batch: list[dict[str, Any]] = []

        def flush() -> Iterator[Any]:
            good, bad = contract.split(batch)
            lines = [dict(line, amount=_exact_amount(line["amount"]))
                     for event in good for line in financial_event_lines(event)]
            batch.clear()
            if lines:
                yield lines
            if bad:
                yield quarantined(bad)

        for event in windows(cursor.start):
            cursor.observe(event.get("PostedDate"))
            batch.append(event)
            if len(batch) >= 500:
                yield from flush()
        yield from flush()
        cursor.commit()

    return orders, financial_events
