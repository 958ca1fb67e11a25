"""Finances v0 as the warehouse loads it: exact amounts (never floats) and one row per money line of an event."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import requests

from ingestion.sources.amazon.settings import MONEY_LISTS, ORDER_EVENT_ITEMS


def exact_json(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    """Response hook: ``response.json()`` parses every JSON number with a fraction as ``Decimal``.

    Finances' ``CurrencyAmount`` is a JSON number; ``requests`` would make it a float (``0.1 + 0.2``
    money). dlt's ``paginate`` reads both the page data and the ``NextToken`` through ``response.json()``,
    so replacing it on the response object keeps floats out of the whole path.
    """
    response.raise_for_status()  # (ResilientSession already raised or retried every error status)
    body = json.loads(response.content, parse_float=Decimal)
    response.json = lambda **_: body  # type: ignore[method-assign]
    return response


def _exact_amount(value: Any) -> Decimal | None:
    """A ``CurrencyAmount`` as an exact ``Decimal`` (a numeric string is accepted); None when missing/invalid."""
    if isinstance(value, float):  # exact_json never produces one: guard against a parse path that would
        raise TypeError("CurrencyAmount was parsed as a float: money would not be exact")
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(value) if isinstance(value, (int, Decimal)) else Decimal(str(value).strip())
    except ArithmeticError:
        return None
    return amount if amount.is_finite() else None


def posted_date(event: dict[str, Any]) -> str | None:
    """The event's posting time as sent (``ProductAdsPaymentEvent`` spells it ``postedDate``)."""
    return event.get("PostedDate") or event.get("postedDate")


def event_reference(event: dict[str, Any]) -> str | None:
    """What identifies an event besides its type and time: its order, invoice, transaction or removal order."""
    items = event.get("AdjustmentItemList") or [{}]
    return (
        event.get("AmazonOrderId")
        or event.get("invoiceId")
        or items[0].get("TransactionNumber")
        or event.get("OriginalRemovalOrderId")
        or event.get("SellerSKU")
        or "|".join(str(f.get("FeeType")) for f in event.get("FeeList") or [])
        or None
    )


def financial_event_key(event: dict[str, Any]) -> str:
    return f"{event.get('EventType')}:{event_reference(event)}:{posted_date(event)}"


def _line(
    event: dict[str, Any], item_ref: Any, kind: str, line_type: Any, position: int, money: Any, **extra: Any
) -> dict[str, Any]:
    """One raw row; ``event_line_id`` hashes what identifies the line (events carry no id)."""
    money = money if isinstance(money, dict) else {}
    parts = [event["EventType"], event_reference(event), posted_date(event), item_ref, kind, line_type, position]
    if event["EventType"] not in ORDER_EVENT_ITEMS:
        parts.append(money.get("CurrencyCode"))  # a SKU's fees in two marketplaces: the same otherwise
    key = "|".join(str(p) for p in parts)
    row = {
        "event_line_id": hashlib.sha256(key.encode()).hexdigest()[:32],
        "event_type": event["EventType"],
        "amazon_order_id": event.get("AmazonOrderId"),
        "marketplace_name": event.get("MarketplaceName"),
        "posted_date": posted_date(event),
        "order_item_id": None,
        "order_adjustment_item_id": None,
        "seller_sku": None,
        "quantity": None,
        "line_kind": kind,
        "line_type": line_type,
        "promotion_id": None,
        "event_reference": event_reference(event),
        "amount": money.get("CurrencyAmount"),
        "currency": money.get("CurrencyCode"),
    }
    row.update(extra)
    return row


def _order_event_lines(event: dict[str, Any], item_list: str) -> list[dict[str, Any]]:
    lines = []
    for item_index, item in enumerate(event.get(item_list) or []):
        order_item_id, adjustment_id = item.get("OrderItemId"), item.get("OrderAdjustmentItemId")
        item_ref = order_item_id or adjustment_id or f"{item.get('SellerSKU')}#{item_index}"
        for line_kind, list_names, type_field, amount_field in MONEY_LISTS:
            for list_name in list_names:
                for position, entry in enumerate(item.get(list_name) or []):
                    lines.append(
                        _line(
                            event,
                            item_ref,
                            line_kind,
                            entry.get(type_field),
                            position,
                            entry.get(amount_field),
                            order_item_id=order_item_id,
                            order_adjustment_item_id=adjustment_id,
                            seller_sku=item.get("SellerSKU"),
                            quantity=item.get("QuantityShipped"),
                            promotion_id=entry.get("PromotionId"),
                        )
                    )
    return lines


def _quantity(value: Any) -> int | None:
    """``AdjustmentItem.Quantity`` is a string in the model."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.strip().lstrip("-").isdigit() else None


def _other_event_lines(event: dict[str, Any]) -> list[dict[str, Any]]:
    kind = event["EventType"]
    if kind == "service_fee":
        sku = event.get("SellerSKU")
        return [
            _line(event, sku, "fee", fee.get("FeeType"), n, fee.get("FeeAmount"), seller_sku=sku)
            for n, fee in enumerate(event.get("FeeList") or [])
        ]
    if kind == "adjustment":
        items = event.get("AdjustmentItemList") or []
        if not items:  # an adjustment without items: its total is the line
            return [_line(event, None, "other", event.get("AdjustmentType"), 0, event.get("AdjustmentAmount"))]
        return [
            _line(
                event,
                item.get("SellerSKU"),
                "other",
                event.get("AdjustmentType"),
                n,
                item.get("TotalAmount"),
                seller_sku=item.get("SellerSKU"),
                quantity=_quantity(item.get("Quantity")),
            )
            for n, item in enumerate(items)
        ]
    if kind == "product_ads_payment":
        return [_line(event, None, "fee", "ProductAdsPayment", 0, event.get("transactionValue"))]
    if kind == "retrocharge":
        return [
            _line(event, None, "other", name, 0, event.get(name))
            for name in ("BaseTax", "ShippingTax")
            if event.get(name) is not None
        ]
    if kind == "fba_liquidation":
        return [
            _line(event, None, "other", "LiquidationProceeds", 0, event.get("LiquidationProceedsAmount")),
            _line(event, None, "fee", "LiquidationFee", 0, event.get("LiquidationFeeAmount")),
        ]
    return []


def financial_event_lines(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The money lines of one event (``EventType`` set by the reader), in the API's order; see the resource."""
    item_list = ORDER_EVENT_ITEMS.get(event["EventType"])
    return _order_event_lines(event, item_list) if item_list else _other_event_lines(event)


SHIPMENT_ITEM_MONEY = {"Principal": "ItemPrice", "Tax": "ItemTax", "ShippingCharge": "ShippingPrice"}


def shipped_order_items(events: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The ``OrderItems`` of each order as its ``ShipmentEvent``\\ s give them, in the getOrderItems fields
    staging reads: per ``OrderItemId`` (first-seen order) ``SellerSKU``, ``QuantityOrdered`` = Σ
    ``QuantityShipped``, ``ItemPrice`` / ``ItemTax`` / ``ShippingPrice`` = Σ of the Principal / Tax /
    ShippingCharge charges, ``PromotionDiscount`` = −Σ ``PromotionAmount``; amounts as strings (exact, as
    getOrderItems sends them). A shipment event carries no ASIN and no title: both are left out.

    Used for history older than the order reports' lookback, where getOrderItems would cost one call per order
    (0.5/s); the caller keeps an order's derived items only when they account for every unit the order says
    shipped. An order with an item the events do not describe fully (no ``OrderItemId``, no currency, a
    non-numeric quantity) is left out, so it is read through getOrderItems."""
    orders: dict[str, dict[str, dict[str, Any]]] = {}
    broken: set[str] = set()
    for event in events:
        order_id = event.get("AmazonOrderId")
        if not order_id:
            continue
        items = orders.setdefault(str(order_id), {})
        for entry in event.get("ShipmentItemList") or []:
            item_id, quantity = entry.get("OrderItemId"), entry.get("QuantityShipped")
            charges = entry.get("ItemChargeList") or []
            currencies = {(c.get("ChargeAmount") or {}).get("CurrencyCode") for c in charges}
            if not item_id or not isinstance(quantity, int) or len(currencies) != 1 or None in currencies:
                broken.add(str(order_id))
                continue
            item = items.setdefault(
                str(item_id),
                {
                    "OrderItemId": str(item_id),
                    "SellerSKU": entry.get("SellerSKU"),
                    "QuantityOrdered": 0,
                    "_currency": currencies.pop(),
                    **{field: Decimal("0.00") for field in (*SHIPMENT_ITEM_MONEY.values(), "PromotionDiscount")},
                },
            )
            item["QuantityOrdered"] += quantity
            for charge in charges:
                field = SHIPMENT_ITEM_MONEY.get(charge.get("ChargeType"))
                amount = _exact_amount((charge.get("ChargeAmount") or {}).get("CurrencyAmount"))
                if field and amount is not None:
                    item[field] += amount
            for promotion in entry.get("PromotionList") or []:
                amount = _exact_amount((promotion.get("PromotionAmount") or {}).get("CurrencyAmount"))
                if amount is not None:
                    item["PromotionDiscount"] -= amount
    out: dict[str, list[dict[str, Any]]] = {}
    for order_id, items in orders.items():
        if order_id in broken or not items:
            continue
        out[order_id] = []
        for item in items.values():
            currency = item.pop("_currency")
            for field in (*SHIPMENT_ITEM_MONEY.values(), "PromotionDiscount"):
                item[field] = {"CurrencyCode": currency, "Amount": str(item[field].quantize(Decimal("0.01")) + 0)}
            out[order_id].append(item)
    return out
