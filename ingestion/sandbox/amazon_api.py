"""Amazon SP-API (DESIGN §4): LWA token exchange, Orders v0 ``getOrders`` and ``getOrderItems``."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from ingestion.sandbox.protocol import (
    Request, Response, decode_cursor, encode_cursor, iso_z, parse_int, parse_time, route,
)
from ingestion.sandbox.ratelimit import TokenBucket
from ingestion.sandbox.commerce_world import AMAZON_MARKETPLACES, AmazonOrder
from ingestion.sandbox.world import World

DEMO_CLIENT_ID = "amzn1.application-oa2-client.sandbox"
DEMO_CLIENT_SECRET = "sandbox-client-secret"
DEMO_REFRESH_TOKEN = "Atzr|sandbox-refresh-token"
TOKEN_TTL_S = 3600


def error(status: int, code: str, message: str) -> Response:
    return Response(status, {"errors": [{"code": code, "message": message, "details": ""}]})


class TokenIssuer:
    """LWA: refresh tokens for access tokens that expire after an hour (of the server's own clock)."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.issued: dict[str, float] = {}

    def exchange(self, req: Request) -> Response:
        form = req.form()
        if form.get("grant_type") != "refresh_token":
            return Response(400, {"error": "unsupported_grant_type", "error_description": "grant_type must be refresh_token"})
        if (form.get("client_id"), form.get("client_secret")) != (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET):
            return Response(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        if form.get("refresh_token") != DEMO_REFRESH_TOKEN:
            return Response(400, {"error": "invalid_grant", "error_description": "The request has an invalid grant parameter : refresh_token"})
        issued_at = self.clock()
        token = "Atza|" + hashlib.sha256(f"{issued_at}:{len(self.issued)}".encode()).hexdigest()
        self.issued[token] = issued_at
        return Response(200, {"access_token": token, "refresh_token": DEMO_REFRESH_TOKEN,
                              "token_type": "bearer", "expires_in": TOKEN_TTL_S})

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
    return [{
        "ASIN": f"B0{i.product.product_id % 10**8:08d}", "SellerSKU": i.product.sku,
        "OrderItemId": i.order_item_id, "Title": i.product.title,
        "QuantityOrdered": i.quantity, "QuantityShipped": i.quantity if a.status == "Shipped" else 0,
        "ItemPrice": _money(a.currency, i.item_price), "ItemTax": _money(a.currency, i.item_tax),
        "ShippingPrice": _money(a.currency, i.shipping_price),
        "PromotionDiscount": _money(a.currency, i.promotion_discount),
    } for i in a.items]


def get_orders(req: Request, world: World) -> Response:
    q = req.query
    now = world.config.now
    if "NextToken" in q:
        try:
            state = decode_cursor(q["NextToken"])
        except ValueError:
            return error(400, "InvalidInput", "Invalid NextToken.")
    else:
        if not q.get("MarketplaceIds"):
            return error(400, "InvalidInput", "MarketplaceIds is required.")
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
            return error(400, "InvalidInput", f"{before_name} must be a date at least 2 minutes before the time of the request.")
        if after >= before:
            return error(400, "InvalidInput", f"{field} must be before {before_name}.")
        unknown = [m for m in q["MarketplaceIds"].split(",") if m not in AMAZON_MARKETPLACES]
        if unknown:
            return error(400, "InvalidInput", f"Invalid MarketplaceIds: {','.join(unknown)}")
        state = {"m": q["MarketplaceIds"].split(","), "by": "c" if has_created else "u",
                 "a": iso_z(after), "b": iso_z(before), "n": limit, "k": None}
    markets = set(state["m"])
    after, before = parse_time(state["a"]), parse_time(state["b"])
    by_created = state["by"] == "c"

    def key(a: AmazonOrder):
        return (iso_z(a.purchase_date if by_created else a.last_update), a.order_id)

    rows = sorted((a for a in world.amazon_orders if a.marketplace_id in markets
                   and after <= (a.purchase_date if by_created else a.last_update) < before), key=key)
    if state["k"] is not None:
        last = tuple(state["k"])
        rows = [a for a in rows if key(a) > last]
    page = rows[:state["n"]]
    payload: dict[str, Any] = {"Orders": [render_order(a) for a in page]}
    payload["CreatedBefore" if by_created else "LastUpdatedBefore"] = state["b"]
    if len(rows) > len(page):
        payload["NextToken"] = encode_cursor({**state, "k": list(key(page[-1]))})
    return Response(200, {"payload": payload})


def get_order_items(req: Request, world: World, order_id: str) -> Response:
    order = world.amazon_by_id.get(order_id)
    if order is None:
        return error(404, "NotFound", f"Order {order_id} was not found.")
    return Response(200, {"payload": {"AmazonOrderId": order_id, "OrderItems": render_items(order)}})


# --- vendor wiring: routes, auth, rate limits (the server is generic) ---
NAME = "amazon"
LIMITS = {  # per-operation token buckets (rate/s, burst) as SP-API documents them
    "amazon.getOrders": {"real": (20, 0.0167), "demo": (200, 100.0)},
    "amazon.getOrderItems": {"real": (30, 0.5), "demo": (1000, 1000.0)},
}


def authorize(app: object, req: Request) -> Response | None:
    return app.tokens.check(req)  # type: ignore[attr-defined]


def throttled(bucket: str, wait_s: float) -> Response:
    return error(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")


def limit_headers(bucket: str, state: TokenBucket) -> dict[str, str]:
    return {"x-amzn-RateLimit-Limit": f"{state.refill_per_s:g}"}


ROUTES = [
    route("GET", r"/orders/v0/orders", "amazon.getOrders", get_orders),
    route("GET", r"/orders/v0/orders/(?P<order_id>[^/]+)/orderItems", "amazon.getOrderItems", get_order_items),
]
