"""Shopify Admin REST API 2024-10 (docs/architecture.md: API contracts): ``orders.json``, ``customers.json`` and ``products.json``.

All three list endpoints share one implementation (``list_resource``), as on Shopify:

- ``limit`` 1..250 (default 50); cursor pagination through the ``Link`` header
  (``<.../orders.json?limit=N&page_info=X>; rel="next"``, ``rel="previous"``); a request carrying
  ``page_info`` may carry only ``limit`` and ``fields`` (else 400); the cursor remembers the filters.
- filters: ``ids``, ``since_id``, ``created_at_min/max``, ``updated_at_min/max`` on every resource,
  plus ``status`` on orders (``open`` default, ``closed``, ``cancelled``, ``any``) and ``product_type``,
  ``vendor``, ``title``, ``handle``, ``status`` on products; unknown parameters are ignored (as Shopify
  does). Results are in ascending id order; ``fields`` keeps only the listed top-level fields.
- Timestamps carry a local UTC offset: an order's and its refunds' the order's own offset (a store
  quirk on purpose, docs/architecture.md: The simulated company), a customer's the offset of their first order, a product's the shop's
  (-05:00). Money is a decimal string (and ``*_set`` objects in shop and presentment currency).

Resource semantics the warehouse relies on:

- **Order edits**: an edit lowers a line's ``quantity`` in place (with its ``discount_allocations``,
  ``total_discounts``, ``total_line_items_price``, tax and totals) and moves ``updated_at``. So
  Σ ``price`` × ``quantity`` is the order's current gross. Deviation from Shopify, on purpose: the real
  API keeps ``quantity`` as ordered and reports removals in ``current_quantity`` (2024-01+); here
  ``quantity`` is the current quantity and ``current_quantity`` = ``quantity`` − refunded units.
- **Customers**: ``orders_count`` counts non-test orders; ``total_spent`` is Σ (order total − refunded
  amount) of the non-test, non-cancelled orders; ``updated_at`` moves with every change of any of the
  customer's orders (they change ``orders_count``/``total_spent``/``last_order_id``).
- **Products**: one variant each (``Default Title``); a product's ``updated_at`` moves when its listing
  is revised (``body_html`` changes); prices never change.

Speed: each (resource, filters) result is computed once per world (ids in ascending order, cached on
the world), so every page is a binary search, not a scan of all orders.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

from sandbox.commerce_world import Product, ShopifyCustomer, ShopifyOrder
from sandbox.protocol import (
    Request,
    Response,
    decode_cursor,
    encode_cursor,
    iso_offset,
    parse_int,
    parse_time,
    route,
)
from sandbox.ratelimit import TokenBucket
from sandbox.sim import CENT, money
from sandbox.world import World

API_VERSION = "2024-10"
PREFIX = f"/admin/api/{API_VERSION}"
DEMO_ACCESS_TOKEN = "shpat_sandbox_demo_token"
ARCHIVE_AFTER = timedelta(days=14)  # fulfilled orders are closed (archived) two weeks after creation
PRESENTMENT_PER_USD = {"USD": Decimal(1), "EUR": Decimal("0.92"), "GBP": Decimal("0.79"), "CAD": Decimal("1.37")}
SHOP_UTC_OFFSET = -5
TIME_FILTERS = ("updated_at_min", "updated_at_max", "created_at_min", "created_at_max")
FILTERS = ("status", *TIME_FILTERS, "since_id")  # orders (kept for compatibility)


def _money_set(amount: Decimal, presentment: str) -> dict[str, Any]:
    shown = (amount * PRESENTMENT_PER_USD[presentment]).quantize(CENT, rounding=ROUND_HALF_UP)  # = money(), faster
    return {
        "shop_money": {"amount": str(amount), "currency_code": "USD"},
        "presentment_money": {"amount": str(shown), "currency_code": presentment},
    }


def render_order(o: ShopifyOrder, world: World) -> dict[str, Any]:
    t = lambda at: iso_offset(at, o.utc_offset_hours)
    now = world.config.now
    closed_at = o.created_at + ARCHIVE_AFTER if o.cancelled_at is None and o.created_at + ARCHIVE_AFTER < now else None
    gross = o.gross
    subtotal = gross - o.discount_total
    refunded = sum((r.subtotal for r in o.refunds), 0)
    status = (
        "refunded"
        if o.refunds and refunded >= subtotal
        else "partially_refunded"
        if o.refunds
        else "voided"
        if o.cancelled_at
        else "paid"
    )
    total = subtotal + o.shipping + o.tax
    cur = o.presentment_currency
    refunded_units = {r.line_id: 0 for r in o.refunds}
    for r in o.refunds:
        refunded_units[r.line_id] += r.quantity
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
        "total_line_items_price": str(gross),
        "total_line_items_price_set": _money_set(gross, cur),
        "total_discounts": str(o.discount_total),
        "total_discounts_set": _money_set(o.discount_total, cur),
        "subtotal_price": str(subtotal),
        "subtotal_price_set": _money_set(subtotal, cur),
        "total_tax": str(o.tax),
        "total_price": str(total),
        "total_price_set": _money_set(total, cur),
        "discount_codes": [{"code": o.discount_code, "amount": str(o.discount_total), "type": "percentage"}]
        if o.discount_code
        else [],
        "line_items": [
            {
                "id": li.line_id,
                "product_id": li.product.product_id,
                "variant_id": li.product.variant_id,
                "sku": li.product.sku,
                "title": li.product.title,
                "name": li.product.title,
                "quantity": li.quantity,
                "current_quantity": li.quantity - refunded_units.get(li.line_id, 0),
                "fulfillable_quantity": 0,
                "price": str(li.unit_price),
                "price_set": _money_set(li.unit_price, cur),
                "total_discount": "0.00",
                "discount_allocations": [
                    {
                        "amount": str(li.discount),
                        "discount_application_index": 0,
                        "amount_set": _money_set(li.discount, cur),
                    }
                ]
                if o.discount_code
                else [],
                "taxable": True,
                "requires_shipping": True,
                "gift_card": False,
            }
            for li in o.lines
        ],
        "shipping_lines": [
            {
                "id": o.order_id * 10 + 1,
                "title": "Standard",
                "code": "STANDARD",
                "price": str(o.shipping),
                "price_set": _money_set(o.shipping, cur),
            }
        ],
        "refunds": [
            {
                "id": r.refund_id,
                "order_id": o.order_id,
                "created_at": t(r.created_at),
                "processed_at": t(r.created_at),
                "note": "customer return",
                "restock": True,
                "refund_line_items": [
                    {
                        "id": r.refund_id * 10 + 1,
                        "line_item_id": r.line_id,
                        "quantity": r.quantity,
                        "restock_type": "return",
                        "subtotal": str(r.subtotal),
                        "total_tax": str(r.tax),
                        "subtotal_set": _money_set(r.subtotal, cur),
                    }
                ],
                "transactions": [
                    {
                        "id": r.refund_id * 10 + 2,
                        "kind": "refund",
                        "status": "success",
                        "amount": str(r.subtotal + r.tax),
                        "currency": "USD",
                    }
                ],
            }
            for r in o.refunds
        ],
        "customer": {
            "id": o.customer.customer_id,
            "email": o.customer.email,
            "first_name": o.customer.first_name,
            "last_name": o.customer.last_name,
            "created_at": t(o.customer.created_at),
            "currency": "USD",
        },
    }


# --- customers ---------------------------------------------------------------------------------


def customer_stats(c: ShopifyCustomer, world: World) -> tuple[int, Decimal, datetime, ShopifyOrder | None]:
    """(orders_count, total_spent, updated_at, last order) as Shopify keeps them on the customer."""
    orders = world.commerce.shopify_orders_by_customer.get(c.customer_id, [])
    real = [o for o in orders if not o.test]
    spent = sum(
        (
            (o.gross - o.discount_total + o.shipping + o.tax) - sum((r.subtotal + r.tax for r in o.refunds), Decimal(0))
            for o in real
            if o.cancelled_at is None
        ),
        Decimal("0.00"),
    )
    updated = max([c.created_at] + [o.updated_at for o in orders])
    return len(real), money(spent), updated, (real[-1] if real else None)


def render_customer(c: ShopifyCustomer, world: World) -> dict[str, Any]:
    count, spent, updated, last = customer_stats(c, world)
    t = lambda at: iso_offset(at, c.utc_offset_hours)
    return {
        "id": c.customer_id,
        "email": c.email,
        "created_at": t(c.created_at),
        "updated_at": t(updated),
        "first_name": c.first_name,
        "last_name": c.last_name,
        "orders_count": count,
        "state": "enabled",
        "total_spent": str(spent),
        "last_order_id": last.order_id if last else None,
        "last_order_name": f"#{last.number}" if last else None,
        "note": None,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "tags": "",
        "currency": "USD",
        "phone": None,
        "tax_exemptions": [],
        "admin_graphql_api_id": f"gid://shopify/Customer/{c.customer_id}",
    }


# --- products ----------------------------------------------------------------------------------


def _handle(title: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in title.lower()).strip("-").replace("--", "-")


def render_product(p: Product, world: World) -> dict[str, Any]:
    t = lambda at: iso_offset(at, SHOP_UTC_OFFSET)
    body = f"<p>{p.title}: bronze-cut, slow-dried, made in small batches.</p>"
    if p.revision:
        body += f"<p>Now with our revised recipe notes (v{p.revision + 1}).</p>"
    return {
        "id": p.product_id,
        "title": p.title,
        "body_html": body,
        "vendor": "PastaPro",
        "product_type": p.product_type,
        "created_at": t(p.created_at),
        "handle": _handle(p.title),
        "updated_at": t(p.updated_at),
        "published_at": t(p.created_at),
        "template_suffix": None,
        "published_scope": "web",
        "tags": "pasta" if p.product_type == "Pasta" else "sauce",
        "status": "active",
        "admin_graphql_api_id": f"gid://shopify/Product/{p.product_id}",
        "variants": [
            {
                "id": p.variant_id,
                "product_id": p.product_id,
                "title": "Default Title",
                "price": str(p.price_usd),
                "sku": p.sku,
                "position": 1,
                "inventory_policy": "deny",
                "compare_at_price": None,
                "option1": "Default Title",
                "option2": None,
                "option3": None,
                "created_at": t(p.created_at),
                "updated_at": t(p.updated_at),
                "taxable": True,
                "barcode": None,
                "grams": 3000 if p.large else 500,
                "weight": 3.0 if p.large else 0.5,
                "weight_unit": "kg",
                "inventory_item_id": p.variant_id + 1_000_000_000,
                "requires_shipping": True,
                "admin_graphql_api_id": f"gid://shopify/ProductVariant/{p.variant_id}",
            }
        ],
        "options": [
            {
                "id": p.product_id + 2_000_000_000,
                "product_id": p.product_id,
                "name": "Title",
                "position": 1,
                "values": ["Default Title"],
            }
        ],
        "images": [],
        "image": None,
    }


# --- the one list implementation ---------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """A Shopify list endpoint over world records held in ascending id order."""

    name: str  # the path and envelope key: orders, customers, products
    extra_filters: tuple[str, ...]  # resource-specific filters, besides ids/since_id/created/updated
    rows: Callable[[World], Sequence[Any]]
    ident: Callable[[Any], int]
    created: Callable[[Any], datetime]
    updated: Callable[[Any, World], datetime]
    # validates the resource-specific filters: a predicate, or the 400 response
    matcher: Callable[[dict[str, str], World], Callable[[Any], bool] | Response]
    render: Callable[[Any, World], dict[str, Any]]

    @property
    def filters(self) -> tuple[str, ...]:
        return ("ids", "since_id", *TIME_FILTERS, *self.extra_filters)


def _order_matcher(filters: dict[str, str], world: World) -> Callable[[ShopifyOrder], bool] | Response:
    status = filters.get("status", "open")
    if status not in ("open", "closed", "cancelled", "any"):
        return Response(400, {"errors": {"status": ["is not included in the list"]}})
    now = world.config.now

    def keep(o: ShopifyOrder) -> bool:
        if status == "any":
            return True
        if status == "cancelled":
            return o.cancelled_at is not None
        closed = o.cancelled_at is None and o.created_at + ARCHIVE_AFTER < now
        return closed if status == "closed" else (o.cancelled_at is None and not closed)

    return keep


def _product_matcher(filters: dict[str, str], world: World) -> Callable[[Product], bool] | Response:
    status = filters.get("status")
    if status is not None and status not in ("active", "archived", "draft"):
        return Response(400, {"errors": {"status": ["is not included in the list"]}})
    wanted = {k: filters[k] for k in ("product_type", "vendor", "title", "handle") if k in filters}

    def keep(p: Product) -> bool:
        if status not in (None, "active"):
            return False
        seen = {"product_type": p.product_type, "vendor": "PastaPro", "title": p.title, "handle": _handle(p.title)}
        return all(seen[k].lower() == v.lower() for k, v in wanted.items())

    return keep


ORDERS = Resource(
    "orders",
    ("status",),
    lambda w: w.shopify_orders,
    lambda o: o.order_id,
    lambda o: o.created_at,
    lambda o, w: o.updated_at,
    _order_matcher,
    render_order,
)
CUSTOMERS = Resource(
    "customers",
    (),
    lambda w: w.commerce.shopify_customers,
    lambda c: c.customer_id,
    lambda c: c.created_at,
    lambda c, w: customer_stats(c, w)[2],
    lambda f, w: lambda c: True,
    render_customer,
)
PRODUCTS = Resource(
    "products",
    ("product_type", "vendor", "title", "handle", "status"),
    lambda w: w.products,
    lambda p: p.product_id,
    lambda p: p.created_at,
    lambda p, w: p.updated_at,
    _product_matcher,
    render_product,
)


def _matching_ids(res: Resource, filters: dict[str, str], world: World) -> list[int] | Response:
    """Ids of the records matching ``filters``, ascending; computed once per world and filter set."""
    try:
        bounds = {k: parse_time(filters[k]) for k in TIME_FILTERS if k in filters}
        since_id = int(filters.get("since_id", 0))
        ids = {int(i) for i in filters["ids"].split(",") if i.strip()} if "ids" in filters else None
    except ValueError as exc:
        return Response(400, {"errors": {"query": [str(exc)]}})
    keep = res.matcher(filters, world)
    if isinstance(keep, Response):
        return keep

    def build() -> list[int]:
        rows = res.rows(world)
        if "updated_at_min" in bounds or "updated_at_max" in bounds:  # narrow through the updated_at index
            index = world.commerce.cached(
                (res.name, "by_updated"),
                lambda: sorted(((res.updated(r, world), res.ident(r)) for r in rows), key=lambda p: p),
            )
            stamps = world.commerce.cached((res.name, "by_updated_stamps"), lambda: [u for u, _ in index])
            lo = bisect_left(stamps, bounds["updated_at_min"]) if "updated_at_min" in bounds else 0
            hi = bisect_right(stamps, bounds["updated_at_max"]) if "updated_at_max" in bounds else len(index)
            by_id = world.commerce.cached((res.name, "by_id"), lambda: {res.ident(r): r for r in rows})
            rows = [by_id[i] for i in sorted(i for _, i in index[lo:hi])]
        return [
            res.ident(r)
            for r in rows
            if res.ident(r) > since_id
            and (ids is None or res.ident(r) in ids)
            and keep(r)
            and not ("created_at_min" in bounds and res.created(r) < bounds["created_at_min"])
            and not ("created_at_max" in bounds and res.created(r) > bounds["created_at_max"])
        ]

    return world.commerce.cached((res.name, "ids", tuple(sorted(filters.items()))), build)


def list_resource(req: Request, world: World, res: Resource) -> Response:
    """``GET {resource}.json``: filters, ``fields``, ``limit`` and ``Link``-header ``page_info`` cursors."""
    q = dict(req.query)
    try:
        limit = parse_int(q, "limit", 50, 250)
    except ValueError:
        return Response(400, {"errors": {"limit": ["must be less than or equal to 250"]}})
    if "page_info" in q:
        extra = set(q) - {"page_info", "limit", "fields"}
        if extra:
            return Response(
                400,
                {
                    "errors": {
                        "page_info": [
                            f"Cannot pass {', '.join(sorted(extra))} with page_info; only limit and fields are allowed"
                        ]
                    }
                },
            )
        try:
            state = decode_cursor(q["page_info"])
            if state.get("r", res.name) != res.name:
                raise ValueError("cursor of another resource")
            filters, after_id, before_id = dict(state["f"]), state.get("a"), state.get("b")
        except (ValueError, KeyError, TypeError, AttributeError):
            return Response(400, {"errors": {"page_info": ["Invalid value."]}})
    else:
        filters = {k: q[k] for k in res.filters if k in q}
        after_id = before_id = None
    ids = _matching_ids(res, filters, world)
    if isinstance(ids, Response):
        return ids
    if after_id is not None:
        start = bisect_right(ids, after_id)
        page_ids = ids[start : start + limit]
    elif before_id is not None:
        end = bisect_left(ids, before_id)
        start = max(0, end - limit)
        page_ids = ids[start:end]
    else:
        start, page_ids = 0, ids[:limit]
    by_id = world.commerce.cached((res.name, "by_id"), lambda: {res.ident(r): r for r in res.rows(world)})
    body = [res.render(by_id[i], world) for i in page_ids]
    if "fields" in q:
        wanted = [f.strip() for f in q["fields"].split(",")]
        body = [{k: row[k] for k in wanted if k in row} for row in body]
    links = []
    url = f"{req.base_url}{PREFIX}/{res.name}.json"
    if page_ids and start > 0 and (after_id is not None or before_id is not None):
        token = encode_cursor({"r": res.name, "f": filters, "b": page_ids[0]})
        links.append(f'<{url}?{urlencode({"limit": limit, "page_info": token})}>; rel="previous"')
    if page_ids and start + len(page_ids) < len(ids):
        token = encode_cursor({"r": res.name, "f": filters, "a": page_ids[-1]})
        links.append(f'<{url}?{urlencode({"limit": limit, "page_info": token})}>; rel="next"')
    headers = {"Link": ", ".join(links)} if links else {}
    return Response(200, {res.name: body}, headers)


def list_orders(req: Request, world: World) -> Response:
    return list_resource(req, world, ORDERS)


def list_customers(req: Request, world: World) -> Response:
    return list_resource(req, world, CUSTOMERS)


def list_products(req: Request, world: World) -> Response:
    return list_resource(req, world, PRODUCTS)


# --- vendor wiring: routes, auth, rate limits (the server is generic) ---
NAME = "shopify"
LIMITS = {"shopify": {"real": (40, 2.0), "demo": (400, 200.0)}}  # leaky bucket: 40 requests, leaks 2/s


def authorize(app: object, req: Request) -> Response | None:
    if req.headers.get("x-shopify-access-token") != DEMO_ACCESS_TOKEN:
        return Response(401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
    return None


def throttled(bucket: str, wait_s: float) -> Response:
    return Response(
        429,
        {"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."},
        {"Retry-After": "2.0"},
    )


def limit_headers(bucket: str, state: TokenBucket) -> dict[str, str]:
    return {"X-Shopify-Shop-Api-Call-Limit": f"{state.used}/{int(state.capacity)}"}


ROUTES = [
    route("GET", rf"{PREFIX}/orders\.json", "shopify", list_orders),
    route("GET", rf"{PREFIX}/customers\.json", "shopify", list_customers),
    route("GET", rf"{PREFIX}/products\.json", "shopify", list_products),
]
