"""Finances v0 as the warehouse loads it: exact amounts (never floats) and one row per money line of an event."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import requests

from ingestion.sources.amazon.settings import EVENT_LISTS, MONEY_LISTS


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


def financial_event_key(event: dict[str, Any]) -> str:
    return f"{event.get('EventType')}:{event.get('AmazonOrderId')}:{event.get('PostedDate')}"


def financial_event_lines(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The money lines of one event (``EventType`` set by the reader), in the API's order; see the resource."""
    event_type = event["EventType"]
    item_list = EVENT_LISTS["ShipmentEventList" if event_type == "shipment" else "RefundEventList"][1]
    lines = []
    for item_index, item in enumerate(event.get(item_list) or []):
        order_item_id, adjustment_id = item.get("OrderItemId"), item.get("OrderAdjustmentItemId")
        item_ref = order_item_id or adjustment_id or f"{item.get('SellerSKU')}#{item_index}"
        for line_kind, list_names, type_field, amount_field in MONEY_LISTS:
            for list_name in list_names:
                for position, entry in enumerate(item.get(list_name) or []):
                    money = entry.get(amount_field) or {}
                    key = "|".join(
                        str(p)
                        for p in (
                            event_type,
                            event.get("AmazonOrderId"),
                            event.get("PostedDate"),
                            item_ref,
                            line_kind,
                            entry.get(type_field),
                            position,
                        )
                    )
                    lines.append(
                        {
                            "event_line_id": hashlib.sha256(key.encode()).hexdigest()[:32],
                            "event_type": event_type,
                            "amazon_order_id": event.get("AmazonOrderId"),
                            "marketplace_name": event.get("MarketplaceName"),
                            "posted_date": event.get("PostedDate"),
                            "order_item_id": order_item_id,
                            "order_adjustment_item_id": adjustment_id,
                            "seller_sku": item.get("SellerSKU"),
                            "quantity": item.get("QuantityShipped"),
                            "line_kind": line_kind,
                            "line_type": entry.get(type_field),
                            "promotion_id": entry.get("PromotionId"),
                            "amount": money.get("CurrencyAmount"),
                            "currency": money.get("CurrencyCode"),
                        }
                    )
    return lines
