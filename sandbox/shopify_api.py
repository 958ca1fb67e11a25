"""Shopify Admin REST API (docs/architecture.md: API contracts): ``orders.json``, ``customers.json``,
``products.json``, ``events.json`` and ``shop.json`` under ``/admin/api/{version}/``, and
``/admin/oauth/access_scopes.json``.

API versions: as on 2026-12-01, Shopify supports the quarterly versions ``SUPPORTED_VERSIONS``
(2025-10 .. 2026-10, about a year of them) and ``unstable``. A request for a version it does not support
(older, like the 2024-10 the project's source pins, or not released) is served by the oldest supported
version, as Shopify does; every response says which in ``X-Shopify-API-Version``. The REST resources
have the same shape in every version here.

List-valued parameters (``ids``, ``fields``, events' ``filter``) are comma-separated, as Shopify
documents them; repeated (``ids=1&ids=2``) and Rails' bracket form (``ids[]=1&ids[]=2``) work too.

``events.json``: ``filter`` (subject types, e.g. ``Order``, ``Product``), ``verb`` (``placed``,
``cancelled``, ``create``, ``destroy``...), ``since_id``, ``created_at_min/max``, ``limit`` and ``page_info``
as on the other lists. Orders are ``placed`` and, some, ``cancelled``; products ``create``. The
simulated shop never deletes an order, so ``filter=Order&verb=destroy`` is an empty list.

``checkouts.json`` (abandoned checkouts, ``world.marketing.checkouts``) and ``checkouts/count.json``: the
documented parameters ``limit``, ``since_id``, ``created_at_min/max``, ``updated_at_min/max`` and ``status``
(``open`` default, ``closed``: the simulated shop never closes one, so an empty list), paged like the other
lists (``fields`` kept too; ``ids`` is not a parameter of this endpoint and is ignored). Every order and
checkout carries its web session (``landing_site``: path + query string with the UTM parameters,
``referring_site``: null when none, ``source_name: "web"``). A checkout's update that lies past the world's
clock is not visible yet (``updated_at`` = ``created_at`` until a later world).

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

import hashlib
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

from sandbox import shopify_bulk, shopify_graphql, shopify_oauth
from sandbox.commerce_world import Product, ShopifyCustomer, ShopifyOrder
from sandbox.marketing_world import AbandonedCheckout
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
from sandbox.shopify_nodes import PRESENTMENT_PER_USD, customer_stats, product_handle
from sandbox.sim import CENT, money
from sandbox.world import World

API_VERSION = "2024-10"  # the version the project's own source pins (served as the oldest supported one)
PREFIX = f"/admin/api/{API_VERSION}"
SUPPORTED_VERSIONS = ("2025-10", "2026-01", "2026-04", "2026-07", "2026-10")  # as on 2026-12-01, oldest first
ACCESS_SCOPES = ("read_orders", "read_all_orders", "read_customers", "read_products")
SHOP_ID = 60_000_000_001
DEMO_ACCESS_TOKEN = "shpat_sandbox_demo_token"
ARCHIVE_AFTER = timedelta(days=14)  # fulfilled orders are closed (archived) two weeks after creation
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
        # the web session that placed the order (sandbox/marketing_world.py): landing page with its query string
        "landing_site": o.landing_site,
        "referring_site": o.referring_site,
        "landing_site_ref": None,
        "source_name": "web",
    }


# --- customers ---------------------------------------------------------------------------------


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
        "handle": product_handle(p.title),
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
    list_filters: tuple[str, ...] = ("ids",)  # comma-separated list filters (repeats honoured too)
    by_ids: bool = True  # ``ids`` filters the list (abandoned checkouts have no such parameter: ignored)

    @property
    def filters(self) -> tuple[str, ...]:
        return (*(("ids",) if self.by_ids else ()), "since_id", *TIME_FILTERS, *self.extra_filters)


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
        seen = {
            "product_type": p.product_type,
            "vendor": "PastaPro",
            "title": p.title,
            "handle": product_handle(p.title),
        }
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


@dataclass(frozen=True)
class Event:
    id: int
    subject_id: int
    subject_type: str
    verb: str
    created_at: datetime
    message: str
    path: str


def world_events(world: World) -> list[Event]:
    """The shop's events, in ascending id order: orders placed (and cancelled), products created."""

    def build() -> list[Event]:
        events = []
        for o in world.shopify_orders:
            name = f"#{o.order_id}"
            events.append(
                Event(o.order_id * 4, o.order_id, "Order", "placed", o.created_at, f"Order {name} was placed.", "")
            )
            if o.cancelled_at is not None:
                events.append(
                    Event(
                        o.order_id * 4 + 1,
                        o.order_id,
                        "Order",
                        "cancelled",
                        o.cancelled_at,
                        f"Order {name} was cancelled.",
                        "",
                    )
                )
        for p in world.products:
            events.append(
                Event(
                    p.product_id * 4 + 2, p.product_id, "Product", "create", p.created_at, f"{p.title} was created.", ""
                )
            )
        return sorted(events, key=lambda e: e.id)

    return world.commerce.cached(("shopify.events",), build)


def render_event(e: Event, world: World) -> dict[str, Any]:
    offset = SHOP_UTC_OFFSET
    if e.subject_type == "Order":
        offset = world.commerce.cached(
            ("shopify.order_offsets",), lambda: {o.order_id: o.utc_offset_hours for o in world.shopify_orders}
        ).get(e.subject_id, SHOP_UTC_OFFSET)
    kind = "orders" if e.subject_type == "Order" else "products"
    return {
        "id": e.id,
        "subject_id": e.subject_id,
        "created_at": iso_offset(e.created_at, offset),
        "subject_type": e.subject_type,
        "verb": e.verb,
        "arguments": [f"#{e.subject_id}"] if e.subject_type == "Order" else [],
        "body": None,
        "message": e.message,
        "author": "Shopify",
        "description": e.message,
        "path": f"/admin/{kind}/{e.subject_id}",
    }


def _event_matcher(filters: dict[str, str], world: World) -> Callable[[Event], bool]:
    types = {t.strip().lower() for t in filters["filter"].split(",")} if "filter" in filters else None
    verb = filters.get("verb", "").strip().lower() or None
    return lambda e: (types is None or e.subject_type.lower() in types) and (verb is None or e.verb == verb)


EVENTS = Resource(
    "events",
    ("filter", "verb"),
    world_events,
    lambda e: e.id,
    lambda e: e.created_at,
    lambda e, w: e.created_at,
    _event_matcher,
    render_event,
    ("ids", "filter"),
)


# --- abandoned checkouts ----------------------------------------------------------------------


def checkout_updated_at(c: AbandonedCheckout, world: World) -> datetime:
    """The checkout's last update as the shop sees it at the world's clock: a checkout started late on the
    ``as_of`` day whose update lies past ``now`` still shows its creation (the update arrives with a later world)."""
    return c.updated_at if c.updated_at <= world.config.now else c.created_at


def _hex(checkout_id: int, purpose: str) -> str:
    """A stable 32-digit hex token of a checkout (cart token, recovery key)."""
    return hashlib.blake2b(f"{purpose}:{checkout_id}".encode(), digest_size=16).hexdigest()


def _checkout_presentment(c: AbandonedCheckout) -> str:
    """The buyer's currency: the offset tells the market (the world keeps no currency on a checkout)."""
    return {0: "GBP", 1: "EUR"}.get(c.utc_offset_hours, "USD")


def render_checkout(c: AbandonedCheckout, world: World) -> dict[str, Any]:
    """An abandoned checkout (Shopify REST ``checkouts.json``): money in shop currency (USD) as decimal strings,
    timestamps in the customer's offset, ``customer`` absent for a guest. Taxes and shipping are not yet
    computed on an abandoned cart here: ``total_price`` = ``subtotal_price``, ``total_tax`` = ``"0.00"``."""
    t = lambda at: iso_offset(at, c.utc_offset_hours)
    subtotal = c.subtotal
    cur = _checkout_presentment(c)
    key = _hex(c.checkout_id, "recover")
    grams = sum((3000 if p.large else 500) * q for p, q in c.lines)
    out: dict[str, Any] = {
        "id": c.checkout_id,
        "token": c.token,
        "cart_token": _hex(c.checkout_id, "cart"),
        "email": c.email,
        "gateway": None,
        "buyer_accepts_marketing": c.checkout_id % 3 == 0,
        "buyer_accepts_sms": False,
        "created_at": t(c.created_at),
        "updated_at": t(checkout_updated_at(c, world)),
        "completed_at": None,
        "closed_at": None,
        "landing_site": c.source.landing_site(f"Cj0K{(c.checkout_id * 2654435761) % 10**12:012d}"),
        "referring_site": c.source.referring_site,
        "note": None,
        "note_attributes": [],
        "location_id": None,
        "source_name": "web",
        "source_identifier": None,
        "source_url": None,
        "device_id": None,
        "phone": None,
        "sms_marketing_phone": None,
        "customer_locale": {1: "de", 0: "en-GB"}.get(c.utc_offset_hours, "en"),
        "name": f"#{c.checkout_id}",
        "abandoned_checkout_url": f"https://pastapro.myshopify.com/{SHOP_ID}/checkouts/{c.token}/recover?key={key}",
        "discount_codes": [],
        "tax_lines": [],
        "shipping_lines": [],
        "taxes_included": False,
        "total_weight": grams,
        "currency": "USD",
        "presentment_currency": cur,
        "total_line_items_price": str(subtotal),
        "total_line_items_price_set": _money_set(subtotal, cur),
        "total_discounts": "0.00",
        "total_discounts_set": _money_set(Decimal("0.00"), cur),
        "subtotal_price": str(subtotal),
        "subtotal_price_set": _money_set(subtotal, cur),
        "total_tax": "0.00",
        "total_tax_set": _money_set(Decimal("0.00"), cur),
        "total_price": str(subtotal),
        "total_price_set": _money_set(subtotal, cur),
        "total_duties": None,
        "line_items": [
            {
                "key": f"{p.variant_id}:{key[:16]}{n:02d}",
                "product_id": p.product_id,
                "variant_id": p.variant_id,
                "sku": p.sku,
                "title": p.title,
                "variant_title": "",
                "vendor": "PastaPro",
                "quantity": q,
                "price": str(p.price_usd),
                "line_price": str(money(p.price_usd * q)),
                "compare_at_price": None,
                "grams": 3000 if p.large else 500,
                "requires_shipping": True,
                "taxable": True,
                "gift_card": False,
                "fulfillment_service": "manual",
                "applied_discounts": [],
                "discount_codes": [],
                "tax_lines": [],
                "properties": None,
                "destination_location_id": None,
                "origin_location_id": None,
            }
            for n, (p, q) in enumerate(c.lines)
        ],
    }
    if c.customer is not None:
        count, spent, updated, last = customer_stats(c.customer, world)
        out["customer"] = {
            "id": c.customer.customer_id,
            "email": c.customer.email,
            "first_name": c.customer.first_name,
            "last_name": c.customer.last_name,
            "created_at": t(c.customer.created_at),
            "updated_at": t(updated),
            "orders_count": count,
            "total_spent": str(spent),
            "last_order_id": last.order_id if last else None,
            "state": "enabled",
            "verified_email": True,
            "tax_exempt": False,
            "currency": "USD",
            "admin_graphql_api_id": f"gid://shopify/Customer/{c.customer.customer_id}",
        }
    return out


def _checkout_matcher(filters: dict[str, str], world: World) -> Callable[[AbandonedCheckout], bool] | Response:
    status = filters.get("status", "open")
    if status not in ("open", "closed"):
        return Response(400, {"errors": {"status": ["is not included in the list"]}})
    return lambda c: status == "open"  # the simulated shop never closes an abandoned checkout


CHECKOUTS = Resource(
    "checkouts",
    ("status",),
    lambda w: w.marketing.checkouts,
    lambda c: c.checkout_id,
    lambda c: c.created_at,
    checkout_updated_at,
    _checkout_matcher,
    render_checkout,
    (),
    by_ids=False,
)


def list_checkouts(req: Request, world: World, version: str = API_VERSION) -> Response:
    return list_resource(req, world, CHECKOUTS, version)


def count_checkouts(req: Request, world: World, version: str = API_VERSION) -> Response:
    """``GET checkouts/count.json``: how many abandoned checkouts match the list's filters (no paging)."""
    ids = _matching_ids(CHECKOUTS, {k: req.query[k] for k in CHECKOUTS.filters if k in req.query}, world)
    return ids if isinstance(ids, Response) else Response(200, {"count": len(ids)})


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


def list_resource(req: Request, world: World, res: Resource, version: str = API_VERSION) -> Response:
    """``GET {resource}.json``: filters, ``fields``, ``limit`` and ``Link``-header ``page_info`` cursors."""
    q = dict(req.query)
    for name in ("fields", *res.list_filters):  # list parameters: comma-separated, repeated or name[]=
        values = req.values(name)
        q.pop(f"{name}[]", None)
        if values is not None:
            q[name] = ",".join(values)
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
    url = f"{req.base_url}/admin/api/{version}/{res.name}.json"
    if page_ids and start > 0 and (after_id is not None or before_id is not None):
        token = encode_cursor({"r": res.name, "f": filters, "b": page_ids[0]})
        links.append(f'<{url}?{urlencode({"limit": limit, "page_info": token})}>; rel="previous"')
    if page_ids and start + len(page_ids) < len(ids):
        token = encode_cursor({"r": res.name, "f": filters, "a": page_ids[-1]})
        links.append(f'<{url}?{urlencode({"limit": limit, "page_info": token})}>; rel="next"')
    headers = {"Link": ", ".join(links)} if links else {}
    return Response(200, {res.name: body}, headers)


def list_orders(req: Request, world: World, version: str = API_VERSION) -> Response:
    return list_resource(req, world, ORDERS, version)


def list_customers(req: Request, world: World, version: str = API_VERSION) -> Response:
    return list_resource(req, world, CUSTOMERS, version)


def list_products(req: Request, world: World, version: str = API_VERSION) -> Response:
    return list_resource(req, world, PRODUCTS, version)


def list_events(req: Request, world: World, version: str = API_VERSION) -> Response:
    return list_resource(req, world, EVENTS, version)


def served_version(requested: str) -> str:
    """The version Shopify serves for ``requested``: itself when supported, else the oldest supported one."""
    return requested if requested in (*SUPPORTED_VERSIONS, "unstable") else SUPPORTED_VERSIONS[0]


def shop_json(world: World) -> dict[str, Any]:
    created = min(p.created_at for p in world.products)
    at = iso_offset(created, SHOP_UTC_OFFSET)
    return {
        "id": SHOP_ID,
        "name": "PastaPro",
        "email": "shop@pastapro.example",
        "domain": "pastapro.example",
        "province": "New York",
        "country": "US",
        "address1": "1 Sandbox Way",
        "zip": "10001",
        "city": "New York",
        "source": None,
        "phone": "+12125550100",
        "latitude": 40.7506,
        "longitude": -73.9972,
        "primary_locale": "en",
        "address2": "",
        "created_at": at,
        "updated_at": at,
        "country_code": "US",
        "country_name": "United States",
        "currency": "USD",
        "customer_email": "shop@pastapro.example",
        "timezone": "(GMT-05:00) Eastern Time (US & Canada)",
        "iana_timezone": "America/New_York",
        "shop_owner": "PastaPro Admin",
        "money_format": "${{amount}}",
        "money_with_currency_format": "${{amount}} USD",
        "weight_unit": "kg",
        "province_code": "NY",
        "taxes_included": False,
        "auto_configure_tax_inclusivity": None,
        "tax_shipping": None,
        "county_taxes": True,
        "plan_display_name": "Shopify",
        "plan_name": "professional",
        "has_discounts": True,
        "has_gift_cards": False,
        "myshopify_domain": "pastapro.myshopify.com",
        "google_apps_domain": None,
        "google_apps_login_enabled": None,
        "money_in_emails_format": "${{amount}}",
        "money_with_currency_in_emails_format": "${{amount}} USD",
        "eligible_for_payments": True,
        "requires_extra_payments_agreement": False,
        "password_enabled": False,
        "has_storefront": True,
        "finances": True,
        "primary_location_id": 70_000_000_001,
        "checkout_api_supported": True,
        "multi_location_enabled": True,
        "setup_required": False,
        "pre_launch_enabled": False,
        "enabled_presentment_currencies": sorted(PRESENTMENT_PER_USD),
        "transactional_sms_disabled": False,
        "marketing_sms_consent_enabled_at_checkout": False,
    }


def get_shop(req: Request, world: World, version: str = API_VERSION) -> Response:
    """``GET shop.json``: the shop (``fields`` keeps only the listed fields)."""
    shop = shop_json(world)
    wanted = req.values("fields")
    if wanted is not None:
        shop = {k: shop[k] for k in wanted if k in shop}
    return Response(200, {"shop": shop})


def get_access_scopes(req: Request, world: World) -> Response:
    """``GET /admin/oauth/access_scopes.json``: the scopes the (demo) access token was granted."""
    return Response(200, {"access_scopes": [{"handle": h} for h in ACCESS_SCOPES]})


def not_found(req: Request) -> Response:
    return Response(404, {"errors": "Not Found"})


def response_headers(req: Request) -> dict[str, str]:
    """``X-Shopify-API-Version`` (the version that served the request) on every versioned response."""
    match = _VERSIONED.match(req.path)
    return {"X-Shopify-API-Version": served_version(match.group(1))} if match else {}


# --- vendor wiring: routes, auth, rate limits (the server is generic) ---
NAME = "shopify"
# every list-valued query parameter, by endpoint (comma-separated as Shopify documents; repeats honoured)
LIST_PARAMS = {
    "orders.json": ("ids", "fields"),
    "customers.json": ("ids", "fields"),
    "products.json": ("ids", "fields"),
    "events.json": ("ids", "fields", "filter"),
    "checkouts.json": ("fields",),
    "shop.json": ("fields",),
}
PATH_PREFIXES = ("/admin/",)
_VERSIONED = re.compile(r"/admin/api/([^/]+)/")
LIMITS = {
    "shopify": {"real": (40, 2.0), "demo": (400, 200.0)},  # REST leaky bucket: 40 requests, leaks 2/s
    # GraphQL: calculated query cost, Standard plan: 2,000 points, 100 restored a second (shopify_graphql.py)
    shopify_graphql.COST_BUCKET: {"real": (2000, 100.0), "demo": (20000, 10000.0)},
}
# buckets whose handlers meter themselves (GraphQL charges each query's cost) or are not metered (the token
# exchange, signed downloads): the server takes no request token for them
SELF_LIMITED_BUCKETS = (shopify_graphql.COST_BUCKET, "shopify.unmetered")


def authorize(app: object, req: Request) -> Response | None:
    """The legacy static token (admin-created custom apps) or a client-credentials token (Dev Dashboard apps);
    the token exchange itself and the signed bulk-result downloads carry none."""
    if req.path == shopify_oauth.TOKEN_PATH or req.path.startswith("/shopify-bulk/"):
        return None
    token = req.headers.get("x-shopify-access-token", "")
    if token != DEMO_ACCESS_TOKEN and not shopify_oauth.valid(token):
        return Response(401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
    return None


def throttled(bucket: str, wait_s: float) -> Response:
    return Response(
        429,
        {"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."},
        {"Retry-After": "2.0"},
    )


def limit_headers(bucket: str, state: TokenBucket) -> dict[str, str]:
    if bucket != "shopify":  # GraphQL reports its bucket in extensions.cost, not in a header
        return {}
    return {"X-Shopify-Shop-Api-Call-Limit": f"{state.used}/{int(state.capacity)}"}


_V = r"/admin/api/(?P<version>\d{4}-\d{2}|unstable)"
ROUTES = [
    route("GET", rf"{_V}/orders\.json", "shopify", list_orders),
    route("GET", rf"{_V}/customers\.json", "shopify", list_customers),
    route("GET", rf"{_V}/products\.json", "shopify", list_products),
    route("GET", rf"{_V}/events\.json", "shopify", list_events),
    route("GET", rf"{_V}/checkouts\.json", "shopify", list_checkouts),
    route("GET", rf"{_V}/checkouts/count\.json", "shopify", count_checkouts),
    route("GET", rf"{_V}/shop\.json", "shopify", get_shop),
    route("GET", r"/admin/oauth/access_scopes\.json", "shopify", get_access_scopes),
    route("POST", rf"{_V}/graphql\.json", shopify_graphql.COST_BUCKET, shopify_graphql.graphql),
    route("POST", r"/admin/oauth/access_token", "shopify.unmetered", shopify_oauth.access_token),
    route("GET", r"/shopify-bulk/(?P<op>\d+)\.jsonl", "shopify.unmetered", shopify_bulk.download),
]
