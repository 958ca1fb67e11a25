"""Amazon SP-API (docs/architecture.md: API contracts): LWA token exchange, Orders v0 ``getOrders`` / ``getOrderItems``, Finances v0
``listFinancialEvents``.

``GET /finances/v0/financialEvents`` (Finances v0):

- ``PostedAfter`` is required here (the real API would default to the last 180 days; we make clients
  say what they want); ``PostedBefore`` defaults to now − 2 minutes; both must be at least 2 minutes
  in the past, ``PostedBefore`` > ``PostedAfter`` and at most 180 days apart, else 400 ``InvalidInput``.
  ``PostedAfter`` is inclusive, ``PostedBefore`` exclusive. ``MaxResultsPerPage`` 1..100 (default 100)
  counts events of all lists together; ``NextToken`` (in ``payload``, absent on the last page)
  overrides every other parameter.
- Envelope ``{"payload": {"FinancialEvents": {"ShipmentEventList": [...], "RefundEventList": [...],
  "ServiceFeeEventList": [...], "AdjustmentEventList": [...], "ProductAdsPaymentEventList": [...],
  "RetrochargeEventList": [...], "FBALiquidationEventList": [...]}, "NextToken": ...}}`` (every list the
  world posts in, empty ones included); events in ``PostedDate`` order across the lists (sandbox/amazon_fees.py
  says what each list holds). A ``ShipmentEvent`` is posted when the order
  ships: per item ``ItemChargeList`` (``Principal`` = the line total, ``Tax``, ``ShippingCharge``),
  ``ItemFeeList`` (``Commission``, ``FBAPerUnitFulfillmentFee``: negative, charged to the seller) and
  ``PromotionList`` (negative). A ``RefundEvent`` (a return weeks later) has
  ``ShipmentItemAdjustmentList`` items with ``OrderAdjustmentItemId``, ``ItemChargeAdjustmentList``
  (``Principal`` and ``Tax`` negative), ``ItemFeeAdjustmentList`` (``Commission`` refunded: positive;
  ``RefundCommission``: negative) and ``PromotionAdjustmentList`` (positive: the promotion taken back).
- The other lists carry their model's fields: ``ServiceFeeEvent`` (``FeeReason``, ``FeeList``, ``SellerSKU``,
  ``FnSKU``, ``ASIN`` for a SKU's storage fees, ``FeeDescription``), ``AdjustmentEvent`` (``AdjustmentType``,
  ``AdjustmentAmount``, ``AdjustmentItemList`` with ``Quantity`` a string, ``PerUnitAmount``, ``TotalAmount``),
  ``ProductAdsPaymentEvent`` (lowerCamelCase as in the model: ``postedDate``, ``transactionType``,
  ``invoiceId``, ``baseValue``, ``taxValue``, ``transactionValue``), ``RetrochargeEvent`` (``BaseTax``,
  ``ShippingTax``, ``MarketplaceName``), ``FBALiquidationEvent`` (``LiquidationProceedsAmount``,
  ``LiquidationFeeAmount``). Deviation: the model's ``ServiceFeeEvent`` has no ``PostedDate``; we send one
  (without it a fee could not be dated from this API; Amazon dates them in its settlement).
- ``CurrencyAmount`` is a JSON *number*, as in the real API (a BigDecimal in its model). We write it
  with the shortest representation that round-trips, so it always has at most two decimals
  (``12.5``, ``-3.22``, ``0.0``): parse with ``json.loads(..., parse_float=Decimal)`` (or round the
  float to cents) and it is exact. The Orders API's ``Amount`` stays a string, as there.

Refunded sales = −(refunded ``Principal`` + ``PromotionAdjustment``); fees = −Σ fee amounts of both
lists (a refund's fee credits lower them), each on the event's ``PostedDate``.
"""

from __future__ import annotations

import hashlib
import uuid
from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sandbox.amazon_settlement  # noqa: F401  (registers the settlement report in SCHEDULED_REPORTS)
from sandbox import amazon_reports as reports
from sandbox.amazon_fees import EVENT_TYPES, AmazonFeeEvent, all_financial_events
from sandbox.commerce_world import AMAZON_MARKETPLACES, AmazonFinancialEvent, AmazonOrder
from sandbox.protocol import (
    Request,
    Response,
    decode_cursor,
    encode_cursor,
    iso_z,
    parse_int,
    parse_time,
    route,
)
from sandbox.ratelimit import TokenBucket
from sandbox.world import World

DEMO_CLIENT_ID = "amzn1.application-oa2-client.sandbox"
DEMO_CLIENT_SECRET = "sandbox-client-secret"
DEMO_REFRESH_TOKEN = "Atzr|sandbox-refresh-token"
TOKEN_TTL_S = 3600
MAX_POSTED_SPAN = timedelta(days=180)
MAX_MARKETPLACE_IDS = 50  # getOrders: "MarketplaceIds ... maxItems 50"


def error(status: int, code: str, message: str) -> Response:
    return Response(status, {"errors": [{"code": code, "message": message, "details": ""}]})


class TokenIssuer:
    """LWA: refresh tokens for access tokens that expire after an hour (of the server's own clock)."""

    def __init__(self, clock, clients: dict[str, tuple[str, str]] | None = None) -> None:
        self.clock = clock
        self.issued: dict[str, float] = {}
        # client id -> (client secret, refresh token): the SP-API app, and other LWA apps (Amazon Ads: LWA_CLIENTS)
        self.clients = {DEMO_CLIENT_ID: (DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN), **(clients or {})}
        self.client_of: dict[str, str] = {}  # access token -> the client id it was issued to

    def exchange(self, req: Request) -> Response:
        form = req.form()
        if form.get("grant_type") != "refresh_token":
            return Response(
                400, {"error": "unsupported_grant_type", "error_description": "grant_type must be refresh_token"}
            )
        client_id = form.get("client_id", "")
        secret, refresh_token = self.clients.get(client_id, (None, None))
        if secret is None or form.get("client_secret") != secret:
            return Response(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        if form.get("refresh_token") != refresh_token:
            return Response(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant parameter : refresh_token",
                },
            )
        issued_at = self.clock()
        token = "Atza|" + hashlib.sha256(f"{issued_at}:{len(self.issued)}".encode()).hexdigest()
        self.issued[token] = issued_at
        self.client_of[token] = client_id
        return Response(
            200,
            {
                "access_token": token,
                "refresh_token": refresh_token,
                "token_type": "bearer",
                "expires_in": TOKEN_TTL_S,
            },
        )

    def check(self, req: Request) -> Response | None:
        issued_at = self.issued.get(req.headers.get("x-amz-access-token", ""))
        if issued_at is None:
            return error(403, "Unauthorized", "Access to requested resource is denied.")
        if self.clock() - issued_at > TOKEN_TTL_S:
            return error(403, "Unauthorized", "The access token you provided has expired.")
        return None


def _money(currency: str, amount) -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": str(amount)}


def render_order(a: AmazonOrder) -> dict[str, Any]:
    country, currency, channel, _, _ = AMAZON_MARKETPLACES[a.marketplace_id]
    qty = sum(i.quantity for i in a.items)
    shipped = a.status == "Shipped"
    order: dict[str, Any] = {
        "AmazonOrderId": a.order_id,
        "PurchaseDate": iso_z(a.purchase_date),
        "LastUpdateDate": iso_z(a.last_update),
        "OrderStatus": a.status,
        "FulfillmentChannel": "AFN",
        "SalesChannel": channel,
        "OrderType": "StandardOrder",
        "NumberOfItemsShipped": qty if shipped else 0,
        "NumberOfItemsUnshipped": 0 if shipped or a.status == "Canceled" else qty,
        "MarketplaceId": a.marketplace_id,
        "ShipServiceLevel": "Std " + country,
        "IsBusinessOrder": False,
        "IsPrime": False,
        "BuyerInfo": {"BuyerEmail": a.buyer_email},
    }
    if a.status != "Canceled":
        order["OrderTotal"] = _money(currency, a.total)
    return order


def render_items(a: AmazonOrder) -> list[dict[str, Any]]:
    return [
        {
            "ASIN": f"B0{i.product.product_id % 10**8:08d}",
            "SellerSKU": i.product.sku,
            "OrderItemId": i.order_item_id,
            "Title": i.product.title,
            "QuantityOrdered": i.quantity,
            "QuantityShipped": i.quantity if a.status == "Shipped" else 0,
            "ItemPrice": _money(a.currency, i.item_price),
            "ItemTax": _money(a.currency, i.item_tax),
            "ShippingPrice": _money(a.currency, i.shipping_price),
            "PromotionDiscount": _money(a.currency, i.promotion_discount),
        }
        for i in a.items
    ]


def get_orders(req: Request, world: World) -> Response:
    q = req.query
    now = world.config.now
    if "NextToken" in q:
        try:
            state = decode_cursor(q["NextToken"])
        except ValueError:
            return error(400, "InvalidInput", "Invalid NextToken.")
    else:
        # an array parameter, comma-separated as the Orders v0 model declares (collectionFormat: csv);
        # repeated (MarketplaceIds=A&MarketplaceIds=B) is honoured too
        markets = req.values("MarketplaceIds")
        if not markets:
            return error(400, "InvalidInput", "MarketplaceIds is required.")
        if len(markets) > MAX_MARKETPLACE_IDS:
            return error(400, "InvalidInput", f"MarketplaceIds may list at most {MAX_MARKETPLACE_IDS} marketplaces.")
        has_created, has_updated = "CreatedAfter" in q, "LastUpdatedAfter" in q
        if has_created == has_updated:
            return error(400, "InvalidInput", "Exactly one of CreatedAfter and LastUpdatedAfter must be specified.")
        try:
            limit = parse_int(q, "MaxResultsPerPage", 100, 100)
            field = "CreatedAfter" if has_created else "LastUpdatedAfter"
            before_name = "CreatedBefore" if has_created else "LastUpdatedBefore"
            after = parse_time(q[field])
            before = parse_time(q[before_name]) if before_name in q else now - timedelta(minutes=2)
        except ValueError as exc:
            return error(400, "InvalidInput", str(exc))
        if before > now - timedelta(minutes=2):
            return error(
                400, "InvalidInput", f"{before_name} must be a date at least 2 minutes before the time of the request."
            )
        if after >= before:
            return error(400, "InvalidInput", f"{field} must be before {before_name}.")
        unknown = [m for m in markets if m not in AMAZON_MARKETPLACES]
        if unknown:
            return error(400, "InvalidInput", f"Invalid MarketplaceIds: {','.join(unknown)}")
        state = {
            "m": markets,
            "by": "c" if has_created else "u",
            "a": iso_z(after),
            "b": iso_z(before),
            "n": limit,
            "k": None,
        }
    markets = set(state["m"])
    after, before = parse_time(state["a"]), parse_time(state["b"])
    by_created = state["by"] == "c"

    # one sorted index per date field, built once per world: every page is a binary search
    index: list[tuple[datetime, str, AmazonOrder]] = world.commerce.cached(
        ("amazon.orders", state["by"]),
        lambda: sorted(
            ((a.purchase_date if by_created else a.last_update, a.order_id, a) for a in world.amazon_orders),
            key=lambda t: t[:2],
        ),
    )
    keys = world.commerce.cached(("amazon.orders.keys", state["by"]), lambda: [t[:2] for t in index])
    lo = bisect_left(keys, (after, ""))
    if state["k"] is not None:
        lo = max(lo, bisect_right(keys, (parse_time(state["k"][0]), state["k"][1])))
    hi = bisect_left(keys, (before, ""))
    page: list[tuple[datetime, str, AmazonOrder]] = []
    i = lo
    while i < hi and len(page) <= state["n"]:  # one more than a page tells whether there is a next page
        if index[i][2].marketplace_id in markets:
            page.append(index[i])
        i += 1
    more = len(page) > state["n"]
    page = page[: state["n"]]
    payload: dict[str, Any] = {"Orders": [render_order(a) for _, _, a in page]}
    payload["CreatedBefore" if by_created else "LastUpdatedBefore"] = state["b"]
    if more:
        payload["NextToken"] = encode_cursor({**state, "k": [iso_z(page[-1][0]), page[-1][1]]})
    return Response(200, {"payload": payload})


def _amount(currency: str, amount: Decimal) -> dict[str, Any]:
    """A Finances ``Currency``: ``CurrencyAmount`` is a JSON number (see the module docstring)."""
    return {"CurrencyCode": currency, "CurrencyAmount": float(amount) + 0.0}  # + 0.0: never -0.0


def render_financial_event(e: AmazonFinancialEvent) -> dict[str, Any]:
    ccy = e.order.currency
    refund = e.kind == "refund"
    items = []
    for it in e.items:
        item: dict[str, Any] = {"SellerSKU": it.item.product.sku}
        if refund:
            item["OrderAdjustmentItemId"] = it.adjustment_id
        else:
            item["OrderItemId"] = it.item.order_item_id
        item["QuantityShipped"] = it.quantity
        charges = [{"ChargeType": k, "ChargeAmount": _amount(ccy, a)} for k, a in it.charges]
        fees = [{"FeeType": k, "FeeAmount": _amount(ccy, a)} for k, a in it.fees]
        promos = [
            {
                "PromotionType": "PromotionMetaDataDefinitionValue",
                "PromotionId": pid,
                "PromotionAmount": _amount(ccy, a),
            }
            for pid, a in it.promotions
        ]
        if refund:
            item.update(ItemChargeAdjustmentList=charges, ItemFeeAdjustmentList=fees, PromotionAdjustmentList=promos)
        else:
            item.update(ItemChargeList=charges, ItemFeeList=fees, PromotionList=promos)
        items.append(item)
    return {
        "AmazonOrderId": e.order.order_id,
        "SellerOrderId": e.order.order_id,
        "MarketplaceName": AMAZON_MARKETPLACES[e.order.marketplace_id][2],
        "PostedDate": iso_z(e.posted_at),
        ("ShipmentItemAdjustmentList" if refund else "ShipmentItemList"): items,
    }


EVENT_LISTS = ("ShipmentEventList", "RefundEventList", *EVENT_TYPES)  # every list the world posts in


def _fnsku(sku: str) -> str:
    return "X00" + hashlib.sha256(sku.encode()).hexdigest()[:7].upper()


def render_fee_event(e: AmazonFeeEvent) -> dict[str, Any]:
    """An event of the other lists, with the fields of its Finances v0 model (see the module docstring)."""
    ccy = e.currency
    if e.group == "ServiceFeeEventList":
        line = e.lines[0]
        event: dict[str, Any] = {
            "FeeReason": e.description,
            "FeeList": [{"FeeType": x.line_type, "FeeAmount": _amount(ccy, x.amount)} for x in e.lines],
        }
        if line.sku:
            event.update(SellerSKU=line.sku, FnSKU=_fnsku(line.sku), ASIN=line.asin)
        event.update(FeeDescription=e.description, PostedDate=iso_z(e.posted_at))  # PostedDate: see the docstring
        return event
    if e.group == "AdjustmentEventList":
        return {
            "AdjustmentType": e.lines[0].line_type,
            "PostedDate": iso_z(e.posted_at),
            "AdjustmentAmount": _amount(ccy, sum((x.amount for x in e.lines), Decimal("0.00"))),
            "AdjustmentItemList": [
                {
                    "Quantity": str(x.quantity),  # a string in the model
                    "PerUnitAmount": _amount(ccy, x.per_unit or Decimal("0.00")),
                    "TotalAmount": _amount(ccy, x.amount),
                    "SellerSKU": x.sku,
                    "FnSKU": _fnsku(x.sku or ""),
                    "ProductDescription": x.title,
                    "ASIN": x.asin,
                    "TransactionNumber": e.event_id,
                }
                for x in e.lines
            ],
        }
    if e.group == "ProductAdsPaymentEventList":
        base = e.lines[0].amount
        return {  # this model's fields are lowerCamelCase
            "postedDate": iso_z(e.posted_at),
            "transactionType": "charge",
            "invoiceId": e.event_id,
            "baseValue": _amount(ccy, base),
            "taxValue": _amount(ccy, Decimal("0.00")),
            "transactionValue": _amount(ccy, base),
        }
    if e.group == "RetrochargeEventList":
        amounts = {x.line_type: x.amount for x in e.lines}
        return {
            "RetrochargeEventType": "Retrocharge",
            "AmazonOrderId": e.order_id,
            "PostedDate": iso_z(e.posted_at),
            "BaseTax": _amount(ccy, amounts["BaseTax"]),
            "ShippingTax": _amount(ccy, amounts["ShippingTax"]),
            "MarketplaceName": AMAZON_MARKETPLACES[e.marketplace_id][2],
        }
    amounts = {x.line_type: x.amount for x in e.lines}  # FBALiquidationEventList
    return {
        "PostedDate": iso_z(e.posted_at),
        "OriginalRemovalOrderId": e.event_id,
        "LiquidationProceedsAmount": _amount(ccy, amounts["LiquidationProceeds"]),
        "LiquidationFeeAmount": _amount(ccy, amounts["LiquidationFee"]),
    }


def list_financial_events(req: Request, world: World) -> Response:
    q = req.query
    now = world.config.now
    latest = now - timedelta(minutes=2)
    if "NextToken" in q:
        try:
            state = decode_cursor(q["NextToken"])
            after, before, limit = parse_time(state["a"]), parse_time(state["b"]), int(state["n"])
        except (ValueError, KeyError, TypeError):
            return error(400, "InvalidInput", "Invalid NextToken.")
    else:
        if "PostedAfter" not in q:
            return error(400, "InvalidInput", "PostedAfter is required.")
        try:
            limit = parse_int(q, "MaxResultsPerPage", 100, 100)
        except ValueError:
            return error(400, "InvalidInput", "MaxResultsPerPage must be between 1 and 100.")
        try:
            after = parse_time(q["PostedAfter"])
            before = parse_time(q["PostedBefore"]) if "PostedBefore" in q else latest
        except ValueError:
            return error(400, "InvalidInput", "PostedAfter and PostedBefore must be ISO 8601 date-times.")
        if after > latest:
            return error(
                400, "InvalidInput", "PostedAfter must be a date at least 2 minutes before the time of the request."
            )
        if before > latest:
            return error(
                400, "InvalidInput", "PostedBefore must be a date at least 2 minutes before the time of the request."
            )
        if before < after:
            return error(400, "InvalidInput", "PostedBefore must be later than PostedAfter.")
        if before - after > MAX_POSTED_SPAN:
            return error(400, "InvalidInput", "PostedAfter and PostedBefore must be no more than 180 days apart.")
        state = {"a": iso_z(after), "b": iso_z(before), "n": limit, "k": None}
    events = all_financial_events(world)  # every event list, sorted by (PostedDate, id, kind)
    keys = world.commerce.cached(("amazon.financial_events.keys",), lambda: [e.key for e in events])
    lo = bisect_left(keys, (after, "", ""))
    if state.get("k") is not None:
        posted, event_id, kind = state["k"]
        lo = max(lo, bisect_right(keys, (parse_time(posted), event_id, kind)))
    hi = bisect_left(keys, (before, "", ""))
    page = events[lo : min(hi, lo + limit)]  # MaxResultsPerPage counts the events of every list together
    lists: dict[str, list[dict[str, Any]]] = {name: [] for name in EVENT_LISTS}
    for e in page:
        if isinstance(e, AmazonFeeEvent):
            lists[e.group].append(render_fee_event(e))
        else:
            lists["ShipmentEventList" if e.kind == "shipment" else "RefundEventList"].append(render_financial_event(e))
    payload: dict[str, Any] = {"FinancialEvents": lists}
    if lo + len(page) < hi:
        last = page[-1].key
        payload["NextToken"] = encode_cursor({**state, "k": [iso_z(last[0]), last[1], last[2]]})
    return Response(200, {"payload": payload})


def get_order_items(req: Request, world: World, order_id: str) -> Response:
    order = world.amazon_by_id.get(order_id)
    if order is None:
        return error(404, "NotFound", f"Order {order_id} was not found.")
    return Response(200, {"payload": {"AmazonOrderId": order_id, "OrderItems": render_items(order)}})


def not_found(req: Request) -> Response:
    """SP-API's answer to a path it has no operation for: an ``ErrorList`` (S3's ``NoSuchKey`` under its bucket)."""
    if req.path.startswith(f"/{reports.BUCKET}/"):
        return reports.s3_error(404, "NoSuchKey", "The specified key does not exist.")
    response = error(404, "NotFound", "Resource not found")
    response.headers["x-amzn-RequestId"] = str(uuid.UUID(hashlib.md5(f"{req.method} {req.path}".encode()).hexdigest()))
    return response


# --- vendor wiring: routes, auth, rate limits (the server is generic) ---
NAME = "amazon"
# getReports' reportTypes / processingStatuses / marketplaceIds are CSV arrays too (read with Request.values);
# not declared here until tests/test_sandbox_list_params.py covers them
LIST_PARAMS = {"getOrders": ("MarketplaceIds",)}  # array, CSV (the model's default collectionFormat); repeats too
PATH_PREFIXES = (
    "/orders/",
    "/finances/",
    "/sellers/",
    "/catalog/",
    "/reports/",
    "/fba/",
    "/tokens/",
    f"/{reports.BUCKET}/",
)
LIMITS = {  # per-operation token buckets (rate/s, burst) as SP-API documents them
    "amazon.getOrders": {"real": (20, 0.0167), "demo": (200, 100.0)},
    "amazon.getOrderItems": {"real": (30, 0.5), "demo": (1000, 1000.0)},
    "amazon.listFinancialEvents": {"real": (30, 0.5), "demo": (300, 200.0)},
    # Reports 2021-06-30 (sandbox/amazon_reports.py): the usage plans of the API reference
    "amazon.createReport": {"real": (15, 0.0167), "demo": (150, 50.0)},
    "amazon.getReport": {"real": (15, 2.0), "demo": (300, 500.0)},
    "amazon.getReports": {"real": (10, 0.0222), "demo": (100, 50.0)},
    "amazon.cancelReport": {"real": (10, 0.0222), "demo": (100, 50.0)},
    "amazon.getReportDocument": {"real": (15, 0.0167), "demo": (150, 50.0)},
}
SELF_LIMITED_BUCKETS = ("amazon.s3",)  # the pre-signed document URLs: S3, no SP-API usage plan


def authorize(app: object, req: Request) -> Response | None:
    if req.path.startswith(f"/{reports.BUCKET}/"):
        return None  # a pre-signed report document URL: the query signature is the auth (checked by the handler)
    return app.tokens.check(req)  # type: ignore[attr-defined]


def throttled(bucket: str, wait_s: float) -> Response:
    return error(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")


def limit_headers(bucket: str, state: TokenBucket) -> dict[str, str]:
    return {"x-amzn-RateLimit-Limit": f"{state.refill_per_s:g}"}


ROUTES = [
    route("GET", r"/orders/v0/orders", "amazon.getOrders", get_orders),
    route("GET", r"/orders/v0/orders/(?P<order_id>[^/]+)/orderItems", "amazon.getOrderItems", get_order_items),
    route("GET", r"/finances/v0/financialEvents", "amazon.listFinancialEvents", list_financial_events),
    route("POST", r"/reports/2021-06-30/reports", "amazon.createReport", reports.create_report),
    route("GET", r"/reports/2021-06-30/reports", "amazon.getReports", reports.get_reports),
    route("GET", r"/reports/2021-06-30/reports/(?P<report_id>[^/]+)", "amazon.getReport", reports.get_report),
    route("DELETE", r"/reports/2021-06-30/reports/(?P<report_id>[^/]+)", "amazon.cancelReport", reports.cancel_report),
    route(
        "GET",
        r"/reports/2021-06-30/documents/(?P<document_id>[^/]+)",
        "amazon.getReportDocument",
        reports.get_report_document,
    ),
    route("GET", rf"/{reports.BUCKET}/(?P<key>[^/]+)", "amazon.s3", reports.download),
]
