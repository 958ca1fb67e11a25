"""The marketing truth (docs/architecture.md: Marketing and the web funnel), recounted from the world's own objects.

- ``ad_spend_monthly``: month × platform × account × campaign: spend in the account currency and in USD (each
  day converted on its own at its UTC date's rate, then summed), impressions, clicks, and the platform's own
  conversions and conversion value — all as the platform reports them at ``as_of`` (recent days restated).
- ``web_daily``: date × GA4 channel group: sessions and engaged sessions as GA4 reports them, GA4's purchases,
  and the sales orders (not test, not cancelled) whose own session came from that channel group.
- ``attributed_monthly``: month × channel group × platform × campaign (the last non-direct click, per
  ``marketing_world.attribute``): orders, new customers (the person's first sales order: accounts with the same
  normalized email are one person, as the warehouse resolves them) and net sales in USD
  (gross − discounts on the order date, refunds on their own date, to the order's touch).
- ``amazon_sponsored_monthly``: month × campaign: the sponsored orders the world knows (no API exposes them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sandbox.commerce_world import ShopifyOrder
from sandbox.marketing_world import attribute
from sandbox.sim import to_usd
from sandbox.world import World

ZERO = Decimal("0.00")


def _month(day) -> str:
    return day.strftime("%Y-%m")


def person(email: str) -> str:
    """The warehouse's identity rule (int_customer_identities): lower(trim()) after removing tabs and line breaks."""
    return email.replace("\t", "").replace("\r", "").replace("\n", "").strip().lower()


def _s(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()}


def marketing_truth(world: World, shopify_orders: Iterable[ShopifyOrder]) -> dict[str, Any]:
    """``shopify_orders``: the orders the warehouse holds (heavy faults' bad ones left out)."""
    m, as_of = world.marketing, world.config.as_of
    spend: dict[tuple, dict[str, Any]] = defaultdict(
        lambda: {
            "spend": ZERO,
            "spend_usd": ZERO,
            "impressions": 0,
            "clicks": 0,
            "platform_conversions": ZERO,
            "platform_conversion_value": ZERO,
            "platform_conversion_value_usd": ZERO,
            "days": 0,
        }
    )
    for ad in m.ad_days:
        c = ad.campaign
        cost, conversions, value = ad.reported(as_of)
        rate = world.usd_per_unit(c.currency, ad.day)
        row = spend[(_month(ad.day), c.platform, c.account.account_id, c.campaign_id, c.name, c.currency)]
        row["spend"] += cost
        row["spend_usd"] += to_usd(cost, rate)
        row["impressions"] += ad.impressions
        row["clicks"] += ad.clicks
        row["platform_conversions"] += conversions
        row["platform_conversion_value"] += value
        row["platform_conversion_value_usd"] += to_usd(value, rate)
        row["days"] += 1

    orders = [o for o in shopify_orders if not o.test and o.cancelled_at is None]
    web: dict[tuple, dict[str, int]] = defaultdict(
        lambda: {"sessions": 0, "engaged_sessions": 0, "ga4_purchases": 0, "orders": 0}
    )
    for sd in m.session_days:
        sessions, engaged = sd.reported(as_of)
        row = web[(sd.day.isoformat(), sd.source.channel_group)]
        row["sessions"] += sessions
        row["engaged_sessions"] += engaged
        row["ga4_purchases"] += sd.purchases
    for o in orders:
        web[(o.created_at.date().isoformat(), o.traffic.channel_group)]["orders"] += 1

    credited = attribute(orders, m.order_touch)
    first: dict[str, int] = {}  # the resolved person (normalized email: two accounts may share one) -> first order
    for o in sorted(orders, key=lambda o: (o.created_at, o.order_id)):
        first.setdefault(person(o.customer.email), o.order_id)
    attributed: dict[tuple, dict[str, Any]] = defaultdict(
        lambda: {"orders": 0, "new_customers": 0, "net_sales_usd": ZERO}
    )
    for o in orders:
        src = credited[o.order_id]
        key = (src.channel_group, src.platform, src.campaign_id, src.campaign)
        row = attributed[(_month(o.created_at.date()), *key)]
        row["orders"] += 1
        row["new_customers"] += first[person(o.customer.email)] == o.order_id
        row["net_sales_usd"] += o.gross - o.discount_total  # Shopify's shop currency is USD
        for r in o.refunds:
            attributed[(_month(r.created_at.date()), *key)]["net_sales_usd"] -= r.subtotal

    sponsored: dict[tuple, dict[str, Any]] = defaultdict(lambda: {"orders": 0, "sales": ZERO, "sales_usd": ZERO})
    for order_id, c in m.sponsored.items():
        a = world.amazon_by_id[order_id]
        row = sponsored[(_month(a.purchase_date.date()), c.campaign_id, a.currency)]
        row["orders"] += 1
        row["sales"] += a.gross
        row["sales_usd"] += to_usd(a.gross, world.usd_per_unit(a.currency, a.purchase_date.date()))

    return {
        "ad_spend_monthly": [
            _s(
                {
                    "month": k[0],
                    "platform": k[1],
                    "account_id": k[2],
                    "campaign_id": k[3],
                    "campaign_name": k[4],
                    "currency": k[5],
                    **v,
                }
            )
            for k, v in sorted(spend.items())
        ],
        "web_daily": [{"date": d, "channel_group": g, **v} for (d, g), v in sorted(web.items())],
        "attributed_monthly": [
            _s({"month": k[0], "channel_group": k[1], "platform": k[2], "campaign_id": k[3], "campaign": k[4], **v})
            for k, v in sorted(attributed.items(), key=lambda kv: tuple(str(x) for x in kv[0]))
        ],
        "amazon_sponsored_monthly": [
            _s({"month": k[0], "campaign_id": k[1], "currency": k[2], **v}) for k, v in sorted(sponsored.items())
        ],
        "abandoned_checkouts": len(m.checkouts),
    }
