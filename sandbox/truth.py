"""Ground truth (docs/architecture.md: Ground truth and reconciliation), computed from the simulation's own objects, never from an API or the warehouse.

Per UTC date (and month) × channel, in USD and per month × channel × currency in local money, by the
metric definitions of docs/architecture.md: Metric definitions:

- **orders**: commerce orders on their order date (Shopify ``created_at``, Amazon ``PurchaseDate``, eBay
  ``creationDate``), test and cancelled orders excluded; B2B: deals won, on the close date.
- **gross_sales**: Shopify Σ unit price × *current* quantity (after order edits); Amazon Σ ``ItemPrice``
  (a line total); eBay Σ ``lineItemCost`` (a line total); B2B bookings. On the order date.
- **discounts**: Shopify ``total_discounts`` (current); Amazon Σ ``PromotionDiscount``; eBay the seller
  promotion (−``priceDiscount``). On the order date.
- **refunds**, on the refund's own UTC date: Shopify Σ refund line ``subtotal``; Amazon refunded
  principal after its promotion per ``RefundEvent`` (−(Principal + PromotionAdjustment)) on its
  ``PostedDate``; eBay Σ ``paymentSummary.refunds[].amount`` on ``refundDate``. Refunds of test or
  cancelled orders never count (an eBay cancellation's full refund included).
- **marketplace_fees** (positive = charged): Amazon −Σ fee lines of its financial events (shipment:
  commission + FBA fee; return: the refund-admin fee less the commission given back, so usually
  negative; the Professional plan subscription, FBA storage and long-term storage, liquidation fees) on
  their ``PostedDate``, except Sponsored Products invoices (``ProductAdsPayment``: ad spend, counted by the
  Amazon Ads source; ``NOT_MARKETPLACE_FEES``); eBay ``totalMarketplaceFee`` on ``creationDate`` (charged at
  checkout; a cancelled order's is credited to 0 and the order excluded anyway).
- **net_sales** = gross − discounts − refunds; **net_revenue** = net_sales − marketplace_fees.
- **amazon_fees_monthly**: Amazon fees (positive = charged) per month × marketplace × fee type, every fee
  line (Sponsored Products included, flagged ``counts_as_marketplace_fee`` false).
- **amazon_payouts**: per settlement listed by then (sandbox/amazon_settlement.py): sales (shipment charges
  and promotions), fees, refunds (refund charges and promotions, positive), other (reimbursements,
  retrocharges, liquidation proceeds, reserve released − reserve held), payout = sales − fees − refunds +
  other, payout_usd at the deposit date's rate.

- **B2B**: deals won (not archived) in any pipeline (the won stage of the Sales Pipeline or of Renewals), on
  the UTC close date, attributed to the owner at close; lost deals counted likewise. A deal merged into
  another counts once, as the surviving deal (world.crm.deals holds no merged-away deal).
- **pipeline_monthly**: the open pipeline at each month start × expected-close month × currency
  (``pipeline_truth``), rebuilt from the deals' own histories.
- **faults**: under ``--faults heavy`` the sandbox serves some records bad (``faults.bad_records``);
  ingestion quarantines them, so the truth leaves them out (a bad Shopify order with its refunds, a
  bad Amazon order's gross/discounts — its financial events are good records and still count —, a bad
  deal) and lists them under ``bad_records``.

USD: every amount is converted on its own (per order, per refund, per fee event; see ``conversion``)
with ``to_usd`` at the rate of its UTC date, then summed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sandbox.amazon_fees import EVENT_TYPES, all_financial_events, fee_events
from sandbox.amazon_settlement import CATEGORIES, event_lines, event_marketplace, settlements
from sandbox.crm_world import PIPELINES, Deal
from sandbox.faults import bad_records
from sandbox.marketing_truth import marketing_truth
from sandbox.plan_world import MALFORMED, PLAN_SHEET, build_plan
from sandbox.sim import HISTORY_START, to_usd
from sandbox.world import World, paused_gc

ZERO = Decimal("0.00")
# The marketplace-fee rule (mirrors dbt macro counts_as_marketplace_fee): every fee Amazon or eBay charges counts,
# except Sponsored Products invoices: that is advertising spend, already counted by the Amazon Ads source.
NOT_MARKETPLACE_FEES = frozenset({"ProductAdsPayment"})
MEASURES = ("gross_sales", "discounts", "refunds", "marketplace_fees")


def counts_as_marketplace_fee(fee_type: str) -> bool:
    return fee_type not in NOT_MARKETPLACE_FEES


def payouts_truth(world: World) -> list[dict[str, Any]]:
    """Every Amazon settlement whose report has been generated before now: its postings by category, computed
    from the financial events posted in its period (not from the flat file), the reserve as Amazon held it,
    and the payout in USD at the deposit date's rate. sales/other as money to the seller, fees/refunds
    positive when charged/paid back: payout = sales − fees − refunds + other."""

    now = world.config.now
    listed = [s for s in settlements(world) if s.created_at < now]
    starts: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for n, s in enumerate(listed):
        starts[s.marketplace_id].append((s.start, n))
    totals = [dict.fromkeys(CATEGORIES, ZERO) for _ in listed]
    for e in all_financial_events(world):
        market = starts[event_marketplace(e)]
        k = bisect_right(market, (e.posted_at, len(listed))) - 1
        if k < 0 or e.posted_at >= listed[market[k][1]].end:
            continue
        for line in event_lines(e):
            totals[market[k][1]][line.category] += line.amount
    out = []
    for s, t in zip(listed, totals):
        other = t["other"] + s.previous_reserve - s.current_reserve
        payout = t["sales"] + t["fees"] + t["refunds"] + other
        out.append(
            {
                "settlement_id": s.settlement_id,
                "marketplace": s.marketplace_name,
                "settlement_start_date": s.start.date().isoformat(),
                "settlement_end_date": s.end.date().isoformat(),
                "deposit_date": s.deposit_at.date().isoformat(),
                "currency": s.currency,
                "sales": str(t["sales"]),
                "fees": str(-t["fees"]),
                "refunds": str(-t["refunds"]),
                "other": str(other),
                "reserve_released": str(s.previous_reserve),
                "reserve_held": str(s.current_reserve),
                "payout": str(payout),
                "payout_usd": str(to_usd(payout, world.usd_per_unit(s.currency, s.deposit_at.date()))),
            }
        )
    return out


def _month(day: date) -> str:
    return day.strftime("%Y-%m")


def _empty() -> dict[str, Any]:
    return {"orders": 0, **{m: ZERO for m in MEASURES}}


def month_starts(first: date, last: date) -> list[date]:
    """Every month start from ``first``'s month through ``last``'s."""
    out, month = [], date(first.year, first.month, 1)
    while month <= last:
        out.append(month)
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return out


def pipeline_truth(world: World, deals: Iterable[Deal]) -> list[dict[str, Any]]:
    """Open pipeline at each month start (00:00 UTC of the 1st) × expected-close month × currency: what
    marts.pipeline_snapshot_monthly must reconcile to. A deal counts when it was open at the instant (created
    before it, not archived before it, in an open stage: Deal.open_at, the values set strictly before it);
    amount as of then, in the deal currency and in USD at the snapshot date's rate (per deal, then summed)."""
    deals = list(deals)
    rows: dict[tuple[str, str | None, str], dict[str, Any]] = defaultdict(
        lambda: {"deals": 0, "amount": ZERO, "amount_usd": ZERO}
    )
    for month in month_starts(HISTORY_START, world.config.as_of):
        at = datetime(month.year, month.month, 1, tzinfo=UTC)
        for d in deals:
            state = d.open_at(at)
            if state is None:
                continue
            expected = _month(state.closedate.date()) if state.closedate else None
            row = rows[(_month(month), expected, state.currency)]
            row["deals"] += 1
            row["amount"] += state.amount
            row["amount_usd"] += to_usd(state.amount, world.usd_per_unit(state.currency, month))
    return [
        {
            "snapshot_month": m,
            "expected_close_month": e,
            "currency": c,
            "deals": r["deals"],
            "amount": str(r["amount"]),
            "amount_usd": str(r["amount_usd"]),
        }
        for (m, e, c), r in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2]))
    ]


def compute_truth(world: World, faults: str = "none") -> dict[str, Any]:
    """Per date/month × channel sales in USD and local currency, B2B bookings, and record counts."""
    with paused_gc():  # as the world's build: many small objects, no cycles worth a scan while they are made
        return _compute_truth(world, faults)


def _compute_truth(world: World, faults: str) -> dict[str, Any]:
    bad = bad_records(world, faults)
    bad_ids = {(b.resource, b.record_id) for b in bad}
    shopify_orders = [o for o in world.shopify_orders if ("shopify.orders", o.order_id) not in bad_ids]
    amazon_orders = [a for a in world.amazon_orders if ("amazon.orders", a.order_id) not in bad_ids]
    deals = [d for d in world.deals if ("crm.deals", d.deal_id) not in bad_ids]
    usd_daily: dict[tuple[date, str], dict[str, Any]] = defaultdict(_empty)
    amazon_fees: dict[tuple[str, str, str, str], Decimal] = defaultdict(lambda: ZERO)
    local_monthly: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(_empty)

    def add(channel: str, currency: str, day: date, measure: str, amount: Decimal, order: bool = False) -> None:
        usd = to_usd(amount, world.usd_per_unit(currency, day))
        usd_daily[(day, channel)][measure] += usd
        local_monthly[(_month(day), channel, currency)][measure] += amount
        if order:
            usd_daily[(day, channel)]["orders"] += 1
            local_monthly[(_month(day), channel, currency)]["orders"] += 1

    for o in shopify_orders:
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
        if ("amazon.orders", a.order_id) not in bad_ids:
            add("amazon", a.currency, day, "gross_sales", a.gross, order=True)
            add("amazon", a.currency, day, "discounts", sum((i.promotion_discount for i in a.items), ZERO))
        for e in a.events:
            posted = e.posted_at.date()
            for item in e.items:  # per fee line, as the fee fact holds them
                for fee_type, amount in item.fees:
                    add("amazon", a.currency, posted, "marketplace_fees", -amount)
                    amazon_fees[(_month(posted), a.marketplace_id, a.currency, fee_type)] -= amount
            if e.kind == "refund":
                add("amazon", a.currency, posted, "refunds", e.refund)
    for fe in fee_events(world):  # service fees, ads invoices, liquidations, ... (sandbox/amazon_fees.py)
        posted = fe.posted_at.date()
        for line in fe.lines:
            if line.kind != "fee":
                continue
            amazon_fees[(_month(posted), fe.marketplace_id, fe.currency, line.line_type)] -= line.amount
            if counts_as_marketplace_fee(line.line_type):
                add("amazon", fe.currency, posted, "marketplace_fees", -line.amount)

    for eb in world.commerce.ebay_orders:
        if eb.cancelled_at is not None:
            continue
        day = eb.created_at.date()
        add("ebay", "USD", day, "gross_sales", eb.gross, order=True)
        add("ebay", "USD", day, "discounts", eb.discount)
        add("ebay", "USD", day, "marketplace_fees", eb.marketplace_fee)
        for r in eb.refunds:
            add("ebay", "USD", r.refunded_at.date(), "refunds", r.amount)

    b2b: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"bookings_usd": ZERO, "won": 0, "lost": 0})
    for d in deals:
        if d.closed_at is None or d.is_archived:
            continue
        day = d.closed_at.date()
        row = b2b[(_month(day), d.owner_at(d.closed_at))]
        if d.is_won:  # the won stage of its pipeline (Sales Pipeline or Renewals)
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
        net_sales = row["gross_sales"] - row["discounts"] - row["refunds"]
        return {
            "orders": row["orders"],
            "gross_sales": row["gross_sales"],
            "discounts": row["discounts"],
            "refunds": row["refunds"],
            "marketplace_fees": row["marketplace_fees"],
            "net_sales": net_sales,
            "net_revenue": net_sales - row["marketplace_fees"],
        }

    def fmt(row: dict[str, Any], suffix: str) -> dict[str, Any]:
        return {
            (k if k == "orders" else f"{k}{suffix}"): (str(v) if isinstance(v, Decimal) else v)
            for k, v in net(row).items()
        }

    commerce = world.commerce
    amazon_events = commerce.amazon_financial_events
    cfg = world.config
    return {
        "world": {"seed": cfg.seed, "scale": cfg.scale, "as_of": cfg.as_of.isoformat(), "faults": faults},
        "bad_records": [
            {"resource": b.resource, "record_id": str(b.record_id), "reason": b.reason, "field": b.field} for b in bad
        ],
        "conversion": "USD = round(local amount × USD per unit on the UTC date (last earlier business day), 2) "
        "per order (gross, discounts; eBay fee), per refund (Shopify refund, eBay refund, Amazon "
        "RefundEvent), per Amazon fee line, per deal; an Amazon payout at its deposit date's rate",
        "record_counts": {
            "shopify.orders": len(shopify_orders),
            "shopify.orders.line_items": sum(len(o.lines) for o in shopify_orders),
            "shopify.orders.refunds": sum(len(o.refunds) for o in shopify_orders),
            "shopify.customers": len(commerce.shopify_customers),
            "shopify.products": len(commerce.products),
            "crm.deals": len(deals),  # archived ones included: ingestion loads them flagged
            "crm.owners": len(world.owners),
            "crm.owners.teams": sum(1 + (o.manager_id is not None) for o in world.owners),
            "crm.contacts": len(world.crm.contacts),
            "crm.companies": len(world.crm.companies),
            "crm.goal_targets": len(world.crm.goal_targets),
            "crm.deals.stage_history": sum(len(d.stage_history) for d in deals),
            "crm.deals.owner_history": sum(len(d.owner_history) for d in deals),
            "crm.deals.companies": sum(1 for d in deals if not d.is_archived and d.company_id),
            "crm.deals.contacts": sum(len(set(d.contact_ids)) for d in deals if not d.is_archived),
            "crm.deal_pipelines": len(PIPELINES),
            "crm.deal_pipelines.stages": sum(len(p.stages) for p in PIPELINES),
            # merged-away records (merged into a survivor before now) count once, as the survivor
            "crm.deals.merged_away": len(world.crm.merged_deals),
            "crm.contacts.merged_away": len(world.crm.merged_contacts),
            "amazon.orders": len(amazon_orders),
            "amazon.order_items": sum(len(a.items) for a in amazon_orders),
            "amazon.financial_events.shipments": sum(1 for e in amazon_events if e.kind == "shipment"),
            "amazon.financial_events.refunds": sum(1 for e in amazon_events if e.kind == "refund"),
            **{
                f"amazon.financial_events.{kind}": sum(1 for e in fee_events(world) if e.kind == kind)
                for kind in EVENT_TYPES.values()
            },
            "ebay.orders": len(commerce.ebay_orders),
            "ebay.orders.line_items": sum(len(o.lines) for o in commerce.ebay_orders),
            "ebay.orders.refunds": sum(len(o.refunds) for o in commerce.ebay_orders),
            "fx.rates": sum(len(v) for v in world.fx.values()),
            "shopify.checkouts": len(world.marketing.checkouts),
            "google_ads.campaign_days": sum(1 for a in world.marketing.ad_days if a.campaign.platform == "google_ads"),
            "meta.campaign_days": sum(1 for a in world.marketing.ad_days if a.campaign.platform == "meta"),
            "amazon_ads.campaign_days": sum(1 for a in world.marketing.ad_days if a.campaign.platform == "amazon_ads"),
            "ga4.session_rows": len(world.marketing.session_days),
        },
        "monthly": [{"month": m, "channel": c, **fmt(r, "_usd")} for (m, c), r in sorted(monthly_usd.items())],
        "monthly_local": [
            {"month": m, "channel": c, "currency": ccy, **fmt(r, "")}
            for (m, c, ccy), r in sorted(local_monthly.items())
        ],
        "daily": [{"date": d.isoformat(), "channel": c, **fmt(r, "_usd")} for (d, c), r in sorted(usd_daily.items())],
        "amazon_fees_monthly": [
            {
                "month": m,
                "marketplace_id": mk,
                "currency": ccy,
                "fee_type": ft,
                "fees": str(v),
                "counts_as_marketplace_fee": counts_as_marketplace_fee(ft),
            }
            for (m, mk, ccy, ft), v in sorted(amazon_fees.items())
        ],
        "amazon_payouts": payouts_truth(world),
        "plan": plan_truth(world),
        "marketing": marketing_truth(world, shopify_orders),
        "pipeline_monthly": pipeline_truth(world, deals),
        "b2b_by_owner": [
            {"month": m, "owner_id": o, "won": r["won"], "lost": r["lost"], "bookings_usd": str(r["bookings_usd"])}
            for (m, o), r in sorted(b2b.items())
        ],
    }


def plan_truth(world: World) -> dict[str, Any]:
    """The plan sheet's truth (sandbox/plan_world.py): the clean targets per version × month × channel (× territory
    for b2b), their totals, and the malformed rows the ingestion must quarantine (sheet row, kind, reason)."""
    plan = build_plan(world.config)
    totals: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for t in plan.targets:
        totals[(t.version, t.channel)] += t.net_revenue_usd
    return {
        "versions": [
            {"version": v.name, "kind": v.kind, "published_date": v.published_date.isoformat()} for v in plan.versions
        ],
        "targets": [
            {
                "version": t.version,
                "month": _month(t.month),
                "channel": t.channel,
                "territory": t.territory,
                "net_revenue_usd": str(t.net_revenue_usd),
            }
            for t in plan.targets
        ],
        "totals": [{"version": v, "channel": c, "net_revenue_usd": str(a)} for (v, c), a in sorted(totals.items())],
        "malformed": [
            {
                "record_id": f"{PLAN_SHEET}!A{n}",
                "sheet_row": n,
                "problem": r.problem,
                "reason": MALFORMED[r.problem or ""],
            }
            for n, r in plan.malformed
        ],
        "sheet_rows": len(plan.rows),
    }
