"""The simulated shop as GraphQL Admin API nodes (sandbox/shopify_admin.graphql): one dict per object, keyed by
field name, for the executor in ``shopify_graphql.py`` to project.

A node holds every field of its type the sandbox serves. Values that cost work (a customer's order statistics,
a line's product) are thunks, called only when a query selects them; a connection or list field holds the
list of its nodes (the executor pages it). ``__typename`` names the object's type (abstract fields need it).

Semantics, as Shopify documents them (docs/architecture.md: "Shopify on GraphQL"):

- ``LineItem.quantity`` is the quantity ordered at checkout; ``currentQuantity`` the quantity after removals:
  units taken off by an order edit and units refunded. A line's post-edit quantity, the one the warehouse
  counts as sold, is therefore ``currentQuantity`` plus its refunded units.
- ``Order.current*Set`` are the order's amounts after edits (``currentTotalDiscountsSet``: the discounts of
  the edited order). Deviation, on purpose: Shopify also lowers them by refunds; here refunds are reported
  only in ``refunds`` (their line subtotals are net of the discount share already).
- ``Order.total*Set`` are the amounts at checkout (before any edit).
- Timestamps are UTC with a ``Z`` (GraphQL ``DateTime``), unlike REST's local offsets.
- The session that placed an order is in ``customerJourneySummary.lastVisit`` (landing page URL, referrer,
  UTM parameters). ``AbandonedCheckout`` has no such field in Shopify's schema: the shop's theme keeps the
  session's landing page and referrer in the cart's ``customAttributes`` (``landing_site``,
  ``referring_site``), a common storefront practice, and the buyer's email in ``customAttributes.email``
  when the buyer is a guest.
- Heavy faults: an order the fault plan serves bad (sandbox/faults.py ``classify``) is served bad here too:
  ``currencyCode`` ``XXX``, a negative first ``quantity`` or a null first ``originalUnitPriceSet`` amount.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.commerce_world import Product, ShopifyCustomer, ShopifyOrder
from sandbox.faults import UNKNOWN_CURRENCY, classify
from sandbox.marketing_world import AbandonedCheckout
from sandbox.product_costs import current_cost
from sandbox.sim import CENT, money
from sandbox.world import World

SHOP_DOMAIN = "pastapro.myshopify.com"
PRESENTMENT_PER_USD = {"USD": Decimal(1), "EUR": Decimal("0.92"), "GBP": Decimal("0.79"), "CAD": Decimal("1.37")}
ZERO = Decimal("0.00")

Node = dict[str, Any]


def gid(kind: str, ident: int | str) -> str:
    return f"gid://shopify/{kind}/{ident}"


def parse_gid(value: str) -> tuple[str, int] | None:
    parts = value.split("/")
    if len(parts) != 5 or parts[:3] != ["gid:", "", "shopify"] or not parts[4].isdigit():
        return None
    return parts[3], int(parts[4])


def utc(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money_v2(amount: Decimal | None, currency: str = "USD") -> dict[str, Any]:
    return {"amount": None if amount is None else str(amount), "currencyCode": currency}


def bag(amount: Decimal | None, presentment: str) -> dict[str, Any]:
    """A ``MoneyBag``: the amount in the shop's currency (USD) and in the buyer's."""
    shown = None if amount is None else (amount * PRESENTMENT_PER_USD[presentment]).quantize(CENT, ROUND_HALF_UP)
    return {"shopMoney": money_v2(amount), "presentmentMoney": money_v2(shown, presentment)}


def unit_cost(p: Product, world: World) -> Decimal:
    """What a unit costs the shop now (InventoryItem.unitCost): the cost valid at the world's now
    (sandbox/product_costs.py; Shopify keeps it current and does not version it)."""
    return current_cost(world, p).unit_cost


# --- products --------------------------------------------------------------------------------------------------


def product_handle(title: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in title.lower()).strip("-").replace("--", "-")


def product_node(p: Product, world: World) -> Node:
    body = f"<p>{p.title}: bronze-cut, slow-dried, made in small batches.</p>"
    if p.revision:
        body += f"<p>Now with our revised recipe notes (v{p.revision + 1}).</p>"
    node: Node = {
        "__typename": "Product",
        "id": gid("Product", p.product_id),
        "legacyResourceId": str(p.product_id),
        "title": p.title,
        "handle": product_handle(p.title),
        "descriptionHtml": body,
        "vendor": "PastaPro",
        "productType": p.product_type,
        "status": "ACTIVE",
        "tags": ["pasta" if p.product_type == "Pasta" else "sauce"],
        "templateSuffix": None,
        "createdAt": utc(p.created_at),
        "updatedAt": utc(p.updated_at),
        "publishedAt": utc(p.created_at),
    }
    node["variants"] = lambda: [variant_node(p, world, node)]
    return node


def variant_node(p: Product, world: World, product: Node | None = None) -> Node:
    grams = 3000 if p.large else 500
    cost = current_cost(world, p)
    return {
        "__typename": "ProductVariant",
        "id": gid("ProductVariant", p.variant_id),
        "legacyResourceId": str(p.variant_id),
        "title": "Default Title",
        "sku": p.sku,
        "barcode": None,
        "price": str(p.price_usd),
        "compareAtPrice": None,
        "position": 1,
        "taxable": True,
        "inventoryPolicy": "DENY",
        "createdAt": utc(p.created_at),
        "updatedAt": utc(p.updated_at),
        "product": product if product is not None else (lambda: product_node(p, world)),
        "inventoryItem": {
            "__typename": "InventoryItem",
            "id": gid("InventoryItem", p.variant_id + 1_000_000_000),
            "legacyResourceId": str(p.variant_id + 1_000_000_000),
            "sku": p.sku,
            "tracked": True,
            "requiresShipping": True,
            "unitCost": money_v2(cost.unit_cost),
            "createdAt": utc(p.created_at),
            "updatedAt": utc(cost.valid_from),  # the latest cost change (the item's only changing field here)
            "measurement": {"weight": {"unit": "GRAMS", "value": float(grams)}},
        },
    }


# --- customers -------------------------------------------------------------------------------------------------


def customer_stats(c: ShopifyCustomer, world: World) -> tuple[int, Decimal, datetime, ShopifyOrder | None]:
    """(orders, amount spent, updated_at, last order) as Shopify keeps them on the customer."""
    orders = world.commerce.shopify_orders_by_customer.get(c.customer_id, [])
    real = [o for o in orders if not o.test]
    spent = sum(
        (
            (o.gross - o.discount_total + o.shipping + o.tax) - sum((r.subtotal + r.tax for r in o.refunds), ZERO)
            for o in real
            if o.cancelled_at is None
        ),
        ZERO,
    )
    updated = max([c.created_at] + [o.updated_at for o in orders])
    return len(real), money(spent), updated, (real[-1] if real else None)


def customer_node(c: ShopifyCustomer, world: World) -> Node:
    count, spent, updated, last = customer_stats(c, world)
    return {
        "__typename": "Customer",
        "id": gid("Customer", c.customer_id),
        "legacyResourceId": str(c.customer_id),
        "email": c.email,
        "defaultEmailAddress": {"emailAddress": c.email},
        "firstName": c.first_name,
        "lastName": c.last_name,
        "displayName": f"{c.first_name} {c.last_name}",
        "createdAt": utc(c.created_at),
        "updatedAt": utc(updated),
        "numberOfOrders": str(count),
        "amountSpent": money_v2(spent),
        "state": "ENABLED",
        "note": None,
        "verifiedEmail": True,
        "taxExempt": False,
        "tags": [],
        "locale": {1: "de", 0: "en-GB"}.get(c.utc_offset_hours, "en"),
        "lastOrder": (lambda: order_node(last, world)) if last else None,
    }


# --- orders ----------------------------------------------------------------------------------------------------


def _visit(landing_site: str | None, referring_site: str | None, at: datetime, ident: int) -> Node | None:
    if landing_site is None:
        return None
    from urllib.parse import parse_qs, urlsplit

    params = {k: v[0] for k, v in parse_qs(urlsplit(landing_site).query).items()}
    utm = {k: params.get(f"utm_{k}") for k in ("campaign", "content", "medium", "source", "term")}
    return {
        "__typename": "CustomerVisit",
        "id": gid("CustomerVisit", ident),
        "landingPage": f"https://{SHOP_DOMAIN}{landing_site}",
        "occurredAt": utc(at),
        "referrerUrl": referring_site,
        "source": utm["source"] or ("direct" if not referring_site else "referral"),
        "sourceType": None,
        "utmParameters": utm if any(utm.values()) else None,
    }


def order_node(o: ShopifyOrder, world: World, heavy_seed: int | None = None) -> Node:
    from sandbox.shopify_api import ARCHIVE_AFTER

    cur = o.presentment_currency
    now = world.config.now
    closed_at = o.created_at + ARCHIVE_AFTER if o.cancelled_at is None and o.created_at + ARCHIVE_AFTER < now else None
    refunded_units: dict[int, int] = {}
    for r in o.refunds:
        refunded_units[r.line_id] = refunded_units.get(r.line_id, 0) + r.quantity
    edited_discount = {li.line_id: li.discount for li in o.lines}
    gross = o.gross
    subtotal = gross - o.discount_total
    ordered_gross = sum((money(li.unit_price * li.ordered_quantity) for li in o.lines), ZERO)
    refunded = sum((r.subtotal + r.tax for r in o.refunds), ZERO)
    total = subtotal + o.shipping + o.tax
    bad = classify(heavy_seed, "shopify.orders", o.order_id) if heavy_seed is not None else None
    status = (
        "REFUNDED"
        if o.refunds and sum((r.subtotal for r in o.refunds), ZERO) >= subtotal
        else "PARTIALLY_REFUNDED"
        if o.refunds
        else "VOIDED"
        if o.cancelled_at
        else "PAID"
    )
    sale_id = o.order_id * 10 + 3
    lines: list[Node] = []
    for n, li in enumerate(o.lines):
        price = li.unit_price
        quantity = li.ordered_quantity
        if bad is not None and n == 0 and bad.reason == "negative_quantity":
            quantity = -abs(quantity)
        line: Node = {
            "__typename": "LineItem",
            "id": gid("LineItem", li.line_id),
            "name": li.product.title,
            "title": li.product.title,
            "sku": li.product.sku,
            "vendor": "PastaPro",
            "quantity": quantity,
            "currentQuantity": li.quantity - refunded_units.get(li.line_id, 0),
            "refundableQuantity": li.quantity - refunded_units.get(li.line_id, 0),
            "taxable": True,
            "requiresShipping": True,
            "originalUnitPriceSet": bag(
                None if bad is not None and n == 0 and bad.reason == "null_amount" else price, cur
            ),
            "discountedUnitPriceSet": bag(price, cur),
            "originalTotalSet": bag(money(price * li.ordered_quantity), cur),
            "discountedTotalSet": bag(money(price * li.ordered_quantity), cur),
            "totalDiscountSet": bag(ZERO, cur),
            "discountAllocations": [
                {
                    "allocatedAmountSet": bag(edited_discount[li.line_id], cur),
                    "discountApplication": {"__typename": "DiscountCodeApplication", "index": 0},
                }
            ]
            if o.discount_code
            else [],
            "product": (lambda p=li.product: product_node(p, world)),
            "variant": (lambda p=li.product: variant_node(p, world)),
        }
        lines.append(line)
    by_line = {li.line_id: line for li, line in zip(o.lines, lines, strict=True)}
    refunds: list[Node] = []
    transactions: list[Node] = [
        {
            "__typename": "OrderTransaction",
            "id": gid("OrderTransaction", sale_id),
            "kind": "SALE",
            "status": "SUCCESS",
            "gateway": "shopify_payments",
            "test": o.test,
            "createdAt": utc(o.created_at),
            "processedAt": utc(o.created_at),
            "amountSet": bag(money(ordered_gross - o.discount_total + o.shipping + o.tax) if o.edits else total, cur),
            "parentTransaction": None,
        }
    ]
    for r in o.refunds:
        refund: Node = {
            "__typename": "Refund",
            "id": gid("Refund", r.refund_id),
            "legacyResourceId": str(r.refund_id),
            "createdAt": utc(r.created_at),
            "updatedAt": utc(r.created_at),
            "note": "customer return",
            "totalRefundedSet": bag(r.subtotal + r.tax, cur),
            "refundLineItems": [
                {
                    "__typename": "RefundLineItem",
                    "id": gid("RefundLineItem", r.refund_id * 10 + 1),
                    "quantity": r.quantity,
                    "restockType": "RETURN",
                    "restocked": True,
                    "priceSet": bag(by_line_price(o, r.line_id), cur),
                    "subtotalSet": bag(r.subtotal, cur),
                    "totalTaxSet": bag(r.tax, cur),
                    "lineItem": by_line[r.line_id],
                }
            ],
        }
        refund["order"] = lambda: order_node(o, world, heavy_seed)
        refunds.append(refund)
        transactions.append(
            {
                "__typename": "OrderTransaction",
                "id": gid("OrderTransaction", r.refund_id * 10 + 2),
                "kind": "REFUND",
                "status": "SUCCESS",
                "gateway": "shopify_payments",
                "test": o.test,
                "createdAt": utc(r.created_at),
                "processedAt": utc(r.created_at),
                "amountSet": bag(r.subtotal + r.tax, cur),
                "parentTransaction": {"__typename": "OrderTransaction", "id": gid("OrderTransaction", sale_id)},
            }
        )
    journey = _visit(o.landing_site, o.referring_site, o.created_at, o.order_id)
    return {
        "__typename": "Order",
        "id": gid("Order", o.order_id),
        "legacyResourceId": str(o.order_id),
        "name": f"#{o.number}",
        "email": o.customer.email,
        "createdAt": utc(o.created_at),
        "updatedAt": utc(o.updated_at),
        "processedAt": utc(o.created_at),
        "closedAt": utc(closed_at),
        "cancelledAt": utc(o.cancelled_at),
        "cancelReason": "CUSTOMER" if o.cancelled_at else None,
        "closed": closed_at is not None,
        "test": o.test,
        "currencyCode": UNKNOWN_CURRENCY if bad is not None and bad.reason == "unknown_currency" else "USD",
        "presentmentCurrencyCode": cur,
        "displayFinancialStatus": status,
        "displayFulfillmentStatus": "UNFULFILLED" if o.cancelled_at else "FULFILLED",
        "taxesIncluded": False,
        "sourceName": "web",
        "discountCode": o.discount_code,
        "discountCodes": [o.discount_code] if o.discount_code else [],
        "tags": [],
        "subtotalLineItemsQuantity": sum(li.ordered_quantity for li in o.lines),
        "currentSubtotalLineItemsQuantity": sum(li.quantity for li in o.lines) - sum(refunded_units.values()),
        "totalPriceSet": bag(money(ordered_gross - o.discount_total + o.shipping + o.tax) if o.edits else total, cur),
        "subtotalPriceSet": bag(money(ordered_gross - o.discount_total) if o.edits else subtotal, cur),
        "totalDiscountsSet": bag(o.discount_total, cur),
        "totalTaxSet": bag(o.tax, cur),
        "totalShippingPriceSet": bag(o.shipping, cur),
        "totalRefundedSet": bag(refunded, cur),
        "currentTotalPriceSet": bag(total, cur),
        "currentSubtotalPriceSet": bag(subtotal, cur),
        "currentTotalDiscountsSet": bag(o.discount_total, cur),
        "currentTotalTaxSet": bag(o.tax, cur),
        "customer": lambda: customer_node(o.customer, world),
        "customerJourneySummary": {
            "customerOrderIndex": None,
            "daysToConversion": 0,
            "firstVisit": journey,
            "lastVisit": journey,
            "ready": True,
        },
        "lineItems": lines,
        "discountApplications": [
            {
                "__typename": "DiscountCodeApplication",
                "allocationMethod": "ACROSS",
                "code": o.discount_code,
                "index": 0,
                "targetSelection": "ALL",
                "targetType": "LINE_ITEM",
                "value": {"__typename": "MoneyV2", **money_v2(o.discount_total)},
            }
        ]
        if o.discount_code
        else [],
        "shippingLines": [
            {
                "__typename": "ShippingLine",
                "id": gid("ShippingLine", o.order_id * 10 + 1),
                "title": "Standard",
                "code": "STANDARD",
                "source": "shopify",
                "originalPriceSet": bag(o.shipping, cur),
                "discountedPriceSet": bag(o.shipping, cur),
            }
        ],
        "refunds": refunds,
        "transactions": transactions,
    }


def by_line_price(o: ShopifyOrder, line_id: int) -> Decimal:
    for li in o.lines:
        if li.line_id == line_id:
            return li.unit_price
    return ZERO


# --- abandoned checkouts ---------------------------------------------------------------------------------------


def checkout_node(c: AbandonedCheckout, world: World) -> Node:
    from sandbox.shopify_api import SHOP_ID, _checkout_presentment, _hex, checkout_updated_at

    cur = _checkout_presentment(c)
    subtotal = c.subtotal
    attributes = [
        {"key": "landing_site", "value": c.source.landing_site(f"Cj0K{(c.checkout_id * 2654435761) % 10**12:012d}")},
        {"key": "referring_site", "value": c.source.referring_site},
    ]
    if c.customer is None:
        attributes.append({"key": "email", "value": c.email})
    lines = [
        {
            "__typename": "AbandonedCheckoutLineItem",
            "id": gid("AbandonedCheckoutLineItem", c.checkout_id * 100 + n),
            "title": p.title,
            "variantTitle": None,
            "sku": p.sku,
            "quantity": q,
            "customAttributes": [],
            "originalUnitPriceSet": bag(p.price_usd, cur),
            "originalTotalPriceSet": bag(money(p.price_usd * q), cur),
            "discountedTotalPriceSet": bag(money(p.price_usd * q), cur),
            "product": (lambda p=p: product_node(p, world)),
            "variant": (lambda p=p: variant_node(p, world)),
        }
        for n, (p, q) in enumerate(c.lines)
    ]
    customer = c.customer
    return {
        "__typename": "AbandonedCheckout",
        "id": gid("AbandonedCheckout", c.checkout_id),
        "name": f"#{c.checkout_id}",
        "abandonedCheckoutUrl": f"https://{SHOP_DOMAIN}/{SHOP_ID}/checkouts/{c.token}/recover?key="
        + _hex(c.checkout_id, "recover"),
        "createdAt": utc(c.created_at),
        "updatedAt": utc(checkout_updated_at(c, world)),
        "completedAt": None,
        "note": "",
        "taxesIncluded": False,
        "discountCodes": [],
        "customAttributes": attributes,
        "customer": (lambda: customer_node(customer, world)) if customer is not None else None,
        "subtotalPriceSet": bag(subtotal, cur),
        "totalDiscountSet": bag(ZERO, cur),
        "totalLineItemsPriceSet": bag(subtotal, cur),
        "totalPriceSet": bag(subtotal, cur),
        "totalTaxSet": bag(ZERO, cur),
        "totalDutiesSet": None,
        "lineItems": lines,
    }


# --- root connections: which objects, in which order, matching which search ------------------------------------


def _checkout_updated_at(c: AbandonedCheckout, world: World) -> datetime:
    from sandbox.shopify_api import checkout_updated_at  # the REST module's rule (it imports this module)

    return checkout_updated_at(c, world)


Renderer = Callable[[Any, World, "int | None"], Node]


def _order(o: Any, w: World, heavy: int | None) -> Node:
    return order_node(o, w, heavy)


ROOTS: dict[str, dict[str, Any]] = {
    # field -> rows of the world, their id, created/updated instants, renderer, gid kind
    "orders": {
        "rows": lambda w: w.shopify_orders,
        "id": lambda o: o.order_id,
        "created": lambda o, w: o.created_at,
        "updated": lambda o, w: o.updated_at,
        "render": _order,
        "kind": "Order",
    },
    "customers": {
        "rows": lambda w: w.commerce.shopify_customers,
        "id": lambda c: c.customer_id,
        "created": lambda c, w: c.created_at,
        "updated": lambda c, w: customer_stats(c, w)[2],
        "render": lambda c, w, h: customer_node(c, w),
        "kind": "Customer",
    },
    "products": {
        "rows": lambda w: w.products,
        "id": lambda p: p.product_id,
        "created": lambda p, w: p.created_at,
        "updated": lambda p, w: p.updated_at,
        "render": lambda p, w, h: product_node(p, w),
        "kind": "Product",
    },
    "abandonedCheckouts": {
        "rows": lambda w: w.marketing.checkouts,
        "id": lambda c: c.checkout_id,
        "created": lambda c, w: c.created_at,
        "updated": lambda c, w: _checkout_updated_at(c, w),
        "render": lambda c, w, h: checkout_node(c, w),
        "kind": "AbandonedCheckout",
    },
}
