"""Amazon's charges that are not tied to a shipment or a return: what a Professional FBA seller of this business
gets besides the referral and fulfilment fees (docs/architecture.md: Amazon fees and settlements).

Each kind draws from a seeded stream of its own (``rng_for(seed, "amazon-<kind>", ...)``), so adding them left
every order and order event of the world as it was. Every event is posted in the Finances v0 event list Amazon
uses for it, amounts signed as Amazon posts them (charges to the seller negative):

- ``ServiceFeeEventList``: the Professional selling plan (``Subscription``) on the 1st of each month per
  marketplace (scaled with a world below scale 1, see ``subscription``); ``FBAStorageFee`` per SKU stocked in a marketplace (a SKU that sold there the month before),
  for the previous month, around the 7th (peak rate October-December); ``FBALongTermStorageFee`` for some of
  those SKUs (aged units) around the 15th.
- ``AdjustmentEventList``: ``FBAInventoryReimbursement`` now and then (units lost or damaged in a fulfilment
  centre, reimbursed at a per-unit value): positive.
- ``ProductAdsPaymentEventList``: Sponsored Products invoices, one per marketplace and month on the 2nd of the
  next month: exactly the month's final Amazon Ads spend of that marketplace's profile
  (sandbox/marketing_world.py), no tax (``taxValue`` 0).
- ``RetrochargeEventList``: a tax retrocharge (``BaseTax``, ``ShippingTax``) on ~1% of shipped orders, 20-60
  days after shipping.
- ``FBALiquidationEventList``: now and then a liquidation of stranded units: proceeds (positive) less
  Amazon's ``LiquidationFeeAmount`` (negative).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sandbox.commerce_world import AMAZON_MARKETPLACES, ZERO
from sandbox.sim import HISTORY_START, at_utc, money, rng_for

if TYPE_CHECKING:
    from sandbox.world import World

# Professional selling plan per month, marketplace currency
SUBSCRIPTION_FEE = {"USD": Decimal("39.99"), "GBP": Decimal("25.00"), "EUR": Decimal("39.00")}
# FBA monthly storage per unit stored (standard, large), off-peak; October-December ×3
STORAGE_PER_UNIT = {
    "USD": (Decimal("0.045"), Decimal("0.21")),
    "GBP": (Decimal("0.040"), Decimal("0.18")),
    "EUR": (Decimal("0.042"), Decimal("0.20")),
}
PEAK_MONTHS = (10, 11, 12)
LONG_TERM_PER_UNIT = {"USD": Decimal("0.50"), "GBP": Decimal("0.45"), "EUR": Decimal("0.48")}
RETROCHARGE_RATE = 0.01  # share of shipped orders with a tax retrocharge

# line kinds of the raw lines (also those of ShipmentEvent / RefundEvent lines: charge, fee, promotion)
FEE, OTHER = "fee", "other"
# event list -> event type (the raw lines' event_type)
EVENT_TYPES = {
    "ServiceFeeEventList": "service_fee",
    "AdjustmentEventList": "adjustment",
    "ProductAdsPaymentEventList": "product_ads_payment",
    "RetrochargeEventList": "retrocharge",
    "FBALiquidationEventList": "fba_liquidation",
}


@dataclass(frozen=True)
class FeeLine:
    kind: str  # "fee" | "other"
    line_type: str  # FeeType / AdjustmentType / BaseTax | ShippingTax / LiquidationProceeds | LiquidationFee / ...
    amount: Decimal  # signed as Amazon posts it
    sku: str | None = None
    quantity: int | None = None
    per_unit: Decimal | None = None  # AdjustmentItem.PerUnitAmount
    asin: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class AmazonFeeEvent:
    """One financial event of a list other than ShipmentEventList / RefundEventList."""

    group: str  # its Finances v0 list (EVENT_TYPES)
    event_id: str  # invoiceId / TransactionNumber / OriginalRemovalOrderId / a service fee's own reference
    posted_at: datetime
    marketplace_id: str
    lines: tuple[FeeLine, ...]
    order_id: str | None = None  # retrocharges: the order
    description: str | None = None  # ServiceFeeEvent.FeeDescription

    @property
    def currency(self) -> str:
        return AMAZON_MARKETPLACES[self.marketplace_id][1]

    @property
    def kind(self) -> str:
        return EVENT_TYPES[self.group]

    @property
    def key(self) -> tuple[datetime, str, str]:
        """Sort key, comparable with the order events' (PostedDate, AmazonOrderId, kind)."""
        return (self.posted_at, self.event_id, self.group)

    @property
    def fees(self) -> Decimal:
        """Fees charged, positive (every fee line, advertising included)."""
        return -sum((line.amount for line in self.lines if line.kind == FEE), ZERO)


def subscription(currency: str, scale: float) -> Decimal:
    """The plan's monthly fee, scaled down with a world smaller than scale 1 (a test world keeps the business's
    proportions: a fixed 40 a month would outweigh its few orders); the full fee from scale 1 up."""
    return max(money(SUBSCRIPTION_FEE[currency] * Decimal(str(min(scale, 1.0)))), Decimal("0.01"))


def _month_starts(until: date) -> list[date]:
    out, month = [], HISTORY_START.replace(day=1)
    while month <= until:
        out.append(month)
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return out


def _asin(product_id: int) -> str:
    return f"B0{product_id % 10**8:08d}"


def build_fee_events(world: World) -> list[AmazonFeeEvent]:
    """Every such event posted before the world's now, in key order."""
    cfg, now = world.config, world.config.now
    seed = cfg.seed
    products = {p.sku: p for p in world.products}
    out: list[AmazonFeeEvent] = []

    # units sold per (month, marketplace, sku): what is stocked in the fulfilment centres
    sold: dict[tuple[date, str, str], int] = defaultdict(int)
    for a in world.amazon_orders:
        if a.status == "Shipped":
            for i in a.items:
                sold[(a.purchase_date.date().replace(day=1), a.marketplace_id, i.product.sku)] += i.quantity
    ad_spend: dict[tuple[date, str], Decimal] = defaultdict(lambda: ZERO)
    for ad in world.marketing.ad_days:
        if ad.campaign.platform == "amazon_ads":
            ad_spend[(ad.day.replace(day=1), ad.campaign.account.marketplace_id or "")] += ad.spend

    months = _month_starts(cfg.as_of)
    for month in months:
        prev = (month - timedelta(days=1)).replace(day=1)
        for n, (market, (country, currency, _, _, _)) in enumerate(AMAZON_MARKETPLACES.items()):
            rng = rng_for(seed, "amazon-service-fees", market, month)
            tag = f"{month:%Y%m}{n}"
            out.append(
                AmazonFeeEvent(
                    "ServiceFeeEventList",
                    f"SUB-{country}-{month:%Y%m}",
                    at_utc(month, rng.randrange(3_600, 20_000)),
                    market,
                    (FeeLine(FEE, "Subscription", -subscription(currency, cfg.scale)),),
                    description="Subscription Fee",
                )
            )
            if month == months[0]:
                continue  # nothing stocked before the history starts
            peak = Decimal(3) if prev.month in PEAK_MONTHS else Decimal(1)
            storage_day = month + timedelta(days=rng.randint(6, 8))
            aged_day = month + timedelta(days=rng.randint(14, 16))
            for k, sku in enumerate(sorted(s for (m, mk, s) in sold if m == prev and mk == market)):
                p = products[sku]
                units = int(sold[(prev, market, sku)] * rng.uniform(1.5, 3.0)) + 1
                rate = STORAGE_PER_UNIT[currency][1 if p.large else 0] * peak
                fee = max(money(units * rate), Decimal("0.01"))
                out.append(
                    AmazonFeeEvent(
                        "ServiceFeeEventList",
                        f"STO-{tag}-{k:03d}",
                        at_utc(storage_day, 3_600 + 7 * k),
                        market,
                        (FeeLine(FEE, "FBAStorageFee", -fee, sku, asin=_asin(p.product_id), title=p.title),),
                        description="FBA storage fee",
                    )
                )
                if rng.random() < 0.12:
                    aged = 1 + int(units * rng.uniform(0.05, 0.3))
                    out.append(
                        AmazonFeeEvent(
                            "ServiceFeeEventList",
                            f"LTS-{tag}-{k:03d}",
                            at_utc(aged_day, 7_200 + 7 * k),
                            market,
                            (
                                FeeLine(
                                    FEE,
                                    "FBALongTermStorageFee",
                                    -money(aged * LONG_TERM_PER_UNIT[currency]),
                                    sku,
                                    asin=_asin(p.product_id),
                                    title=p.title,
                                ),
                            ),
                            description="FBA long-term storage fee",
                        )
                    )
            spend = ad_spend.get((prev, market), ZERO)
            if spend:
                ads = rng_for(seed, "amazon-ads-invoices", market, month)
                out.append(
                    AmazonFeeEvent(
                        "ProductAdsPaymentEventList",
                        f"AD{country}{month:%Y%m}{ads.randrange(10**6):06d}",
                        at_utc(month + timedelta(days=1), ads.randrange(86_400)),
                        market,
                        (FeeLine(FEE, "ProductAdsPayment", -spend),),
                    )
                )
            # reimbursements and liquidations: a few a month per marketplace
            adj = rng_for(seed, "amazon-adjustments", market, month)
            stocked = sorted(s for (m, mk, s) in sold if m == prev and mk == market) or sorted(products)
            for _ in range(adj.choice((0, 0, 1, 1, 2))):
                sku = adj.choice(stocked)
                p = products[sku]
                qty = adj.randint(1, 4)
                unit = money(p.price_usd * Decimal("0.55") / world.usd_per_unit(currency, month))
                out.append(
                    AmazonFeeEvent(
                        "AdjustmentEventList",
                        f"{adj.randrange(10**10):010d}",
                        at_utc(month + timedelta(days=adj.randrange(27)), adj.randrange(86_400)),
                        market,
                        (
                            FeeLine(
                                OTHER,
                                "FBAInventoryReimbursement",
                                money(unit * qty),
                                sku,
                                qty,
                                unit,
                                _asin(p.product_id),
                                p.title,
                            ),
                        ),
                    )
                )
            if adj.random() < 0.15:
                proceeds = money(adj.uniform(5, 60) * max(cfg.scale, 0.02) * 10)
                out.append(
                    AmazonFeeEvent(
                        "FBALiquidationEventList",
                        f"LIQ{country}{month:%Y%m}{adj.randrange(10**5):05d}",
                        at_utc(month + timedelta(days=adj.randrange(27)), adj.randrange(86_400)),
                        market,
                        (
                            FeeLine(OTHER, "LiquidationProceeds", proceeds),
                            FeeLine(FEE, "LiquidationFee", -money(proceeds * Decimal("0.10"))),
                        ),
                    )
                )

    for a in world.amazon_orders:  # retrocharges: a stream per shipped order
        if not a.events or a.events[0].kind != "shipment":
            continue
        rr = rng_for(seed, "amazon-retrocharges", a.order_id)
        if rr.random() >= RETROCHARGE_RATE:
            continue
        shipment = a.events[0]
        base = -money(sum((i.item_price for i in a.items), ZERO) * Decimal("0.01"))
        ship = -money(sum((i.shipping_price for i in a.items), ZERO) * Decimal("0.01"))
        out.append(
            AmazonFeeEvent(
                "RetrochargeEventList",
                a.order_id,
                shipment.posted_at + timedelta(days=rr.randint(20, 60), seconds=rr.randrange(86_400)),
                a.marketplace_id,
                (FeeLine(OTHER, "BaseTax", base), FeeLine(OTHER, "ShippingTax", ship)),
                order_id=a.order_id,
            )
        )
    return sorted((e for e in out if e.posted_at < now), key=lambda e: e.key)


def fee_events(world: World) -> list[AmazonFeeEvent]:
    """``build_fee_events``, memoized on the world."""
    return world.commerce.cached(("amazon.fee_events",), lambda: build_fee_events(world))


def all_financial_events(world: World) -> list:
    """Every Finances v0 event (order events and these), in (PostedDate, id, kind) order: what the API pages."""

    def build() -> list:
        return sorted([*world.commerce.amazon_financial_events, *fee_events(world)], key=lambda e: e.key)

    return world.commerce.cached(("amazon.all_financial_events",), build)
