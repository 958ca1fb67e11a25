"""eBay (docs/architecture.md: API contracts): OAuth token endpoint and Sell Fulfillment API ``getOrders``; channel ``ebay``, USD.

``POST /identity/v1/oauth2/token`` (form body, ``Authorization: Basic base64(client_id:client_secret)``):

- ``grant_type=refresh_token&refresh_token=...`` -> ``{"access_token", "expires_in": 7200,
  "token_type": "User Access Token"}`` (what a seller integration uses);
- ``grant_type=client_credentials`` -> the same with ``"token_type": "Application Access Token"``.
  The real Fulfillment API needs a *user* token; the sandbox does not model scopes or user consent and
  accepts both (documented leniency).
- errors as eBay's OAuth server words them: 401 ``invalid_client``, 400 ``unsupported_grant_type`` /
  ``invalid_grant`` / ``invalid_request``.

Tokens are stateless (signed, carrying their expiry), so they survive ``/_sandbox/advance``; a missing,
malformed or expired bearer gets 401 with eBay's body (errorId 1001, domain ``OAuth``).

``GET /sell/fulfillment/v1/order`` (``Authorization: Bearer``):

- ``filter`` = comma-separated criteria: ``creationdate:[A..B]``, ``lastmodifieddate:[A..B]`` (either
  end may be open: ``[A..]``; both ends inclusive; timestamps ``2025-01-01T00:00:00.000Z``, UTC with
  ``Z``), ``orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS}`` or ``{FULFILLED|IN_PROGRESS}``. If both
  date filters are given only ``creationdate`` is used (as documented). Without a date filter the call
  returns the orders created in the last 90 days (as eBay does). ``orderIds`` (≤ 50) overrides all.
- ``limit`` 1..200 (default 50), ``offset`` ≥ 0 (default 0); response ``{"href", "total", "limit",
  "offset", "next"?, "prev"?, "orders": [...]}`` with ``next`` absent on the last page. Orders are sorted
  by ``creationDate`` descending (newest first), as eBay returns them: offset pagination over a
  changing result can skip or repeat orders, exactly like the real API, so incremental clients should
  page through a closed ``lastmodifieddate`` window.
- 400 errors ``{"errors": [{"errorId", "domain": "API_FULFILLMENT", "category": "REQUEST", "message"}]}``
  with eBay's ids: 30700 invalid filter name, 30800 invalid filter value, 30810 invalid date format,
  30820 start date missing, 30840 start after end, 30850 dates in the future, 30900 too many orderIds,
  31000 invalid offset, 31100 invalid limit, 32800 invalid fieldGroups.

Order semantics (see ``commerce_world`` for the life cycle):

- ``lineItems[].lineItemCost`` is the LINE TOTAL (unit price × quantity, before discounts);
  ``pricingSummary.priceSubtotal`` = Σ lineItemCost; a seller promotion shows as
  ``pricingSummary.priceDiscount`` (NEGATIVE, as on eBay) and per line in ``appliedPromotions``
  (positive ``discountAmount``) and ``discountedLineItemCost``; ``deliveryCost`` is the shipping;
  ``total`` = subtotal + discount + delivery. eBay collects US sales tax itself (marketplace
  facilitator), so no tax is in these amounts. ``paymentSummary.totalDueSeller`` (and the payment's
  amount) = total − totalMarketplaceFee, as eBay pays out.
- ``totalMarketplaceFee``: the final value fee (13.25% of the total + 0.30), charged at checkout (its
  posted date is ``creationDate``); a cancelled order's fee is credited, so it shows 0.0.
- refunds appear in ``paymentSummary.refunds[]`` (``refundStatus`` ``REFUNDED``, on ``refundDate``);
  a line refund is also listed in that line's ``lineItems[].refunds[]`` (count one of the two, not
  both). A cancellation (``cancelStatus.cancelState`` = ``CANCELED``) refunds the whole total.
- amounts are decimal strings written as eBay writes them: no trailing zero beyond the first decimal
  (``"20.2"``, ``"15.0"``, ``"12.34"``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sandbox.commerce_world import EbayOrder
from sandbox.protocol import Request, Response, iso_z, route
from sandbox.ratelimit import TokenBucket
from sandbox.world import World

DEMO_CLIENT_ID = "PastaPro-SalesDW-PRD-5a1b2c3d4-sandbox"
DEMO_CLIENT_SECRET = "PRD-sandbox-client-secret-0e1f"
DEMO_REFRESH_TOKEN = "v^1.1#i^1#r^1#f^0#p^3#I^3#t^sandbox-refresh-token"
TOKEN_PATH = "/identity/v1/oauth2/token"
ORDERS_PATH = "/sell/fulfillment/v1/order"
TOKEN_TTL_S = 7200
MAX_LIMIT, DEFAULT_LIMIT, MAX_ORDER_IDS = 200, 50, 50
DEFAULT_LOOKBACK = timedelta(days=90)
SELLER_ID = "pastapro_official"
CLOCK = time.time  # the token clock (tests may replace it)
_SIGNING_KEY = b"salesdw-sandbox-ebay"  # signs the sandbox's own tokens; not a secret of any real service


# --- OAuth ---------------------------------------------------------------------------------------


def _sign(payload: str) -> str:
    return hmac.new(_SIGNING_KEY, payload.encode(), hashlib.sha256).hexdigest()[:32]


def _issue(kind: str) -> str:
    payload = (
        base64.urlsafe_b64encode(json.dumps({"k": kind, "e": CLOCK() + TOKEN_TTL_S}).encode()).decode().rstrip("=")
    )
    return f"v^1.1#i^1#p^3#I^3#r^{1 if kind == 'user' else 0}#f^0#t^{payload}.{_sign(payload)}"


def _valid(token: str) -> bool:
    payload, _, signature = token.rpartition("#t^")[2].partition(".")
    if not payload or not hmac.compare_digest(signature, _sign(payload)):
        return False
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return CLOCK() < float(claims["e"])
    except (ValueError, KeyError, TypeError):
        return False


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(status, {"error": error, "error_description": description})


def issue_token(req: Request, world: World) -> Response:
    auth = req.headers.get("authorization", "")
    try:
        scheme, _, encoded = auth.partition(" ")
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except ValueError:
        scheme, client_id, secret = "", "", ""
    if scheme.lower() != "basic" or (client_id, secret) != (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET):
        return _oauth_error(401, "invalid_client", "client authentication failed")
    form = req.form()
    grant = form.get("grant_type")
    if grant == "client_credentials":
        return Response(
            200,
            {
                "access_token": _issue("application"),
                "expires_in": TOKEN_TTL_S,
                "token_type": "Application Access Token",
            },
        )
    if grant == "refresh_token":
        if "refresh_token" not in form:
            return _oauth_error(400, "invalid_request", "request is missing a required parameter or malformed")
        if form["refresh_token"] != DEMO_REFRESH_TOKEN:
            return _oauth_error(
                400,
                "invalid_grant",
                "the provided authorization refresh token is invalid or was issued to another client",
            )
        return Response(
            200, {"access_token": _issue("user"), "expires_in": TOKEN_TTL_S, "token_type": "User Access Token"}
        )
    if grant is None:
        return _oauth_error(400, "invalid_request", "request is missing a required parameter or malformed")
    return _oauth_error(
        400, "unsupported_grant_type", "grant type in request is not supported by the authorization server"
    )


# --- rendering -----------------------------------------------------------------------------------


def amount(value: Decimal) -> dict[str, str]:
    """eBay's ``Amount``: a decimal string without a trailing zero beyond the first decimal, and USD."""
    text = f"{value:.2f}"
    return {"value": text[:-1] if text.endswith("0") else text, "currency": "USD"}


def _ms(at: datetime) -> str:
    return iso_z(at, millis=True)


def render_order(o: EbayOrder) -> dict[str, Any]:
    refunded = sum((r.amount for r in o.refunds), Decimal(0))
    payment_status = (
        "FULLY_REFUNDED" if o.refunds and refunded >= o.total else "PARTIALLY_REFUNDED" if o.refunds else "PAID"
    )
    fulfilled = o.shipped_at is not None
    pricing: dict[str, Any] = {"priceSubtotal": amount(o.gross)}
    if o.discount:
        pricing["priceDiscount"] = amount(-o.discount)
    pricing["deliveryCost"] = amount(o.delivery_cost)
    pricing["total"] = amount(o.total)
    line_refunds: dict[str, list[dict[str, Any]]] = {}
    for r in o.refunds:
        if r.line_id:
            line_refunds.setdefault(r.line_id, []).append(
                {
                    "amount": amount(r.amount),
                    "refundDate": _ms(r.refunded_at),
                    "refundId": r.refund_id,
                    "refundReferenceId": f"{r.refund_id}R",
                }
            )
    lines = []
    for j, li in enumerate(o.lines):
        shipping = o.delivery_cost if j == 0 else Decimal(0)
        line: dict[str, Any] = {
            "lineItemId": li.line_id,
            "legacyItemId": f"{400_000_000_000 + li.product.product_id % 1_000_000}",
            "sku": li.product.sku,
            "title": li.product.title,
            "lineItemCost": amount(li.cost),
        }
        if li.discount:
            line["discountedLineItemCost"] = amount(li.cost - li.discount)
        line.update(
            {
                "quantity": li.quantity,
                "soldFormat": "FIXED_PRICE",
                "listingMarketplaceId": "EBAY_US",
                "purchaseMarketplaceId": "EBAY_US",
                "lineItemFulfillmentStatus": "FULFILLED" if fulfilled else "NOT_STARTED",
                "total": amount(li.cost - li.discount + shipping),
                "deliveryCost": {"shippingCost": amount(shipping)},
                "appliedPromotions": [
                    {
                        "discountAmount": amount(li.discount),
                        "promotionId": o.promotion_id,
                        "description": "Save 10% when you buy 2 or more",
                    }
                ]
                if li.discount
                else [],
                "taxes": [],
                "properties": {"buyerProtection": True},
            }
        )
        if li.line_id in line_refunds:
            line["refunds"] = line_refunds[li.line_id]
        lines.append(line)
    due = o.total - o.marketplace_fee  # what eBay pays out: the total less its fee (as on eBay)
    return {
        "orderId": o.order_id,
        "legacyOrderId": o.order_id,
        "creationDate": _ms(o.created_at),
        "lastModifiedDate": _ms(o.last_modified),
        "orderFulfillmentStatus": "FULFILLED" if fulfilled else "NOT_STARTED",
        "orderPaymentStatus": payment_status,
        "sellerId": SELLER_ID,
        "buyer": {"username": o.buyer},
        "pricingSummary": pricing,
        "cancelStatus": {"cancelState": "CANCELED" if o.cancelled_at else "NONE_REQUESTED", "cancelRequests": []},
        "paymentSummary": {
            "totalDueSeller": amount(due),
            "refunds": [
                {
                    "refundId": r.refund_id,
                    "refundDate": _ms(r.refunded_at),
                    "amount": amount(r.amount),
                    "refundStatus": "REFUNDED",
                    "refundReferenceId": f"{r.refund_id}R",
                }
                for r in o.refunds
            ],
            "payments": [
                {
                    "paymentMethod": "EBAY",
                    "paymentReferenceId": f"{o.sales_record}_S",
                    "paymentDate": _ms(o.created_at),
                    "amount": amount(o.total),
                    "paymentStatus": "PAID",
                }
            ],
        },
        "fulfillmentHrefs": [],
        "lineItems": lines,
        "salesRecordReference": str(o.sales_record),
        "totalFeeBasisAmount": amount(o.total),
        "totalMarketplaceFee": amount(o.marketplace_fee),
    }


# --- getOrders -----------------------------------------------------------------------------------


def error(status: int, error_id: int, message: str, category: str = "REQUEST") -> Response:
    return Response(
        status,
        {"errors": [{"errorId": error_id, "domain": "API_FULFILLMENT", "category": category, "message": message}]},
    )


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z")
_CRITERION = re.compile(r"\s*([A-Za-z]+)\s*:\s*(\[[^\]]*\]|\{[^}]*\})\s*")
FULFILLMENT_SETS = {frozenset({"NOT_STARTED", "IN_PROGRESS"}), frozenset({"FULFILLED", "IN_PROGRESS"})}


def _date(text: str) -> datetime:
    if not _DATE.fullmatch(text):
        raise ValueError(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def parse_filter(text: str, now: datetime) -> dict[str, Any] | Response:
    """``filter`` -> {"field": creationdate|lastmodifieddate, "start", "end", "fulfillment": set|None}."""
    criteria: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _CRITERION.match(text, pos)
        if not m:
            name = text[pos:].split(":", 1)[0].strip()
            if name.lower() not in ("creationdate", "lastmodifieddate", "orderfulfillmentstatus"):
                return error(400, 30700, f"Invalid filter name: {name}")
            return error(400, 30800, f"Invalid filter value {text[pos:].split(':', 1)[-1].strip()} for filter {name}")
        name = m.group(1).lower()
        if name not in ("creationdate", "lastmodifieddate", "orderfulfillmentstatus"):
            return error(400, 30700, f"Invalid filter name: {m.group(1)}")
        criteria[name] = m.group(2)
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                return error(400, 30800, f"Invalid filter value {m.group(2)} for filter {m.group(1)}")
            pos += 1
    out: dict[str, Any] = {"field": None, "start": None, "end": None, "fulfillment": None}
    if "orderfulfillmentstatus" in criteria:
        raw = criteria["orderfulfillmentstatus"]
        values = frozenset(v.strip() for v in raw.strip("{}").split("|"))
        if raw[0] != "{" or values not in FULFILLMENT_SETS:
            return error(400, 30800, f"Invalid filter value {raw} for filter orderfulfillmentstatus")
        out["fulfillment"] = set(values)
    field = (
        "creationdate" if "creationdate" in criteria else "lastmodifieddate" if "lastmodifieddate" in criteria else None
    )
    if field:
        raw = criteria[field]
        if raw[0] != "[" or ".." not in raw:
            return error(400, 30800, f"Invalid filter value {raw} for filter {field}")
        start_text, _, end_text = raw[1:-1].partition("..")
        if not start_text.strip():
            return error(400, 30820, "Start date is missing")
        try:
            start = _date(start_text.strip())
            end = _date(end_text.strip()) if end_text.strip() else None
        except ValueError:
            return error(400, 30810, "Invalid date format")
        if end is not None and start > end:
            return error(400, 30840, "Start date should be before end date")
        if start > now or (end is not None and end > now):
            return error(400, 30850, "Start and end dates can't be in the future")
        out.update(field=field, start=start, end=end)
    return out


def _query_url(req: Request, params: dict[str, Any]) -> str:
    return f"{req.base_url}{ORDERS_PATH}?{urlencode(params)}"


def get_orders(req: Request, world: World) -> Response:
    # list-valued parameters are comma-separated, as eBay documents them (orderIds, fieldGroups, and the
    # filter's comma-separated expressions); repeating a parameter adds to its list the same way
    q = dict(req.query)
    for name in ("orderIds", "fieldGroups", "filter"):
        values = req.values(name, comma=name != "filter")
        if values is not None:
            q[name] = ",".join(values)
    now = world.config.now
    bad_groups = [g for g in (req.values("fieldGroups") or []) if g != "TAX_BREAKDOWN"]
    if bad_groups:
        return error(400, 32800, f"Invalid field group: {','.join(bad_groups)}")
    if q.get("orderIds"):
        ids = req.values("orderIds") or []
        if len(ids) > MAX_ORDER_IDS:
            return error(400, 30900, f"Exceeded maximum number of order IDs (the current limit is {MAX_ORDER_IDS})")
        found = [world.commerce.ebay_by_id[i] for i in ids if i in world.commerce.ebay_by_id]
        return Response(
            200,
            {
                "href": _query_url(req, {"orderIds": ",".join(ids)}),
                "total": len(found),
                "orders": [render_order(o) for o in found],
            },
        )
    try:
        limit = int(q.get("limit", DEFAULT_LIMIT))
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError
    except ValueError:
        return error(400, 31100, f"Invalid limit: {q.get('limit')}")
    try:
        offset = int(q.get("offset", 0))
        if offset < 0:
            raise ValueError
    except ValueError:
        return error(400, 31000, f"Invalid offset: {q.get('offset')}")
    spec = parse_filter(q.get("filter", ""), now)
    if isinstance(spec, Response):
        return spec
    if spec["field"] is None:  # eBay's default: orders created in the last 90 days
        spec.update(field="creationdate", start=now - DEFAULT_LOOKBACK, end=None)

    def build() -> list[EbayOrder]:
        def keep(o: EbayOrder) -> bool:
            at = o.created_at if spec["field"] == "creationdate" else o.last_modified
            if at < spec["start"] or (spec["end"] is not None and at > spec["end"]):
                return False
            if spec["fulfillment"] is not None:
                return ("FULFILLED" if o.shipped_at else "NOT_STARTED") in spec["fulfillment"]
            return True

        rows = [o for o in world.commerce.ebay_orders if keep(o)]
        rows.sort(key=lambda o: (o.created_at, o.order_id), reverse=True)  # newest first, as eBay lists them
        return rows

    key = ("ebay.orders", spec["field"], spec["start"], spec["end"], tuple(sorted(spec["fulfillment"] or ())))
    rows: list[EbayOrder] = world.commerce.cached(key, build)
    page = rows[offset : offset + limit]
    base = {k: q[k] for k in ("filter", "fieldGroups") if k in q}
    body: dict[str, Any] = {
        "href": _query_url(req, {**base, "limit": limit, "offset": offset}),
        "total": len(rows),
        "limit": limit,
        "offset": offset,
    }
    if offset + limit < len(rows):
        body["next"] = _query_url(req, {**base, "limit": limit, "offset": offset + limit})
    if offset > 0:
        body["prev"] = _query_url(req, {**base, "limit": limit, "offset": max(0, offset - limit)})
    body["orders"] = [render_order(o) for o in page]
    return Response(200, body)


def not_found(req: Request) -> Response:
    """eBay's answer to a resource it does not have (errorId 2002, as its REST APIs send it)."""
    return Response(
        404,
        {"errors": [{"errorId": 2002, "domain": "ACCESS", "category": "REQUEST", "message": "Resource not found"}]},
    )


# --- vendor wiring: routes, auth, rate limits (the server is generic) ---
NAME = "ebay"
LIST_PARAMS = {"getOrders": ("orderIds", "fieldGroups", "filter")}  # comma-separated, as documented; repeats too
PATH_PREFIXES = ("/sell/", "/identity/", "/commerce/", "/buy/", "/developer/")
LIMITS = {
    # Sell Fulfillment: a daily call quota (100,000 calls/day for getOrders) spread as a bucket;
    # the OAuth endpoint its own (generous) bucket.
    "ebay": {"real": (50, 100_000 / 86_400), "demo": (500, 250.0)},
    "ebay.identity": {"real": (20, 1.0), "demo": (200, 100.0)},
}


def authorize(app: object, req: Request) -> Response | None:
    if req.path == TOKEN_PATH:
        return None  # the token endpoint authenticates the client itself (Basic auth)
    scheme, _, token = req.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not _valid(token.strip()):
        return Response(
            401,
            {
                "errors": [
                    {
                        "errorId": 1001,
                        "domain": "OAuth",
                        "category": "REQUEST",
                        "message": "Invalid access token",
                        "longMessage": "Invalid access token. Check the value of the Authorization HTTP request header.",
                    }
                ]
            },
        )
    return None


def throttled(bucket: str, wait_s: float) -> Response:
    return Response(
        429,
        {
            "errors": [
                {
                    "errorId": 2001,
                    "domain": "ACCESS",
                    "category": "REQUEST",
                    "message": "Too many requests. The request limit has been reached for the resource.",
                }
            ]
        },
    )


def limit_headers(bucket: str, state: TokenBucket) -> dict[str, str]:
    return {}  # eBay reports quotas through its Analytics API (getRateLimits), not in response headers


ROUTES = [
    route("POST", TOKEN_PATH, "ebay.identity", issue_token),
    route("GET", ORDERS_PATH, "ebay", get_orders),
]
