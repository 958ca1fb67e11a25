"""What Amazon orders and financial events must satisfy before they enter ``raw_amazon`` (else: quarantine)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ingestion.contracts import Contract, amount_present, currency_known, each, quantity_positive
from ingestion.sources.amazon.finances import _exact_amount, financial_event_lines, posted_date
from ingestion.sources.amazon.settings import CENT


def orders_contract() -> Contract:
    return Contract(
        "amazon",
        "orders",
        "AmazonOrderId",
        checks=(
            currency_known("OrderTotal.CurrencyCode"),
            each(
                "OrderItems",
                quantity_positive("QuantityOrdered"),
                amount_present("ItemPrice.Amount"),
                currency_known("ItemPrice.CurrencyCode"),
            ),
        ),
        integer_fields=("OrderItems.QuantityOrdered",),
    )


def _lines_valid(event: dict[str, Any]) -> str | None:
    """Every money line has a known currency and an amount in whole cents (DECIMAL(18,2) holds it exactly)."""
    checks = (currency_known("currency"), amount_present("amount"))
    if not posted_date(event):
        return "missing PostedDate"
    for line in financial_event_lines(event):
        item = line["order_item_id"] or line["seller_sku"]
        where = f"{line['line_kind']} {line['line_type']}" + (f" of item {item}" if item else "")
        if not line["currency"]:
            return f"missing currency code in {where}"
        for check in checks:
            reason = check(line)
            if reason:
                return f"{where}: {reason}"
        amount = _exact_amount(line["amount"])
        if amount is None:
            return f"{where}: missing or non-numeric amount"
        if amount != amount.quantize(CENT) or abs(amount) >= Decimal(10) ** 16:
            return f"{where}: amount {amount} does not fit DECIMAL(18,2)"
    return None


def financial_events_contract() -> Contract:
    """Checked per event, so an event is loaded whole or quarantined whole (its lines sum to its totals)."""
    return Contract(
        "amazon",
        "financial_events",
        "EventKey",
        checks=(_lines_valid,),
        integer_fields=("ShipmentItemList.QuantityShipped", "ShipmentItemAdjustmentList.QuantityShipped"),
    )
