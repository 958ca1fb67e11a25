"""What a unit of each SKU costs the company over time (docs/costs.md), and the gross margin the warehouse must show.

Ingredient prices move a few times a year: durum wheat for the pasta, tomatoes and olive oil for the sauces. Each
product type has its own dates of change (every 60-150 days from the history's start, at a time of day drawn with
them), and at each date every SKU of the type moves by the type's move plus a little of its own. A SKU's first
cost is set when the product is created (a share of its list price, by type). Everything draws from streams of its
own (``rng_for(seed, "product-costs", ...)``), so adding costs left every other record of the world as it was; the
dates and moves are drawn up to a fixed horizon, whatever ``as_of`` is, and only the changes before ``now`` are
visible.

Shopify keeps the cost on the variant's inventory item (``InventoryItem.unitCost``) and does not version it: it
serves the cost valid at ``now`` and ``InventoryItem.updatedAt`` = the time of the latest change. Amazon and eBay sell
the same SKUs. Shopify refunds restock the refunded units (``restockType: RETURN``): their cost goes back to
stock. Amazon returns and eBay refunds do not (the world's Amazon returns are not resellable food; eBay refunds
are partial refunds without a return).

:func:`gross_margin_truth` recomputes the warehouse's COGS and gross margin per channel × month from these objects
(never from the warehouse or an API), given the times the warehouse loaded the costs: the warehouse sees only the
cost valid at each load, so it knows a version from the first load that saw it, and the first version it saw
covers every earlier sale (docs/costs.md: Snapshot dating).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.sim import HISTORY_START, at_utc, money, rng_for

if TYPE_CHECKING:
    from sandbox.commerce_world import Product
    from sandbox.world import World

ZERO = Decimal("0.00")
# a unit's first cost, as a share of the list price, by product type
UNIT_COST_SHARE = {"Pasta": Decimal("0.38"), "Sauce": Decimal("0.45")}
CHANGE_EVERY_DAYS = (60, 150)  # days between two changes of a product type's ingredient prices
HORIZON = date(2040, 1, 1)  # changes are drawn up to here, whatever as_of is (no draw depends on as_of)
RESTOCKING_CHANNELS = frozenset({"shopify"})


@dataclass(frozen=True)
class CostVersion:
    sku: str
    valid_from: datetime  # when the cost was set (Shopify's InventoryItem.updatedAt while it is the latest)
    unit_cost: Decimal  # USD (the shop's currency)


def _type_changes(seed: int, product_type: str) -> list[tuple[datetime, float]]:
    """(time, move) of every change of this product type's ingredient prices up to the horizon."""
    rng = rng_for(seed, "product-costs", product_type)
    out: list[tuple[datetime, float]] = []
    day = HISTORY_START
    while True:
        day += timedelta(days=rng.randint(*CHANGE_EVERY_DAYS))
        if day >= HORIZON:
            return out
        out.append((at_utc(day, rng.randrange(8 * 3600, 18 * 3600)), rng.gauss(0.025, 0.05)))


def full_history(seed: int, products: Iterable[Product]) -> dict[str, list[CostVersion]]:
    """Every cost version of every SKU up to the horizon (visible or not), oldest first."""
    changes = {kind: _type_changes(seed, kind) for kind in UNIT_COST_SHARE}
    out: dict[str, list[CostVersion]] = {}
    for p in sorted(products, key=lambda p: p.sku):
        rng = rng_for(seed, "product-costs", p.sku)
        base = p.price_usd * UNIT_COST_SHARE.get(p.product_type, Decimal("0.40"))
        level = 1.0
        versions = [CostVersion(p.sku, p.created_at, money(base))]
        for at, move in changes.get(p.product_type, []):
            level *= 1 + move + rng.gauss(0, 0.015)
            level = min(max(level, 0.6), 1.8)  # prices move, they do not run away
            cost = max(money(base * Decimal(str(round(level, 6)))), Decimal("0.01"))
            if cost != versions[-1].unit_cost:
                versions.append(CostVersion(p.sku, at, cost))
        out[p.sku] = versions
    return out


def cost_history(world: World) -> dict[str, list[CostVersion]]:
    """Each SKU's cost versions set before the world's now, oldest first."""
    now = world.config.now

    def build() -> dict[str, list[CostVersion]]:
        full = full_history(world.config.seed, world.products)
        return {sku: [v for v in versions if v.valid_from < now] for sku, versions in full.items()}

    return world.commerce.cached(("product-costs", "history"), build)


def current_cost(world: World, p: Product) -> CostVersion:
    """The version Shopify serves now: its unitCost, and its time as the inventory item's updatedAt."""
    return cost_history(world)[p.sku][-1]


def seen_versions(world: World, loads: Iterable[datetime]) -> dict[str, list[tuple[date, Decimal]]]:
    """(valid-from date, cost) per SKU as a warehouse that loaded the costs at these times knows them: at each load
    the version valid then, dated by its own time (its updatedAt), one version per day (the day's last); the first
    version seen covers every sale before it (its date is replaced by date.min)."""
    loads = sorted(loads)
    out: dict[str, list[tuple[date, Decimal]]] = {}
    for sku, versions in cost_history(world).items():
        starts = [v.valid_from for v in versions]
        seen: dict[date, Decimal] = {}
        for at in loads:
            k = bisect_right(starts, at) - 1
            if k >= 0:
                seen[versions[k].valid_from.date()] = versions[k].unit_cost
        dated = sorted(seen.items())
        if dated:
            dated[0] = (date.min, dated[0][1])
            out[sku] = dated
    return out


def cost_on(seen: dict[str, list[tuple[date, Decimal]]], sku: str, day: date) -> Decimal | None:
    """The cost valid on a day (the latest version dated on or before it); None when the SKU has none."""
    versions = seen.get(sku)
    if not versions:
        return None
    k = bisect_right([d for d, _ in versions], day) - 1
    return versions[max(k, 0)][1]


def gross_margin_truth(world: World, loads: Iterable[datetime] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (month 'YYYY-MM', channel) of the commerce channels: cogs (units sold × the cost valid on the order date,
    less the cost of the units restocked by a Shopify refund, on the refund's date), cost_missing_units, net_sales
    (from the truth) and gross_margin = net_sales − cogs, in USD. ``loads``: when the warehouse read the costs
    (default: once, at now)."""
    from sandbox.truth import compute_truth

    seen = seen_versions(world, loads if loads is not None else [world.config.now])
    rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"cogs": ZERO, "cost_missing_units": 0})

    def sold(channel: str, day: date, sku: str, units: int) -> Decimal:
        cost = cost_on(seen, sku, day)
        row = rows[(day.strftime("%Y-%m"), channel)]
        if cost is None:
            row["cost_missing_units"] += units
            return ZERO
        row["cogs"] += cost * units
        return cost

    for o in world.shopify_orders:
        if o.test or o.cancelled_at is not None:
            continue
        day = o.created_at.date()
        unit = {li.line_id: sold("shopify", day, li.product.sku, li.quantity) for li in o.lines}
        for r in o.refunds:  # restocked: the units' cost (at the order date) goes back to stock on the refund date
            rows[(r.created_at.date().strftime("%Y-%m"), "shopify")]["cogs"] -= unit[r.line_id] * r.quantity
    for a in world.amazon_orders:
        if a.status == "Canceled":
            continue
        for i in a.items:
            sold("amazon", a.purchase_date.date(), i.product.sku, i.quantity)
    for eb in world.commerce.ebay_orders:
        if eb.cancelled_at is not None:
            continue
        for li in eb.lines:
            sold("ebay", eb.created_at.date(), li.product.sku, li.quantity)

    truth = {(r["month"], r["channel"]): Decimal(r["net_sales_usd"]) for r in compute_truth(world)["monthly"]}
    for month, channel in truth:
        if channel != "b2b":
            rows[(month, channel)]  # months with refunds only still have a row
    for key, row in rows.items():
        row["cogs"] = money(row["cogs"])
        row["net_sales"] = truth.get(key, ZERO)
        row["gross_margin"] = row["net_sales"] - row["cogs"]
    return dict(rows)
