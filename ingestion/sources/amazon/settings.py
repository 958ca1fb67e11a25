"""Amazon SP-API: marketplaces, per-operation limits, the Finances event lists read, and the rate-limit header."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

from ingestion.http.pacing import Reading

MARKETPLACES = ("ATVPDKIKX0DER", "A1F83G8C2ARO7P", "A1PA6795UKMFR9")  # US, UK, DE
# listFinancialEvents: PostedAfter and PostedBefore at most 180 days apart
MAX_POSTED_SPAN = timedelta(days=180)
# event list -> (event_type, item list); item list -> its money lists as (line_kind, list, type field, amount field)
EVENT_LISTS = {
    "ShipmentEventList": ("shipment", "ShipmentItemList"),
    "RefundEventList": ("refund", "ShipmentItemAdjustmentList"),
}
MONEY_LISTS = (
    ("charge", ("ItemChargeList", "ItemChargeAdjustmentList"), "ChargeType", "ChargeAmount"),
    ("fee", ("ItemFeeList", "ItemFeeAdjustmentList"), "FeeType", "FeeAmount"),
    ("promotion", ("PromotionList", "PromotionAdjustmentList"), "PromotionType", "PromotionAmount"),
)
CENT = Decimal("0.01")
# per-operation token buckets as SP-API publishes them: (burst, requests per second)
GET_ORDERS_LIMIT = (20, 0.0167)
GET_ORDER_ITEMS_LIMIT = (30, 0.5)
LIST_FINANCIAL_EVENTS_LIMIT = (30, 0.5)
# dlt nested tables (child tables) the warehouse reads
NESTED_TABLES = ("orders__order_items",)


def rate_limit_reading(headers: Mapping[str, str]) -> Reading:
    """``x-amzn-RateLimit-Limit``: the operation's sustained requests per second (burst is not sent)."""
    try:
        return None, float(headers["x-amzn-RateLimit-Limit"]), None
    except (KeyError, ValueError):
        return None, None, None
