"""What eBay orders must satisfy before they enter ``raw_ebay`` (else: quarantine)."""

from __future__ import annotations

from ingestion.contracts import Contract, amount_present, currency_known, each, quantity_positive


def orders_contract() -> Contract:
    return Contract(
        "ebay",
        "orders",
        "orderId",
        checks=(
            currency_known("pricingSummary.total.currency"),
            amount_present("pricingSummary.total.value"),
            currency_known("totalMarketplaceFee.currency"),
            amount_present("totalMarketplaceFee.value"),
            currency_known("pricingSummary.priceDiscount.currency"),
            each(
                "lineItems",
                quantity_positive("quantity"),
                amount_present("lineItemCost.value"),
                currency_known("lineItemCost.currency"),
            ),
            each("paymentSummary.refunds", amount_present("amount.value"), currency_known("amount.currency")),
        ),
        integer_fields=("lineItems.quantity",),
    )
