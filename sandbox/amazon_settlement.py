"""Amazon settlements (docs/architecture.md: Amazon fees and settlements) and their report,
``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``, registered in ``sandbox.amazon_reports.SCHEDULED_REPORTS``.

Every 14 days per marketplace (one currency each) Amazon closes a settlement period: it groups every posting of
the period (``PostedDate`` in [start, end): shipments, refunds, fees, adjustments, ads invoices, retrocharges,
liquidations), releases the reserve it held at the previous close and holds a new one (the sales posted in the
last ``RESERVE_DAYS`` days of the period, not yet eligible for payout; never more than the balance), and
deposits the rest ``total-amount`` 1-3 days after the end. The report is generated a few hours after the close.

The flat file V2 is tab-separated, one header row, then the summary row (settlement-id, settlement-start-date,
settlement-end-date, deposit-date, total-amount, currency; the rest empty), then one row per amount with those
six left empty (as Amazon writes them). Dates are ``YYYY-MM-DD HH:MM:SS UTC``, ``posted-date`` ``YYYY-MM-DD``;
amounts plain decimals with a dot (Amazon writes some EU marketplaces' files with a decimal comma: not modelled).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sandbox.amazon_fees import FEE, AmazonFeeEvent, all_financial_events
from sandbox.amazon_reports import SCHEDULED_REPORTS, ScheduledReport
from sandbox.commerce_world import AMAZON_MARKETPLACES, ZERO, AmazonFinancialEvent
from sandbox.sim import HISTORY_START, at_utc, rng_for

if TYPE_CHECKING:
    from sandbox.world import World

REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
SETTLEMENT_DAYS = 14
RESERVE_DAYS = 3
ANCHOR_OFFSET_DAYS = {"ATVPDKIKX0DER": 0, "A1F83G8C2ARO7P": 4, "A1PA6795UKMFR9": 9}  # periods staggered
COLUMNS = (
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "fulfillment-id",
    "posted-date",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
    "promotion-id",
)
CATEGORIES = ("sales", "fees", "refunds", "other")
# how each non-order event's lines appear: (transaction-type, amount-type, amount-description) per line type
_OTHER_TX = "other-transaction"
_LINE_ROWS = {
    "Subscription": (_OTHER_TX, _OTHER_TX, "Subscription Fee"),
    "FBAStorageFee": (_OTHER_TX, _OTHER_TX, "Storage Fee"),
    "FBALongTermStorageFee": (_OTHER_TX, _OTHER_TX, "StorageRenewalBilling"),
    "ProductAdsPayment": ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount"),
    "FBAInventoryReimbursement": (_OTHER_TX, "FBA Inventory Reimbursement", "WAREHOUSE_DAMAGE"),
    "BaseTax": ("Retrocharge", "Retrocharge", "BaseTax"),
    "ShippingTax": ("Retrocharge", "Retrocharge", "ShippingTax"),
    "LiquidationProceeds": ("Liquidations", "Liquidations", "LiquidationsProceeds"),
    "LiquidationFee": ("Liquidations", "Liquidations", "LiquidationsFees"),
}
_CHARGE_DESCRIPTION = {"Principal": "Principal", "Tax": "Tax", "ShippingCharge": "Shipping"}


def _ts(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class SettlementLine:
    category: str  # sales | fees | refunds | other (refunds and fees: as posted, negative when paid out)
    transaction_type: str
    amount_type: str
    amount_description: str
    amount: Decimal  # signed as Amazon writes it (money to the seller positive)
    posted_at: datetime | None = None
    order_id: str = ""
    adjustment_id: str = ""
    order_item_code: str = ""
    merchant_adjustment_item_id: str = ""
    sku: str = ""
    quantity: int | None = None
    promotion_id: str = ""
    fulfillment_id: str = ""


@dataclass
class Settlement:
    settlement_id: str
    report_id: str
    marketplace_id: str
    start: datetime
    end: datetime
    deposit_at: datetime
    created_at: datetime  # when the report is generated
    lines: list[SettlementLine] = field(default_factory=list)
    previous_reserve: Decimal = ZERO  # released (positive)
    current_reserve: Decimal = ZERO  # held (positive; the file shows it negative)

    @property
    def currency(self) -> str:
        return AMAZON_MARKETPLACES[self.marketplace_id][1]

    @property
    def marketplace_name(self) -> str:
        return AMAZON_MARKETPLACES[self.marketplace_id][2]

    def total(self, category: str) -> Decimal:
        """Σ of the category as money to the seller (fees and refunds negative), reserve lines in ``other``."""
        return sum((line.amount for line in self.rows() if line.category == category), ZERO)

    @property
    def total_amount(self) -> Decimal:
        return sum((line.amount for line in self.rows()), ZERO)

    def rows(self) -> list[SettlementLine]:
        reserve = [
            SettlementLine("other", "Previous Reserve Amount Balance", _OTHER_TX, "Previous Reserve Amount Balance",
                           self.previous_reserve),
            SettlementLine("other", "Current Reserve Amount", _OTHER_TX, "Current Reserve Amount",
                           -self.current_reserve),
        ]  # fmt: skip
        return [*self.lines, *reserve]


def _order_event_lines(e: AmazonFinancialEvent) -> list[SettlementLine]:
    refund = e.kind == "refund"
    tx, money_category = ("Refund", "refunds") if refund else ("Order", "sales")
    out = []
    for it in e.items:
        common = {
            "posted_at": e.posted_at,
            "order_id": e.order.order_id,
            "sku": it.item.product.sku,
            "fulfillment_id": "AFN",
            "quantity": None if refund else it.quantity,
            "order_item_code": "" if refund else it.item.order_item_id,
            "adjustment_id": (it.adjustment_id or "") if refund else "",
            "merchant_adjustment_item_id": "",
        }
        for kind, amount in it.charges:
            out.append(SettlementLine(money_category, tx, "ItemPrice", _CHARGE_DESCRIPTION[kind], amount, **common))
        for kind, amount in it.fees:
            out.append(SettlementLine("fees", tx, "ItemFees", kind, amount, **common))
        for pid, amount in it.promotions:
            out.append(SettlementLine(money_category, tx, "Promotion", "Principal", amount, promotion_id=pid, **common))
    return out


def _fee_event_lines(e: AmazonFeeEvent) -> list[SettlementLine]:
    out = []
    for line in e.lines:
        tx, amount_type, description = _LINE_ROWS[line.line_type]
        out.append(
            SettlementLine(
                "fees" if line.kind == FEE else "other",
                tx,
                amount_type,
                description,
                line.amount,
                posted_at=e.posted_at,
                order_id=e.order_id or "",
                sku=line.sku or "",
                quantity=line.quantity,
                adjustment_id=e.event_id if e.group == "AdjustmentEventList" else "",
            )
        )
    return out


def event_lines(e: AmazonFinancialEvent | AmazonFeeEvent) -> list[SettlementLine]:
    """The settlement rows of one financial event."""
    return _fee_event_lines(e) if isinstance(e, AmazonFeeEvent) else _order_event_lines(e)


def event_marketplace(e: AmazonFinancialEvent | AmazonFeeEvent) -> str:
    return e.marketplace_id if isinstance(e, AmazonFeeEvent) else e.order.marketplace_id


def build_settlements(world: World) -> list[Settlement]:
    """Every settlement whose period has ended by the world's now, per marketplace in period order."""
    now = world.config.now
    by_market: dict[str, list] = {m: [] for m in AMAZON_MARKETPLACES}
    for e in all_financial_events(world):
        by_market[event_marketplace(e)].append(e)
    out: list[Settlement] = []
    for n, (market, events) in enumerate(by_market.items()):
        anchor = at_utc(HISTORY_START - timedelta(days=ANCHOR_OFFSET_DAYS[market]), 0)
        previous, k, i = ZERO, 0, 0
        while True:
            start = anchor + timedelta(days=SETTLEMENT_DAYS * k)
            end = start + timedelta(days=SETTLEMENT_DAYS)
            if end > now:
                break
            rng = rng_for(world.config.seed, "amazon-settlements", market, k)
            s = Settlement(
                settlement_id=f"{11_000_000_000 + n * 100_000_000 + k * 9_973 + rng.randrange(9_973)}",
                report_id=f"{50_000_000_000 + n * 100_000_000 + k * 7_919 + rng.randrange(7_919)}",
                marketplace_id=market,
                start=start,
                end=end,
                deposit_at=end + timedelta(days=rng.randint(1, 3), seconds=rng.randrange(86_400)),
                created_at=end + timedelta(seconds=rng.randrange(2 * 3_600, 10 * 3_600)),
                previous_reserve=previous,
            )
            recent = ZERO
            while i < len(events) and events[i].posted_at < end:
                rows = event_lines(events[i])
                s.lines.extend(rows)
                if events[i].posted_at >= end - timedelta(days=RESERVE_DAYS):
                    recent += sum((r.amount for r in rows if r.category == "sales"), ZERO)
                i += 1
            balance = sum((r.amount for r in s.lines), ZERO) + previous
            s.current_reserve = max(min(recent, balance), ZERO)
            previous = s.current_reserve
            out.append(s)
            k += 1
    return out


def settlements(world: World) -> list[Settlement]:
    return world.commerce.cached(("amazon.settlements",), lambda: build_settlements(world))


def render_flat_file(s: Settlement) -> str:
    """The settlement's ``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`` document (text, tab-separated)."""
    summary = dict.fromkeys(COLUMNS, "")
    summary.update(
        {
            "settlement-id": s.settlement_id,
            "settlement-start-date": _ts(s.start),
            "settlement-end-date": _ts(s.end),
            "deposit-date": _ts(s.deposit_at),
            "total-amount": f"{s.total_amount:.2f}",
            "currency": s.currency,
        }
    )
    rows = ["\t".join(COLUMNS), "\t".join(summary[c] for c in COLUMNS)]
    for line in s.rows():
        row = dict.fromkeys(COLUMNS, "")
        row.update(
            {
                "settlement-id": s.settlement_id,
                "transaction-type": line.transaction_type,
                "order-id": line.order_id,
                "merchant-order-id": "",
                "adjustment-id": line.adjustment_id,
                "marketplace-name": s.marketplace_name,
                "amount-type": line.amount_type,
                "amount-description": line.amount_description,
                "amount": f"{line.amount:.2f}",
                "fulfillment-id": line.fulfillment_id,
                "posted-date": line.posted_at.strftime("%Y-%m-%d") if line.posted_at else "",
                "posted-date-time": _ts(line.posted_at) if line.posted_at else "",
                "order-item-code": line.order_item_code,
                "merchant-adjustment-item-id": line.merchant_adjustment_item_id,
                "sku": line.sku,
                "quantity-purchased": "" if line.quantity is None else str(line.quantity),
                "promotion-id": line.promotion_id,
            }
        )
        rows.append("\t".join(row[c] for c in COLUMNS))
    return "\n".join(rows) + "\n"


def scheduled_reports(world: World) -> list[ScheduledReport]:
    """Every settlement report the world has generated (the Reports API lists those created before now)."""
    return [
        ScheduledReport(
            report_type=REPORT_TYPE,
            report_id=s.report_id,
            marketplace_ids=(s.marketplace_id,),
            data_start_time=s.start,
            data_end_time=s.end,
            created_time=s.created_at,
            content=lambda s=s: render_flat_file(s).encode(),
        )
        for s in settlements(world)
    ]


SCHEDULED_REPORTS[REPORT_TYPE] = scheduled_reports
