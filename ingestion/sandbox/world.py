"""The simulated company (DESIGN §3): a pure function of (seed, scale, as_of).

Every record is generated from its own seeded random stream (per kind and per day), so the
records of a day never depend on ``as_of``: moving ``as_of`` forward only adds new records and
reveals later events (refunds, cancellations, stage changes, shipments) of old ones.
Money is ``Decimal`` throughout; timestamps are aware UTC ``datetime`` objects.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property, lru_cache

HISTORY_START = date(2025, 1, 1)
DEFAULT_AS_OF = date(2026, 10, 31)
CENT = Decimal("0.01")
RATE_QUANTUM = Decimal("0.00000001")

# Transactions per day at scale 1 (DESIGN §3: ~40k Shopify, 25k Amazon, 5k deals over the history).
SHOPIFY_ORDERS_PER_DAY = 60
AMAZON_ORDERS_PER_DAY = 37
DEALS_PER_DAY = 7.5

FX_CURRENCIES = ("EUR", "GBP", "CAD")
# Starting USD value of one unit of each currency; a seeded random walk moves it day by day.
FX_START = {"EUR": Decimal("1.04"), "GBP": Decimal("1.25"), "CAD": Decimal("0.70")}

AMAZON_MARKETPLACES = {
    # marketplace id: (country, currency, sales channel, share of orders, order-id prefix)
    "ATVPDKIKX0DER": ("US", "USD", "Amazon.com", 0.60, "113"),
    "A1F83G8C2ARO7P": ("UK", "GBP", "Amazon.co.uk", 0.25, "203"),
    "A1PA6795UKMFR9": ("DE", "EUR", "Amazon.de", 0.15, "302"),
}

DEAL_STAGES = (
    # (HubSpot stage id, label, win probability)
    ("appointmentscheduled", "Appointment Scheduled", Decimal("0.20")),
    ("qualifiedtobuy", "Qualified To Buy", Decimal("0.40")),
    ("presentationscheduled", "Presentation Scheduled", Decimal("0.60")),
    ("decisionmakerboughtin", "Decision Maker Bought-In", Decimal("0.80")),
    ("contractsent", "Contract Sent", Decimal("0.90")),
    ("closedwon", "Closed Won", Decimal("1.00")),
    ("closedlost", "Closed Lost", Decimal("0.00")),
)
OPEN_STAGES = tuple(s[0] for s in DEAL_STAGES[:5])
TERRITORIES = ("West", "Central", "East", "International")

_PASTA = ("Spaghetti", "Penne", "Fusilli", "Rigatoni", "Linguine", "Farfalle", "Orecchiette",
          "Tagliatelle", "Pappardelle", "Bucatini", "Gnocchi", "Ravioli", "Tortellini",
          "Conchiglie", "Casarecce", "Paccheri", "Trofie", "Fettuccine", "Ziti", "Lasagne")
_SAUCES = ("Marinara", "Arrabbiata", "Pesto Genovese", "Bolognese", "Puttanesca", "Alfredo",
           "Vodka", "Cacio e Pepe", "Amatriciana", "Carbonara")
_FIRST = ("Ada", "Ben", "Chiara", "Dario", "Elena", "Franco", "Giulia", "Hugo", "Irene", "Jonas",
          "Kara", "Luca", "Marta", "Nico", "Olga", "Paolo", "Rosa", "Sami", "Tina", "Umberto")
_LAST = ("Rossi", "Smith", "Bianchi", "Garcia", "Ferrari", "Chen", "Romano", "Müller", "Costa",
         "Brown", "Ricci", "Novak", "Greco", "Lopez", "Conti", "Kim", "Moretti", "Dubois")


def money(value: Decimal | int | float | str) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def to_usd(amount: Decimal, usd_per_unit: Decimal) -> Decimal:
    """The warehouse's conversion rule: amount × rate, rounded half away from zero to the cent."""
    return money(amount * usd_per_unit)


def _rng(seed: int, *key: object) -> random.Random:
    return random.Random(":".join(str(k) for k in (seed, *key)))


def _daily_count(rng: random.Random, mean: float) -> int:
    """A count with the given mean: the integer part plus a Bernoulli draw for the fraction."""
    whole = int(mean)
    return whole + (1 if rng.random() < mean - whole else 0)


def _at(day: date, seconds: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds)


@dataclass(frozen=True)
class WorldConfig:
    seed: int = 7
    scale: float = 1.0
    as_of: date = DEFAULT_AS_OF

    @property
    def now(self) -> datetime:
        """The world's clock: the end of the ``as_of`` day (midnight UTC after it)."""
        return _at(self.as_of + timedelta(days=1), 0)


@dataclass(frozen=True)
class Product:
    product_id: int
    variant_id: int
    sku: str
    title: str
    price_usd: Decimal


@dataclass(frozen=True)
class Owner:
    owner_id: str
    first_name: str
    last_name: str
    email: str
    territory: str
    manager_id: str | None
    created_at: datetime


@dataclass
class LineItem:
    line_id: int
    product: Product
    quantity: int
    unit_price: Decimal  # in the order's currency
    discount: Decimal = Decimal("0.00")  # order discount allocated to this line

    @property
    def subtotal(self) -> Decimal:
        return money(self.unit_price * self.quantity)


@dataclass
class Refund:
    refund_id: int
    created_at: datetime
    line_id: int
    quantity: int
    subtotal: Decimal  # refunded product amount after its discounts, excluding tax and shipping
    tax: Decimal


@dataclass
class ShopifyCustomer:
    customer_id: int
    email: str
    first_name: str
    last_name: str
    created_at: datetime


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

    @property
    def gross(self) -> Decimal:
        return sum((li.subtotal for li in self.lines), Decimal("0.00"))

    @property
    def updated_at(self) -> datetime:
        events = [self.created_at] + [r.created_at for r in self.refunds]
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

    @property
    def gross(self) -> Decimal:
        return sum((i.item_price for i in self.items), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return sum((i.item_price + i.item_tax + i.shipping_price - i.promotion_discount
                    for i in self.items), Decimal("0.00"))


@dataclass
class Deal:
    deal_id: str
    name: str
    created_at: datetime
    owner_id: str
    amount: Decimal
    currency: str
    stage_history: list[tuple[str, datetime]]  # stages entered up to as_of, in order

    @property
    def stage(self) -> str:
        return self.stage_history[-1][0]

    @property
    def updated_at(self) -> datetime:
        return self.stage_history[-1][1]

    @property
    def closed_at(self) -> datetime | None:
        return self.updated_at if self.stage in ("closedwon", "closedlost") else None


@dataclass
class World:
    config: WorldConfig
    products: list[Product]
    owners: list[Owner]
    fx: dict[date, dict[str, Decimal]]  # business day -> currency -> USD per unit
    shopify_orders: list[ShopifyOrder]
    amazon_orders: list[AmazonOrder]
    deals: list[Deal]

    @cached_property
    def amazon_by_id(self) -> dict[str, AmazonOrder]:
        return {a.order_id: a for a in self.amazon_orders}

    def usd_per_unit(self, currency: str, day: date) -> Decimal:
        """The rate of ``day``, or of the last earlier business day (weekends carry no rate)."""
        if currency == "USD":
            return Decimal(1)
        probe = day
        while probe not in self.fx:
            probe -= timedelta(days=1)
            if probe < min(self.fx):
                raise KeyError(f"no {currency} rate on or before {day}")
        return self.fx[probe][currency]


def _products(seed: int) -> list[Product]:
    rng = _rng(seed, "products")
    out: list[Product] = []
    for i, name in enumerate([f"{p} 500g" for p in _PASTA] + [f"{p} 1kg" for p in _PASTA]
                             + [f"{s} Sauce" for s in _SAUCES] + [f"{s} Sauce 6-pack" for s in _SAUCES]):
        price = money(rng.choice((2.49, 3.29, 3.99, 4.49, 5.99, 6.49, 7.99, 9.99, 12.99, 24.99)))
        out.append(Product(product_id=8_000_000_000 + i, variant_id=44_000_000_000 + i,
                           sku=f"PP-{i:04d}", title=name, price_usd=price))
    return out


def _owners(seed: int) -> list[Owner]:
    rng = _rng(seed, "owners")
    owners: list[Owner] = []
    for i in range(24):
        territory = TERRITORIES[i % 4]
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        is_manager = i < 4
        owners.append(Owner(
            owner_id=str(70_000_000 + i), first_name=first, last_name=last,
            email=f"{first.lower()}.{last.lower()}{i}@pastapro.example",
            territory=territory, manager_id=None if is_manager else str(70_000_000 + i % 4),
            created_at=_at(HISTORY_START - timedelta(days=30), i * 3600),
        ))
    return owners


def _fx(seed: int, as_of: date) -> dict[date, dict[str, Decimal]]:
    """Business-day rates from a month before the history starts; each day from its own stream."""
    rates: dict[date, dict[str, Decimal]] = {}
    level = dict(FX_START)
    day = HISTORY_START - timedelta(days=31)
    while day <= as_of:
        rng = _rng(seed, "fx", day)
        for ccy in FX_CURRENCIES:  # the walk moves every calendar day, so no day depends on as_of
            level[ccy] = level[ccy] * (1 + Decimal(str(round(rng.gauss(0, 0.004), 6))))
        if day.weekday() < 5:
            rates[day] = {ccy: level[ccy].quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
                          for ccy in FX_CURRENCIES}
        day += timedelta(days=1)
    return rates


def _days(config: WorldConfig):
    day = HISTORY_START
    while day <= config.as_of:
        yield (day - HISTORY_START).days, day
        day += timedelta(days=1)


def _allocate(total: Decimal, lines: list[LineItem]) -> None:
    """Spread an order discount over lines proportionally; the last line takes the rounding rest."""
    gross = sum((li.subtotal for li in lines), Decimal(0))
    left = total
    for li in lines[:-1]:
        li.discount = money(total * li.subtotal / gross)
        left -= li.discount
    lines[-1].discount = left


def _shopify_orders(config: WorldConfig, products: list[Product]) -> list[ShopifyOrder]:
    seed, now = config.seed, config.now
    orders: list[ShopifyOrder] = []
    customers: list[ShopifyCustomer] = []
    number = 1000
    for day_index, day in _days(config):
        rng = _rng(seed, "shopify", day)
        for k in range(_daily_count(rng, SHOPIFY_ORDERS_PER_DAY * config.scale)):
            created = _at(day, rng.randrange(86_400))
            if customers and rng.random() < 0.45:
                customer = rng.choice(customers)
            else:
                first, last = rng.choice(_FIRST), rng.choice(_LAST)
                cid = 6_000_000_000 + day_index * 10_000 + k
                customer = ShopifyCustomer(cid, f"{first}.{last}.{cid % 100_000}@mail.example".lower(),
                                           first, last, created)
                customers.append(customer)
            lines: list[LineItem] = []
            for j in range(rng.choice((1, 1, 2, 2, 3, 4))):
                product = rng.choice(products)
                lines.append(LineItem(line_id=13_000_000_000 + (day_index * 10_000 + k) * 10 + j,
                                      product=product, quantity=rng.choice((1, 1, 1, 2, 3, 5)),
                                      unit_price=product.price_usd))
            gross = sum((li.subtotal for li in lines), Decimal(0))
            code = rng.choice(("PASTA10", "WELCOME15")) if rng.random() < 0.2 else None
            discount = money(gross * (Decimal("0.10") if code == "PASTA10" else Decimal("0.15"))) if code else Decimal("0.00")
            _allocate(discount, lines)
            tax = money((gross - discount) * Decimal("0.07"))
            cancelled = None
            if rng.random() < 0.02:
                cancelled = created + timedelta(hours=rng.randint(1, 72))
            order = ShopifyOrder(
                order_id=5_000_000_000_000 + day_index * 10_000 + k, number=number, created_at=created,
                utc_offset_hours=rng.choice((-4, -5, -5, -6, -7, -8, 1, 0)), customer=customer,
                lines=lines, discount_code=code, discount_total=discount,
                shipping=money("0.00" if gross >= 50 else "5.99"), tax=tax,
                presentment_currency=rng.choices(("USD", "EUR", "GBP", "CAD"), (85, 6, 4, 5))[0],
                test=rng.random() < 0.01, cancelled_at=cancelled if cancelled and cancelled < now else None,
            )
            number += 1
            if not cancelled and rng.random() < 0.06:
                line = rng.choice(lines)
                qty = rng.randint(1, line.quantity)
                subtotal = money((line.subtotal - line.discount) * qty / line.quantity)
                refunded_at = created + timedelta(days=rng.randint(3, 40), seconds=rng.randrange(86_400))
                if refunded_at < now:
                    order.refunds.append(Refund(refund_id=900_000_000_000 + order.order_id % 10**10,
                                                created_at=refunded_at, line_id=line.line_id,
                                                quantity=qty, subtotal=subtotal,
                                                tax=money(subtotal * Decimal("0.07"))))
            orders.append(order)
    return orders


def _amazon_orders(config: WorldConfig, products: list[Product], fx_start: dict[str, Decimal]) -> list[AmazonOrder]:
    seed, now = config.seed, config.now
    market_ids = list(AMAZON_MARKETPLACES)
    shares = [AMAZON_MARKETPLACES[m][3] for m in market_ids]
    orders: list[AmazonOrder] = []
    for day_index, day in _days(config):
        rng = _rng(seed, "amazon", day)
        for k in range(_daily_count(rng, AMAZON_ORDERS_PER_DAY * config.scale)):
            market = rng.choices(market_ids, shares)[0]
            _, currency, _, _, prefix = AMAZON_MARKETPLACES[market]
            purchased = _at(day, rng.randrange(86_400))
            serial = day_index * 10_000 + k
            order_id = f"{prefix}-{serial:07d}-{(serial * 7919) % 10_000_000:07d}"
            items: list[AmazonItem] = []
            for j in range(rng.choice((1, 1, 1, 2, 3))):
                product = rng.choice(products)
                qty = rng.choice((1, 1, 2, 3))
                unit = product.price_usd if currency == "USD" else \
                    money(product.price_usd / fx_start[currency] + Decimal("0.50")) - Decimal("0.01")
                price = money(unit * qty)
                promo = money(price * Decimal("0.05")) if rng.random() < 0.1 else Decimal("0.00")
                rate = Decimal("0.07") if currency == "USD" else Decimal("0.19") if currency == "EUR" else Decimal("0.20")
                items.append(AmazonItem(order_item_id=f"{serial:08d}{j:02d}{(serial * 31 + j) % 10_000:04d}",
                                        product=product, quantity=qty, item_price=price,
                                        item_tax=money(price * rate), promotion_discount=promo,
                                        shipping_price=money("0.00" if j else rng.choice(("0.00", "3.99")))))
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
            orders.append(AmazonOrder(order_id=order_id, marketplace_id=market, purchase_date=purchased,
                                      currency=currency, items=items, status=status, last_update=updated,
                                      buyer_email=f"{serial:x}{k}@marketplace.amazon.example"))
    return orders


def _deals(config: WorldConfig, owners: list[Owner]) -> list[Deal]:
    seed, now = config.seed, config.now
    reps = [o for o in owners if o.manager_id is not None]
    deals: list[Deal] = []
    for day_index, day in _days(config):
        rng = _rng(seed, "deals", day)
        for k in range(_daily_count(rng, DEALS_PER_DAY * config.scale)):
            owner = rng.choice(reps)
            created = _at(day, rng.randrange(8 * 3600, 20 * 3600))
            currency = rng.choice(("EUR", "GBP", "USD")) if owner.territory == "International" else "USD"
            history: list[tuple[str, datetime]] = [("appointmentscheduled", created)]
            at = created
            # walk the pipeline: at each open stage, advance, lose, or (rarely) stall
            for stage in OPEN_STAGES[1:] + ("closedwon",):
                at = at + timedelta(days=rng.randint(1, 12), seconds=rng.randrange(3600 * 8))
                roll = rng.random()
                if roll < 0.22:
                    history.append(("closedlost", at))
                    break
                if roll < 0.25:
                    break  # stalled in its current stage
                history.append((stage, at))
            visible = [(s, t) for s, t in history if t < now]
            deals.append(Deal(
                deal_id=str(20_000_000_000 + day_index * 1_000 + k),
                name=f"{rng.choice(_LAST)} {rng.choice(('Trattoria', 'Hotel', 'Catering', 'Bistro'))} #{day_index}-{k}",
                created_at=created, owner_id=owner.owner_id,
                amount=money(rng.randrange(500, 60_000) + rng.choice((0, 0.5, 0.99))),
                currency=currency, stage_history=visible,
            ))
    return deals


@lru_cache(maxsize=4)
def build_world(config: WorldConfig) -> World:
    products = _products(config.seed)
    owners = _owners(config.seed)
    return World(
        config=config, products=products, owners=owners, fx=_fx(config.seed, config.as_of),
        shopify_orders=_shopify_orders(config, products),
        amazon_orders=_amazon_orders(config, products, FX_START),
        deals=_deals(config, owners),
    )
