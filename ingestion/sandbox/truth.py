"""Ground truth (DESIGN §7), computed from the simulation's own objects, never from an API or the warehouse."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from ingestion.sandbox.sim import to_usd
from ingestion.sandbox.world import World

ZERO = Decimal("0.00")
MEASURES = ("gross_sales", "discounts", "refunds")


def _month(day: date) -> str:
    return day.strftime("%Y-%m")


def _empty() -> dict[str, Any]:
    return {"orders": 0, **{m: ZERO for m in MEASURES}}


def compute_truth(world: World) -> dict[str, Any]:
    """Per date/month × channel sales in USD and local currency, B2B bookings, and record counts."""
    usd_daily: dict[tuple[date, str], dict[str, Any]] = defaultdict(_empty)
    local_monthly: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(_empty)

    def add(channel: str, currency: str, day: date, measure: str, amount: Decimal, order: bool = False) -> None:
        usd = to_usd(amount, world.usd_per_unit(currency, day))
        usd_daily[(day, channel)][measure] += usd
        local_monthly[(_month(day), channel, currency)][measure] += amount
        if order:
            usd_daily[(day, channel)]["orders"] += 1
            local_monthly[(_month(day), channel, currency)]["orders"] += 1

    for o in world.shopify_orders:
        if o.test or o.cancelled_at is not None:
            continue
        day = o.created_at.date()
        add("shopify", "USD", day, "gross_sales", o.gross, order=True)
        add("shopify", "USD", day, "discounts", o.discount_total)
        for r in o.refunds:
            add("shopify", "USD", r.created_at.date(), "refunds", r.subtotal)

    for a in world.amazon_orders:
        if a.status == "Canceled":
            continue
        day = a.purchase_date.date()
        add("amazon", a.currency, day, "gross_sales", a.gross, order=True)
        add("amazon", a.currency, day, "discounts", sum((i.promotion_discount for i in a.items), ZERO))

    b2b: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"bookings_usd": ZERO, "won": 0, "lost": 0})
    for d in world.deals:
        if d.closed_at is None:
            continue
        day = d.closed_at.date()
        row = b2b[(_month(day), d.owner_id)]
        if d.stage == "closedwon":
            usd = to_usd(d.amount, world.usd_per_unit(d.currency, day))
            row["won"] += 1
            row["bookings_usd"] += usd
            usd_daily[(day, "b2b")]["orders"] += 1
            usd_daily[(day, "b2b")]["gross_sales"] += usd
            local_monthly[(_month(day), "b2b", d.currency)]["orders"] += 1
            local_monthly[(_month(day), "b2b", d.currency)]["gross_sales"] += d.amount
        else:
            row["lost"] += 1

    monthly_usd: dict[tuple[str, str], dict[str, Any]] = defaultdict(_empty)
    for (day, channel), row in usd_daily.items():
        target = monthly_usd[(_month(day), channel)]
        for k, v in row.items():
            target[k] += v

    def net(row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "net_sales": row["gross_sales"] - row["discounts"] - row["refunds"]}

    def fmt(row: dict[str, Any], suffix: str) -> dict[str, Any]:
        return {(k if k == "orders" else f"{k}{suffix}"): (str(v) if isinstance(v, Decimal) else v)
                for k, v in net(row).items()}

    cfg = world.config
    return {
        "world": {"seed": cfg.seed, "scale": cfg.scale, "as_of": cfg.as_of.isoformat()},
        "conversion": "USD = round(local amount × USD per unit on the UTC date (last earlier business day), 2) per order/refund/deal",
        "record_counts": {
            "shopify.orders": len(world.shopify_orders),
            "shopify.orders.line_items": sum(len(o.lines) for o in world.shopify_orders),
            "shopify.orders.refunds": sum(len(o.refunds) for o in world.shopify_orders),
            "crm.deals": len(world.deals),
            "crm.owners": len(world.owners),
            "amazon.orders": len(world.amazon_orders),
            "amazon.order_items": sum(len(a.items) for a in world.amazon_orders),
            "fx.rates": sum(len(v) for v in world.fx.values()),
        },
        "monthly": [{"month": m, "channel": c, **fmt(r, "_usd")} for (m, c), r in sorted(monthly_usd.items())],
        "monthly_local": [{"month": m, "channel": c, "currency": ccy, **fmt(r, "")}
                          for (m, c, ccy), r in sorted(local_monthly.items())],
        "daily": [{"date": d.isoformat(), "channel": c, **fmt(r, "_usd")} for (d, c), r in sorted(usd_daily.items())],
        "b2b_by_owner": [{"month": m, "owner_id": o, "won": r["won"], "lost": r["lost"],
                          "bookings_usd": str(r["bookings_usd"])} for (m, o), r in sorted(b2b.items())],
    }
