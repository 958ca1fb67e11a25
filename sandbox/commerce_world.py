"""The commerce side of the world: products, Shopify customers/orders/refunds/edits, Amazon orders and
financial events, eBay orders.

Every object here holds the state *visible at* ``config.now``: all randomness of a record is drawn
when the record is generated, whatever ``as_of`` is, and only its events with a time before
``config.now`` are applied. The streams are keyed by kind and day (``rng_for(seed, kind, day)``); the
features added after the first release (Shopify order edits, Amazon returns, eBay) draw from streams
of their own, so adding them left the records of the original streams as they were.

Life after the order, per channel (what moving ``as_of`` forward reveals on old records):

- **Shopify**: ~2% of orders get an *order edit* 1-48 h after creation (4% are picked, those whose
  picked line has 2+ units are edited) that reduces that line's quantity (never to zero): the line's quantity, its share of the order discount (pro rata), the
  order's ``total_discounts``, tax and totals change, ``updated_at`` moves to the edit time. Gross
  sales therefore follow the *current* quantities. ~2% are cancelled within 72 h; ~6% of the others
  get a refund of part of one line 3-40 days later; ~1% are ``test`` orders.
- **Amazon**: a shipped order posts a ``ShipmentEvent`` (principal, tax, shipping, promotions and
  Amazon's fees: referral ``Commission`` and ``FBAPerUnitFulfillmentFee``) at the ship time; ~4% of
  shipped orders are returned 10-45 days after shipping: a ``RefundEvent`` takes back the principal
  (after its promotion) and the tax of the returned units, refunds the commission on them and charges
  a ``RefundCommission`` (20% of the refunded commission, at most 5.00). The Orders API does not
  change on a refund (as on Amazon).
- **eBay**: ~2% of orders are cancelled 1-12 h after creation (refunded in full, fee credited: the
  marketplace fee becomes 0); the others ship 4-72 h after creation (``FULFILLED``) and ~5% of them get
  a partial refund of one line 5-40 days after shipping. ``lastModifiedDate`` is the latest of these.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any

from sandbox.demand import daily_orders, promotion_on
from sandbox.sim import (
    _FIRST,
    _LAST,
    _PASTA,
    _SAUCES,
    AMAZON_ORDERS_PER_DAY,
    CENT,
    FX_START,
    HISTORY_START,
    SHOPIFY_ORDERS_PER_DAY,
    WorldConfig,
    at_utc,
    days,
    money,
    rng_for,
)

AMAZON_MARKETPLACES = {
    # marketplace id: (country, currency, sales channel, share of orders, order-id prefix)
    "ATVPDKIKX0DER": ("US", "USD", "Amazon.com", 0.60, "113"),
    "A1F83G8C2ARO7P": ("UK", "GBP", "Amazon.co.uk", 0.25, "203"),
    "A1PA6795UKMFR9": ("DE", "EUR", "Amazon.de", 0.15, "302"),
}
EBAY_ORDERS_PER_DAY = 7.5  # ~8k orders over the history at scale 1 (docs/architecture.md: The simulated company)
ZERO = Decimal("0.00")

# Amazon fees (Grocery & Gourmet referral fee; FBA fulfilment fee per unit, by size tier and currency).
AMAZON_REFERRAL_LOW, AMAZON_REFERRAL_HIGH, AMAZON_REFERRAL_THRESHOLD = (
    Decimal("0.08"),
    Decimal("0.15"),
    Decimal("15.00"),
)
AMAZON_REFERRAL_MIN = Decimal("0.30")
AMAZON_FBA_FEE = {
    "USD": (Decimal("1.80"), Decimal("3.90")),
    "GBP": (Decimal("1.50"), Decimal("3.20")),
    "EUR": (Decimal("1.65"), Decimal("3.50")),
}  # (standard, large: the 6-packs)
AMAZON_REFUND_ADMIN_RATE, AMAZON_REFUND_ADMIN_MAX = Decimal("0.20"), Decimal("5.00")
# eBay final value fee: 13.25% of the order total (items + delivery - discounts) plus 0.30 per order.
EBAY_FVF_RATE, EBAY_PER_ORDER_FEE = Decimal("0.1325"), Decimal("0.30")


@dataclass(frozen=True)
class Product:
    product_id: int
    variant_id: int
    sku: str
    title: str
    price_usd: Decimal
    product_type: str = "Pasta"  # "Pasta" | "Sauce"
    large: bool = False  # the 6-packs: a larger FBA size tier
    created_at: datetime = at_utc(HISTORY_START - timedelta(days=60), 0)
    updated_at: datetime = at_utc(HISTORY_START - timedelta(days=60), 0)  # last revision before now
    revision: int = 0  # how many times the listing was revised (its description changes)


@dataclass
class LineItem:
    line_id: int
    product: Product
    quantity: int  # current quantity (after order edits)
    unit_price: Decimal  # in the order's currency
    discount: Decimal = Decimal("0.00")  # order discount allocated to this line (current)
    ordered_quantity: int = 0  # quantity at checkout, before any edit

    def __post_init__(self) -> None:
        self.ordered_quantity = self.ordered_quantity or self.quantity

    @property
    def subtotal(self) -> Decimal:
        return (self.unit_price * self.quantity).quantize(CENT, rounding=ROUND_HALF_UP)  # = money(), faster


@dataclass
class Refund:
    refund_id: int
    created_at: datetime
    line_id: int
    quantity: int
    subtotal: Decimal  # refunded product amount after its discounts, excluding tax and shipping
    tax: Decimal


@dataclass
class OrderEdit:
    """An order edit (Shopify): one line's quantity reduced after checkout."""

    edited_at: datetime
    line_id: int
    quantity_before: int
    quantity_after: int


@dataclass
class ShopifyCustomer:
    customer_id: int
    email: str
    first_name: str
    last_name: str
    created_at: datetime
    utc_offset_hours: int = 0  # the offset of the customer's first order: their timestamps' local time


@dataclass
class ShopifyOrder:
    order_id: int
    number: int
    created_at: datetime
    utc_offset_hours: int
    customer: ShopifyCustomer
    lines: list[LineItem]
    discount_code: str | None
    discount_total: Decimal
    shipping: Decimal
    tax: Decimal
    presentment_currency: str
    test: bool
    cancelled_at: datetime | None
    refunds: list[Refund] = field(default_factory=list)
    edits: list[OrderEdit] = field(default_factory=list)
    traffic: Any = None  # the TrafficSource of the session that placed it (sandbox/marketing_world.py)

    @property
    def landing_site(self) -> str | None:
        """The landing page of that session, with its UTM parameters (and the ad click id) as the store saw it."""
        if self.traffic is None:
            return None
        return self.traffic.landing_site(f"Cj0K{(self.order_id * 2654435761) % 10**12:012d}")

    @property
    def referring_site(self) -> str | None:
        return self.traffic.referring_site if self.traffic is not None else None

    @property
    def gross(self) -> Decimal:
        return sum((li.subtotal for li in self.lines), Decimal("0.00"))

    @cached_property
    def updated_at(self) -> datetime:  # fixed once the world is built (objects never change afterwards)
        events = [self.created_at] + [r.created_at for r in self.refunds] + [e.edited_at for e in self.edits]
        if self.cancelled_at:
            events.append(self.cancelled_at)
        return max(events)


@dataclass
class AmazonItem:
    order_item_id: str
    product: Product
    quantity: int
    item_price: Decimal  # line total, local currency
    item_tax: Decimal
    shipping_price: Decimal
    promotion_discount: Decimal

    @property
    def commission(self) -> Decimal:
        """Referral fee (positive): 8% of the item's sales price up to 15.00 a unit, else 15%; min 0.30."""
        unit = self.item_price / self.quantity
        rate = AMAZON_REFERRAL_LOW if unit <= AMAZON_REFERRAL_THRESHOLD else AMAZON_REFERRAL_HIGH
        return max(money((self.item_price - self.promotion_discount + self.shipping_price) * rate), AMAZON_REFERRAL_MIN)


@dataclass
class AmazonEventItem:
    """One item of a financial event; every amount signed as SP-API posts it (charges to the seller < 0)."""

    item: AmazonItem
    quantity: int
    charges: list[tuple[str, Decimal]]  # (ChargeType, amount): Principal, Tax, ShippingCharge
    fees: list[tuple[str, Decimal]]  # (FeeType, amount): Commission, FBAPerUnitFulfillmentFee, RefundCommission
    promotions: list[tuple[str, Decimal]]  # (PromotionId, amount)
    adjustment_id: str | None = None  # OrderAdjustmentItemId of a refund


@dataclass
class AmazonFinancialEvent:
    kind: str  # "shipment" | "refund"
    order: AmazonOrder
    posted_at: datetime
    items: list[AmazonEventItem]

    @property
    def key(self) -> tuple[datetime, str, str]:
        return (self.posted_at, self.order.order_id, self.kind)

    def _charge(self, kind: str) -> Decimal:
        return sum((a for i in self.items for k, a in i.charges if k == kind), ZERO)

    @property
    def principal(self) -> Decimal:
        return self._charge("Principal")

    @property
    def promotion(self) -> Decimal:
        return sum((a for i in self.items for _, a in i.promotions), ZERO)

    @property
    def fees(self) -> Decimal:
        """Fees charged to the seller, positive (a refund event's fee credits make it negative)."""
        return -sum((a for i in self.items for _, a in i.fees), ZERO)

    @property
    def refund(self) -> Decimal:
        """Refunded principal after its promotion, positive (0 for a shipment)."""
        return -(self.principal + self.promotion) if self.kind == "refund" else ZERO


@dataclass
class AmazonOrder:
    order_id: str
    marketplace_id: str
    purchase_date: datetime
    currency: str
    items: list[AmazonItem]
    status: str
    last_update: datetime
    buyer_email: str
    shipped_at: datetime | None = None  # when status is Shipped
    events: list[AmazonFinancialEvent] = field(default_factory=list)  # posted before now

    @property
    def gross(self) -> Decimal:
        return sum((i.item_price for i in self.items), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return sum(
            (i.item_price + i.item_tax + i.shipping_price - i.promotion_discount for i in self.items), Decimal("0.00")
        )


@dataclass
class EbayLine:
    line_id: str
    product: Product
    quantity: int
    unit_price: Decimal
    discount: Decimal = ZERO  # seller promotion allocated to this line (positive)

    @property
    def cost(self) -> Decimal:
        """``lineItemCost``: the line total before discounts."""
        return money(self.unit_price * self.quantity)


@dataclass
class EbayRefund:
    refund_id: str
    refunded_at: datetime
    amount: Decimal  # positive
    line_id: str | None  # None for an order-level refund (a cancellation)
    quantity: int = 0


@dataclass
class EbayOrder:
    order_id: str
    created_at: datetime
    buyer: str
    lines: list[EbayLine]
    delivery_cost: Decimal
    promotion_id: str | None
    fee: Decimal  # final value fee as charged at checkout
    sales_record: int
    shipped_at: datetime | None = None
    cancelled_at: datetime | None = None
    refunds: list[EbayRefund] = field(default_factory=list)

    @property
    def gross(self) -> Decimal:
        return sum((li.cost for li in self.lines), ZERO)

    @property
    def discount(self) -> Decimal:
        return sum((li.discount for li in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.gross - self.discount + self.delivery_cost

    @property
    def marketplace_fee(self) -> Decimal:
        return ZERO if self.cancelled_at else self.fee

    @cached_property
    def last_modified(self) -> datetime:
        events = [self.created_at] + [r.refunded_at for r in self.refunds]
        events += [t for t in (self.shipped_at, self.cancelled_at) if t]
        return max(events)


@dataclass
class CommerceWorld:
    products: list[Product]
    shopify_orders: list[ShopifyOrder]  # ascending id (= creation order)
    amazon_orders: list[AmazonOrder]
    shopify_customers: list[ShopifyCustomer] = field(default_factory=list)  # ascending id
    ebay_orders: list[EbayOrder] = field(default_factory=list)
    _cache: OrderedDict = field(default_factory=OrderedDict, repr=False, compare=False)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @cached_property
    def amazon_by_id(self) -> dict[str, AmazonOrder]:
        return {a.order_id: a for a in self.amazon_orders}

    @cached_property
    def ebay_by_id(self) -> dict[str, EbayOrder]:
        return {o.order_id: o for o in self.ebay_orders}

    @cached_property
    def shopify_orders_by_customer(self) -> dict[int, list[ShopifyOrder]]:
        out: dict[int, list[ShopifyOrder]] = {}
        for o in self.shopify_orders:
            out.setdefault(o.customer.customer_id, []).append(o)
        return out

    @cached_property
    def amazon_financial_events(self) -> list[AmazonFinancialEvent]:
        """Every posted event, in (PostedDate, AmazonOrderId, kind) order."""
        return sorted((e for a in self.amazon_orders for e in a.events), key=lambda e: e.key)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its query memo and lock (the world kept on disk: world_cache.py)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_cache", "_cache_lock")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _cache=OrderedDict(), _cache_lock=threading.Lock())

    def cached(self, key: tuple, build: Callable[[], Any], size: int = 64) -> Any:
        """A query result memoized on this (immutable) world, least recently used evicted past ``size``.

        The API modules keep their sorted indexes and filtered id lists here, so a client paging through
        a result does the filtering once, not on every page.
        """
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = build()  # outside the lock: two threads may both build it once, harmlessly
        with self._cache_lock:
            self._cache[key] = value
            while len(self._cache) > size:
                self._cache.popitem(last=False)
        return value


def _products(config: WorldConfig) -> list[Product]:
    rng = rng_for(config.seed, "products")
    names = (
        [(f"{p} 500g", "Pasta", False) for p in _PASTA]
        + [(f"{p} 1kg", "Pasta", False) for p in _PASTA]
        + [(f"{s} Sauce", "Sauce", False) for s in _SAUCES]
        + [(f"{s} Sauce 6-pack", "Sauce", True) for s in _SAUCES]
    )
    prices = [money(rng.choice((2.49, 3.29, 3.99, 4.49, 5.99, 6.49, 7.99, 9.99, 12.99, 24.99))) for _ in names]
    # listing revisions (descriptions reworded now and then), from a stream of their own
    rev = rng_for(config.seed, "product-revisions")
    out: list[Product] = []
    for i, ((name, kind, large), price) in enumerate(zip(names, prices)):
        created = at_utc(HISTORY_START - timedelta(days=rev.randint(30, 120)), rev.randrange(86_400))
        revisions = sorted(
            at_utc(HISTORY_START, 0) + timedelta(seconds=rev.randrange(700 * 86_400))
            for _ in range(rev.choice((0, 0, 1, 2, 3)))
        )
        visible = [t for t in revisions if t < config.now]
        out.append(
            Product(
                product_id=8_000_000_000 + i,
                variant_id=44_000_000_000 + i,
                sku=f"PP-{i:04d}",
                title=name,
                price_usd=price,
                product_type=kind,
                large=large,
                created_at=created,
                updated_at=visible[-1] if visible else created,
                revision=len(visible),
            )
        )
    return out


def _allocate(total: Decimal, lines: list[LineItem]) -> None:
    """Spread an order discount over lines proportionally; the last line takes the rounding rest."""
    gross = sum((li.subtotal for li in lines), Decimal(0))
    left = total
    for li in lines[:-1]:
        li.discount = money(total * li.subtotal / gross)
        left -= li.discount
    lines[-1].discount = left


@dataclass
class _PlannedEdit:
    at: datetime
    line: LineItem
    quantity: int
    discount: Decimal


def _plan_edit(er, lines: list[LineItem], created: datetime, eligible: bool) -> _PlannedEdit | None:
    """Draw an order edit (always the same draws, so the stream never depends on the outcome)."""
    roll, pick, hours, secs, cut = er.random(), er.random(), er.randint(1, 48), er.randrange(3600), er.random()
    line = lines[int(pick * len(lines))]
    if not eligible or roll >= 0.04 or line.quantity < 2:
        return None
    new_qty = 1 + int(cut * (line.quantity - 1))  # 1 .. quantity-1
    return _PlannedEdit(
        created + timedelta(hours=hours, seconds=secs), line, new_qty, money(line.discount * new_qty / line.quantity)
    )


def _shopify_orders(config: WorldConfig, products: list[Product]) -> tuple[list[ShopifyOrder], list[ShopifyCustomer]]:
    seed, now = config.seed, config.now
    orders: list[ShopifyOrder] = []
    customers: list[ShopifyCustomer] = []
    number = 1000
    for day_index, day in days(config):
        rng = rng_for(seed, "shopify", day)
        er = rng_for(seed, "shopify-edits", day)
        promotion = promotion_on(seed, "shopify", day)
        for k in range(daily_orders(seed, "shopify", day, SHOPIFY_ORDERS_PER_DAY * config.scale, rng)):
            created = at_utc(day, rng.randrange(86_400))
            new_customer = None
            if customers and rng.random() < 0.45:
                customer = rng.choice(customers)
            else:
                first, last = rng.choice(_FIRST), rng.choice(_LAST)
                cid = 6_000_000_000 + day_index * 10_000 + k
                customer = new_customer = ShopifyCustomer(
                    cid, f"{first}.{last}.{cid % 100_000}@mail.example".lower(), first, last, created
                )
                customers.append(customer)
            lines: list[LineItem] = []
            for j in range(rng.choice((1, 1, 2, 2, 3, 4))):
                product = rng.choice(products)
                lines.append(
                    LineItem(
                        line_id=13_000_000_000 + (day_index * 10_000 + k) * 10 + j,
                        product=product,
                        quantity=rng.choice((1, 1, 1, 2, 3, 5)),
                        unit_price=product.price_usd,
                    )
                )
            gross = sum((li.subtotal for li in lines), Decimal(0))
            code_roll, code_pick = rng.random(), rng.choice(("PASTA10", "WELCOME15"))
            rate = {"PASTA10": Decimal("0.10"), "WELCOME15": Decimal("0.15")}
            if promotion is not None and code_roll < 0.7:  # most orders of a promotion use its code
                code = promotion.name
                rate[code] = Decimal(str(promotion.discount))
            else:
                code = code_pick if code_roll > 0.8 else None
            discount = money(gross * rate[code]) if code else Decimal("0.00")
            _allocate(discount, lines)
            tax = money((gross - discount) * Decimal("0.07"))
            cancelled = None
            if rng.random() < 0.02:
                cancelled = created + timedelta(hours=rng.randint(1, 72))
            order = ShopifyOrder(
                order_id=5_000_000_000_000 + day_index * 10_000 + k,
                number=number,
                created_at=created,
                utc_offset_hours=rng.choice((-4, -5, -5, -6, -7, -8, 1, 0)),
                customer=customer,
                lines=lines,
                discount_code=code,
                discount_total=discount,
                shipping=money("0.00" if gross >= 50 else "5.99"),
                tax=tax,
                presentment_currency=rng.choices(("USD", "EUR", "GBP", "CAD"), (85, 6, 4, 5))[0],
                test=rng.random() < 0.01,
                cancelled_at=cancelled if cancelled and cancelled < now else None,
            )
            if new_customer is not None:
                new_customer.utc_offset_hours = order.utc_offset_hours
            number += 1
            edit = _plan_edit(er, lines, created, eligible=not cancelled)
            if edit:  # the refund below sees the edited line: an edit comes within 48 h, a refund after 3 days
                before = (edit.line.quantity, edit.line.discount)
                edit.line.quantity, edit.line.discount = edit.quantity, edit.discount
            if not cancelled and rng.random() < 0.06:
                line = rng.choice(lines)
                qty = rng.randint(1, line.quantity)
                subtotal = money((line.subtotal - line.discount) * qty / line.quantity)
                refunded_at = created + timedelta(days=rng.randint(3, 40), seconds=rng.randrange(86_400))
                if refunded_at < now:
                    order.refunds.append(
                        Refund(
                            refund_id=900_000_000_000 + order.order_id % 10**10,
                            created_at=refunded_at,
                            line_id=line.line_id,
                            quantity=qty,
                            subtotal=subtotal,
                            tax=money(subtotal * Decimal("0.07")),
                        )
                    )
            if edit:
                if edit.at < now:
                    order.edits.append(OrderEdit(edit.at, edit.line.line_id, before[0], edit.quantity))
                    order.discount_total = sum((li.discount for li in lines), ZERO)
                    order.tax = money((order.gross - order.discount_total) * Decimal("0.07"))
                else:  # not yet happened: the order as checked out
                    edit.line.quantity, edit.line.discount = before
            orders.append(order)
    return orders, customers


def _amazon_events(a: AmazonOrder, shipped: datetime, rr, now: datetime) -> list[AmazonFinancialEvent]:
    """The shipment event at ``shipped`` and maybe a return (draws from ``rr`` regardless of outcome)."""
    out: list[AmazonFinancialEvent] = []
    ship_items = []
    for i in a.items:
        fba = AMAZON_FBA_FEE[a.currency][1 if i.product.large else 0] * i.quantity
        ship_items.append(
            AmazonEventItem(
                item=i,
                quantity=i.quantity,
                charges=[("Principal", i.item_price), ("Tax", i.item_tax), ("ShippingCharge", i.shipping_price)],
                fees=[("FBAPerUnitFulfillmentFee", -fba), ("Commission", -i.commission)],
                promotions=[(f"PLM-{a.order_id[-7:]}-{i.order_item_id[-4:]}", -i.promotion_discount)]
                if i.promotion_discount
                else [],
            )
        )
    if shipped < now:
        out.append(AmazonFinancialEvent("shipment", a, shipped, ship_items))
    roll, pick, cut, after_days, secs = rr.random(), rr.random(), rr.random(), rr.randint(10, 45), rr.randrange(86_400)
    if roll >= 0.04:
        return out
    item = a.items[int(pick * len(a.items))]
    qty = 1 + int(cut * item.quantity)  # 1 .. quantity
    share = lambda amount: money(amount * qty / item.quantity)
    commission_back = share(item.commission)
    refunded_at = shipped + timedelta(days=after_days, seconds=secs)
    if refunded_at < now:
        out.append(
            AmazonFinancialEvent(
                "refund",
                a,
                refunded_at,
                [
                    AmazonEventItem(
                        item=item,
                        quantity=qty,
                        charges=[("Principal", -share(item.item_price)), ("Tax", -share(item.item_tax))],
                        fees=[
                            ("Commission", commission_back),
                            (
                                "RefundCommission",
                                -min(money(commission_back * AMAZON_REFUND_ADMIN_RATE), AMAZON_REFUND_ADMIN_MAX),
                            ),
                        ],
                        promotions=[
                            (f"PLM-{a.order_id[-7:]}-{item.order_item_id[-4:]}", share(item.promotion_discount))
                        ]
                        if item.promotion_discount
                        else [],
                        adjustment_id=f"{int(item.order_item_id) % 10**12:012d}{qty}",
                    )
                ],
            )
        )
    return out


def _amazon_orders(config: WorldConfig, products: list[Product], fx_start: dict[str, Decimal]) -> list[AmazonOrder]:
    seed, now = config.seed, config.now
    market_ids = list(AMAZON_MARKETPLACES)
    shares = [AMAZON_MARKETPLACES[m][3] for m in market_ids]
    orders: list[AmazonOrder] = []
    for day_index, day in days(config):
        rng = rng_for(seed, "amazon", day)
        rr = rng_for(seed, "amazon-returns", day)
        for k in range(daily_orders(seed, "amazon", day, AMAZON_ORDERS_PER_DAY * config.scale, rng)):
            market = rng.choices(market_ids, shares)[0]
            _, currency, _, _, prefix = AMAZON_MARKETPLACES[market]
            purchased = at_utc(day, rng.randrange(86_400))
            serial = day_index * 10_000 + k
            order_id = f"{prefix}-{serial:07d}-{(serial * 7919) % 10_000_000:07d}"
            items: list[AmazonItem] = []
            for j in range(rng.choice((1, 1, 1, 2, 3))):
                product = rng.choice(products)
                qty = rng.choice((1, 1, 2, 3))
                unit = (
                    product.price_usd
                    if currency == "USD"
                    else money(product.price_usd / fx_start[currency] + Decimal("0.50")) - Decimal("0.01")
                )
                price = money(unit * qty)
                promo = money(price * Decimal("0.05")) if rng.random() < 0.1 else Decimal("0.00")
                rate = (
                    Decimal("0.07") if currency == "USD" else Decimal("0.19") if currency == "EUR" else Decimal("0.20")
                )
                items.append(
                    AmazonItem(
                        order_item_id=f"{serial:08d}{j:02d}{(serial * 31 + j) % 10_000:04d}",
                        product=product,
                        quantity=qty,
                        item_price=price,
                        item_tax=money(price * rate),
                        promotion_discount=promo,
                        shipping_price=money("0.00" if j else rng.choice(("0.00", "3.99"))),
                    )
                )
            shipped = purchased + timedelta(hours=rng.randint(4, 60))
            cancelled = rng.random() < 0.02
            if cancelled:
                status, updated = "Canceled", purchased + timedelta(hours=rng.randint(1, 6))
            elif shipped < now:
                status, updated = "Shipped", shipped
            else:
                status, updated = "Unshipped", purchased
            if updated >= now:
                status, updated = "Unshipped", purchased
            order = AmazonOrder(
                order_id=order_id,
                marketplace_id=market,
                purchase_date=purchased,
                currency=currency,
                items=items,
                status=status,
                last_update=updated,
                buyer_email=f"{serial:x}{k}@marketplace.amazon.example",
                shipped_at=shipped if status == "Shipped" else None,
            )
            events = _amazon_events(order, shipped, rr, now)  # draws even for a cancelled order
            if not cancelled:
                order.events = events
            orders.append(order)
    return orders


_EBAY_HANDLES = ("pasta", "chef", "foodie", "nonna", "sugo", "cucina", "gusto", "noodle")


def _ebay_orders(config: WorldConfig, products: list[Product]) -> list[EbayOrder]:
    seed, now = config.seed, config.now
    orders: list[EbayOrder] = []
    buyers: list[str] = []
    record = 10_000
    for day_index, day in days(config):
        rng = rng_for(seed, "ebay", day)
        for k in range(daily_orders(seed, "ebay", day, EBAY_ORDERS_PER_DAY * config.scale, rng)):
            created = at_utc(day, rng.randrange(86_400))
            serial = day_index * 1_000 + k
            if buyers and rng.random() < 0.3:
                buyer = rng.choice(buyers)
            else:
                buyer = f"{rng.choice(_EBAY_HANDLES)}_{rng.choice(_LAST).lower()}{rng.randrange(1000)}"
                buyers.append(buyer)
            lines = []
            for j in range(rng.choice((1, 1, 1, 2, 2, 3))):
                product = rng.choice(products)
                lines.append(
                    EbayLine(
                        line_id=f"{10_090_000_000_000 + serial * 10 + j}",
                        product=product,
                        quantity=rng.choice((1, 1, 2, 3, 4)),
                        unit_price=product.price_usd + Decimal("0.50"),
                    )
                )  # eBay list price
            gross = sum((li.cost for li in lines), ZERO)
            promotion = None
            if len(lines) > 1 and rng.random() < 0.25:  # "save 10% when you buy 2+ items"
                promotion = f"15{(seed * 7 + day_index // 30) % 1000:03d}09101"
                discount = money(gross * Decimal("0.10"))
                for li in lines[:-1]:
                    li.discount = money(discount * li.cost / gross)
                lines[-1].discount = discount - sum((li.discount for li in lines[:-1]), ZERO)  # the rounding rest
            delivery = ZERO if gross >= 35 else Decimal("4.99")
            total = gross - sum((li.discount for li in lines), ZERO) + delivery
            order = EbayOrder(
                order_id=f"{17 + day_index // 100:02d}-{day_index % 100 * 1000 + k:05d}-{(serial * 7919) % 100_000:05d}",
                created_at=created,
                buyer=buyer,
                lines=lines,
                delivery_cost=delivery,
                promotion_id=promotion,
                fee=money(total * EBAY_FVF_RATE) + EBAY_PER_ORDER_FEE,
                sales_record=record,
            )
            record += 1
            cancel_roll, cancel_h = rng.random(), rng.randint(1, 12)
            ship_h, ship_s = rng.randint(4, 72), rng.randrange(3600)
            refund_roll, pick, cut, refund_d, refund_s = (
                rng.random(),
                rng.random(),
                rng.random(),
                rng.randint(5, 40),
                rng.randrange(86_400),
            )
            if cancel_roll < 0.02:
                cancelled = created + timedelta(hours=cancel_h, seconds=ship_s)
                if cancelled < now:
                    order.cancelled_at = cancelled
                    order.refunds.append(EbayRefund(f"5{serial:011d}0", cancelled, order.total, None))
            else:
                shipped = created + timedelta(hours=ship_h, seconds=ship_s)
                if shipped < now:
                    order.shipped_at = shipped
                if refund_roll < 0.05:
                    line = lines[int(pick * len(lines))]
                    qty = 1 + int(cut * line.quantity)
                    refunded_at = shipped + timedelta(days=refund_d, seconds=refund_s)
                    if refunded_at < now:
                        amount = money((line.cost - line.discount) * qty / line.quantity)
                        order.refunds.append(EbayRefund(f"5{serial:011d}1", refunded_at, amount, line.line_id, qty))
            orders.append(order)
    return orders


def build_commerce(config: WorldConfig) -> CommerceWorld:
    products = _products(config)
    shopify_orders, customers = _shopify_orders(config, products)
    return CommerceWorld(
        products=products,
        shopify_orders=shopify_orders,
        amazon_orders=_amazon_orders(config, products, FX_START),
        shopify_customers=customers,
        ebay_orders=_ebay_orders(config, products),
    )
