"""What Shopify records must satisfy before they enter ``raw_shopify`` (else: quarantine)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ingestion.contracts import Check, Contract, amount_present, currency_known, each, lookup, quantity_positive


def present(path: str) -> Check:
    def check(record: dict[str, Any]) -> str | None:
        return None if lookup(record, path) not in (None, "") else f"missing {path}"

    return check


def non_negative_decimal_string(path: str) -> Check:
    """Shopify money: a decimal string (``"4.49"``), finite and not negative."""

    def check(record: dict[str, Any]) -> str | None:
        value = lookup(record, path)
        try:
            amount = Decimal(value) if isinstance(value, str) else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount < 0:
            return f"{path} {value!r} is not a non-negative decimal string"
        return None

    return check


def orders_contract() -> Contract:
    return Contract(
        "shopify",
        "orders",
        "id",
        checks=(
            currency_known("currency"),
            currency_known("presentment_currency"),
            amount_present("total_price"),
            each("line_items", quantity_positive("quantity"), amount_present("price")),
        ),
        integer_fields=("line_items.quantity",),
    )


def customers_contract() -> Contract:
    return Contract("shopify", "customers", "id", checks=(present("id"), currency_known("currency")))


def products_contract() -> Contract:
    return Contract(
        "shopify",
        "products",
        "id",
        checks=(
            present("id"),
            each("variants", present("id"), non_negative_decimal_string("price")),
        ),
    )


def checkouts_contract() -> Contract:
    """Abandoned checkouts: an id, a known currency, money as decimal strings, whole positive quantities."""
    return Contract(
        "shopify",
        "abandoned_checkouts",
        "id",
        checks=(
            present("id"),
            present("updated_at"),
            currency_known("currency"),
            non_negative_decimal_string("subtotal_price"),
            non_negative_decimal_string("total_price"),
            each("line_items", quantity_positive("quantity"), non_negative_decimal_string("price")),
        ),
        integer_fields=("line_items.quantity",),
    )


# --- GraphQL shapes (the source since 2026-12) ------------------------------------------------------------------
# Ids in quarantine are the numeric legacyResourceId (as the REST ids and the sandbox truth name records).


def graphql_orders_contract() -> Contract:
    return Contract(
        "shopify",
        "orders",
        "legacyResourceId",
        checks=(
            present("id"),
            currency_known("currencyCode"),
            currency_known("presentmentCurrencyCode"),
            amount_present("totalPriceSet.shopMoney.amount"),
            each("lineItems", quantity_positive("quantity"), amount_present("originalUnitPriceSet.shopMoney.amount")),
        ),
        integer_fields=("lineItems.quantity",),
    )


def graphql_customers_contract() -> Contract:
    return Contract(
        "shopify", "customers", "legacyResourceId", checks=(present("id"), currency_known("amountSpent.currencyCode"))
    )


def graphql_products_contract() -> Contract:
    return Contract(
        "shopify",
        "products",
        "legacyResourceId",
        checks=(present("id"), each("variants", present("id"), non_negative_decimal_string("price"))),
    )


def graphql_checkouts_contract() -> Contract:
    """Abandoned checkouts: an id, known currencies, money as decimal strings, whole positive quantities."""
    return Contract(
        "shopify",
        "abandoned_checkouts",
        "id",
        checks=(
            present("id"),
            present("updatedAt"),
            currency_known("totalPriceSet.shopMoney.currencyCode"),
            non_negative_decimal_string("subtotalPriceSet.shopMoney.amount"),
            non_negative_decimal_string("totalPriceSet.shopMoney.amount"),
            each(
                "lineItems",
                quantity_positive("quantity"),
                non_negative_decimal_string("originalUnitPriceSet.shopMoney.amount"),
            ),
        ),
        integer_fields=("lineItems.quantity",),
    )
