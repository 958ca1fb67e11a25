"""The commerce side of the world: products, Shopify customers/orders/refunds, Amazon orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property

from ingestion.sandbox.sim import (
    AMAZON_ORDERS_PER_DAY, FX_START, SHOPIFY_ORDERS_PER_DAY, WorldConfig, _FIRST, _LAST, _PASTA, _SAUCES, at_utc,
    daily_count, days, money, rng_for,
)

AMAZON_MARKETPLACES = {
    # marketplace id: (country, currency, sales channel, share of orders, order-id prefix)
    "ATVPDKIKX0DER": ("US", "USD", "Amazon.com", 0.60, "113"),
    "A1F83G8C2ARO7P": ("UK", "GBP", "Amazon.co.uk", 0.25, "203"),
    "A1PA6795UKMFR9": ("DE", "EUR", "Amazon.de", 0.15, "302"),
}

@dataclass(frozen=True)
class Product:
    product_id: int
    variant_id: int
    sku: str
    title: str
    price_usd: Decimal


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
class CommerceWorld:
    products: list[Product]
    shopify_orders: list[ShopifyOrder]
    amazon_orders: list[AmazonOrder]

    @cached_property
    def amazon_by_id(self) -> dict[str, AmazonOrder]:
        return {a.order_id: a for a in self.amazon_orders}


def _products(seed: int) -> list[Product]:
    rng = rng_for(seed, "products")
    out: list[Product] = []
    for i, name in enumerate([f"{p} 500g" for p in _PASTA] + [f"{p} 1kg" for p in _PASTA]
                             + [f"{s} Sauce" for s in _SAUCES] + [f"{s} Sauce 6-pack" for s in _SAUCES]):
        price = money(rng.choice((2.49, 3.29, 3.99, 4.49, 5.99, 6.49, 7.99, 9.99, 12.99, 24.99)))
        out.append(Product(product_id=8_000_000_000 + i, variant_id=44_000_000_000 + i,
                           sku=f"PP-{i:04d}", title=name, price_usd=price))
    return out


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
    for day_index, day in days(config):
        rng = rng_for(seed, "shopify", day)
        for k in range(daily_count(rng, SHOPIFY_ORDERS_PER_DAY * config.scale)):
            created = at_utc(day, rng.randrange(86_400))
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
    for day_index, day in days(config):
        rng = rng_for(seed, "amazon", day)
        for k in range(daily_count(rng, AMAZON_ORDERS_PER_DAY * config.scale)):
            market = rng.choices(market_ids, shares)[0]
            _, currency, _, _, prefix = AMAZON_MARKETPLACES[market]
            purchased = at_utc(day, rng.randrange(86_400))
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



def build_commerce(config: WorldConfig) -> CommerceWorld:
    products = _products(config.seed)
    return CommerceWorld(products=products, shopify_orders=_shopify_orders(config, products),
                         amazon_orders=_amazon_orders(config, products, FX_START))
