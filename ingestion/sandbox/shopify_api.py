"""Shopify Admin REST API 2024-10 (DESIGN §4): ``orders.json`` with Link-header cursor pagination."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from ingestion.sandbox.protocol import (
    Request, Response, decode_cursor, encode_cursor, iso_offset, parse_int, parse_time, route,
)
from ingestion.sandbox.ratelimit import TokenBucket
from ingestion.sandbox.commerce_world import ShopifyOrder
from ingestion.sandbox.sim import money
from ingestion.sandbox.world import World

API_VERSION = "2024-10"
PREFIX = f"/admin/api/{API_VERSION}"
DEMO_ACCESS_TOKEN = "shpat_sandbox_demo_token"
ARCHIVE_AFTER = timedelta(days=14)  # fulfilled orders are closed (archived) two weeks after creation
PRESENTMENT_PER_USD = {"USD": Decimal(1), "EUR": Decimal("0.92"), "GBP": Decimal("0.79"), "CAD": Decimal("1.37")}
FILTERS = ("status", "updated_at_min", "updated_at_max", "created_at_min", "created_at_max", "since_id")


def _money_set(amount: Decimal, presentment: str) -> dict[str, Any]:
    shown = money(amount * PRESENTMENT_PER_USD[presentment])
    return {"shop_money": {"amount": str(amount), "currency_code": "USD"},
            "presentment_money": {"amount": str(shown), "currency_code": presentment}}


def render_order(o: ShopifyOrder, world: World) -> dict[str, Any]:
    t = lambda at: iso_offset(at, o.utc_offset_hours)  # noqa: E731
    now = world.config.now
    closed_at = o.created_at + ARCHIVE_AFTER if o.cancelled_at is None and o.created_at + ARCHIVE_AFTER < now else None
    subtotal = o.gross - o.discount_total
    refunded = sum((r.subtotal for r in o.refunds), 0)
    status = "refunded" if o.refunds and refunded >= subtotal else "partially_refunded" if o.refunds else \
        "voided" if o.cancelled_at else "paid"
    total = subtotal + o.shipping + o.tax
    cur = o.presentment_currency
    return {
        "id": o.order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{o.order_id}",
        "name": f"#{o.number}",
        "order_number": o.number,
        "email": o.customer.email,
        "created_at": t(o.created_at),
        "updated_at": t(o.updated_at),
        "processed_at": t(o.created_at),
        "closed_at": t(closed_at) if closed_at else None,
        "cancelled_at": t(o.cancelled_at) if o.cancelled_at else None,
        "cancel_reason": "customer" if o.cancelled_at else None,
        "currency": "USD",
        "presentment_currency": cur,
        "financial_status": status,
        "fulfillment_status": None if o.cancelled_at else "fulfilled",
        "test": o.test,
        "taxes_included": False,
        "total_line_items_price": str(o.gross),
        "total_line_items_price_set": _money_set(o.gross, cur),
        "total_discounts": str(o.discount_total),
        "total_discounts_set": _money_set(o.discount_total, cur),
        "subtotal_price": str(subtotal),
        "subtotal_price_set": _money_set(subtotal, cur),
        "total_tax": str(o.tax),
        "total_price": str(total),
        "total_price_set": _money_set(total, cur),
        "discount_codes": [{"code": o.discount_code, "amount": str(o.discount_total), "type": "percentage"}]
        if o.discount_code else [],
        "line_items": [{
            "id": li.line_id, "product_id": li.product.product_id, "variant_id": li.product.variant_id,
            "sku": li.product.sku, "title": li.product.title, "name": li.product.title,
            "quantity": li.quantity, "price": str(li.unit_price), "price_set": _money_set(li.unit_price, cur),
            "total_discount": "0.00",
            "discount_allocations": [{"amount": str(li.discount), "discount_application_index": 0,
                                      "amount_set": _money_set(li.discount, cur)}] if o.discount_code else [],
            "taxable": True, "requires_shipping": True, "gift_card": False,
        } for li in o.lines],
        "shipping_lines": [{"id": o.order_id * 10 + 1, "title": "Standard", "code": "STANDARD",
                            "price": str(o.shipping), "price_set": _money_set(o.shipping, cur)}],
        "refunds": [{
            "id": r.refund_id, "order_id": o.order_id, "created_at": t(r.created_at),
            "processed_at": t(r.created_at), "note": "customer return", "restock": True,
            "refund_line_items": [{"id": r.refund_id * 10 + 1, "line_item_id": r.line_id, "quantity": r.quantity,
                                   "subtotal": str(r.subtotal), "total_tax": str(r.tax),
                                   "subtotal_set": _money_set(r.subtotal, cur)}],
            "transactions": [{"id": r.refund_id * 10 + 2, "kind": "refund", "status": "success",
                              "amount": str(r.subtotal + r.tax), "currency": "USD"}],
        } for r in o.refunds],
        "customer": {
            "id": o.customer.customer_id, "email": o.customer.email,
            "first_name": o.customer.first_name, "last_name": o.customer.last_name,
            "created_at": t(o.customer.created_at), "currency": "USD",
        },
    }


def _status_matches(o: ShopifyOrder, status: str, world: World) -> bool:
    if status == "any":
        return True
    closed = o.cancelled_at is None and o.created_at + ARCHIVE_AFTER < world.config.now
    if status == "cancelled":
        return o.cancelled_at is not None
    if status == "closed":
        return closed
    return o.cancelled_at is None and not closed  # open


def list_orders(req: Request, world: World) -> Response:
    q = dict(req.query)
    try:
        limit = parse_int(q, "limit", 50, 250)
    except ValueError:
        return Response(400, {"errors": {"limit": ["must be less than or equal to 250"]}})
    if "page_info" in q:
        extra = set(q) - {"page_info", "limit", "fields"}
        if extra:
            return Response(400, {"errors": {"page_info": [
                f"Cannot pass {', '.join(sorted(extra))} with page_info; only limit and fields are allowed"]}})
        try:
            state = decode_cursor(q["page_info"])
        except ValueError:
            return Response(400, {"errors": {"page_info": ["Invalid value."]}})
        filters, after_id, before_id = state["f"], state.get("a"), state.get("b")
    else:
        filters = {k: q[k] for k in FILTERS if k in q}
        after_id = before_id = None
    status = filters.get("status", "open")
    if status not in ("open", "closed", "cancelled", "any"):
        return Response(400, {"errors": {"status": ["is not included in the list"]}})
    try:
        bounds = {k: parse_time(filters[k]) for k in FILTERS[1:5] if k in filters}
        since_id = int(filters.get("since_id", 0))
    except ValueError as exc:
        return Response(400, {"errors": {"query": [str(exc)]}})

    def keep(o: ShopifyOrder) -> bool:
        if o.order_id <= since_id or not _status_matches(o, status, world):
            return False
        upd = o.updated_at
        return not (("updated_at_min" in bounds and upd < bounds["updated_at_min"])
                    or ("updated_at_max" in bounds and upd > bounds["updated_at_max"])
                    or ("created_at_min" in bounds and o.created_at < bounds["created_at_min"])
                    or ("created_at_max" in bounds and o.created_at > bounds["created_at_max"]))

    rows = [o for o in world.shopify_orders if keep(o)]  # ascending id
    if after_id is not None:
        rows = [o for o in rows if o.order_id > after_id]
        page = rows[:limit]
    elif before_id is not None:
        rows = [o for o in rows if o.order_id < before_id]
        page = rows[-limit:]
    else:
        page = rows[:limit]
    body = [render_order(o, world) for o in page]
    if "fields" in q:
        wanted = [f.strip() for f in q["fields"].split(",")]
        body = [{k: row[k] for k in wanted if k in row} for row in body]
    links = []
    url = f"{req.base_url}{PREFIX}/orders.json"
    if page and (after_id is not None or before_id is not None):
        earlier = [o for o in world.shopify_orders if o.order_id < page[0].order_id and keep(o)]
        if earlier:
            token = encode_cursor({"f": filters, "b": page[0].order_id})
            links.append(f'<{url}?{urlencode({"limit": limit, "page_info": token})}>; rel="previous"')
    if page and any(o.order_id > page[-1].order_id for o in rows):
        token = encode_cursor({"f": filters, "a": page[-1].order_id})
        links.append(f'<{url}?{urlencode({"limit": limit, "page_info": token})}>; rel="next"')
    headers = {"Link": ", ".join(links)} if links else {}
    return Response(200, {"orders": body}, headers)


# --- vendor wiring: routes, auth, rate limits (the server is generic) ---
NAME = "shopify"
LIMITS = {"shopify": {"real": (40, 2.0), "demo": (400, 200.0)}}  # leaky bucket: 40 requests, leaks 2/s


def authorize(app: object, req: Request) -> Response | None:
    if req.headers.get("x-shopify-access-token") != DEMO_ACCESS_TOKEN:
        return Response(401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
    return None


def throttled(bucket: str, wait_s: float) -> Response:
    return Response(429, {"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."},
                    {"Retry-After": "2.0"})


def limit_headers(bucket: str, state: TokenBucket) -> dict[str, str]:
    return {"X-Shopify-Shop-Api-Call-Limit": f"{state.used}/{int(state.capacity)}"}


ROUTES = [route("GET", rf"{PREFIX}/orders\.json", "shopify", list_orders)]
