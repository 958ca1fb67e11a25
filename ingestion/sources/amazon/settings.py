"""Amazon SP-API: marketplaces, per-operation limits, the Finances event lists read, reports, the rate-limit header."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

from ingestion.http.pacing import Reading

MARKETPLACES = ("ATVPDKIKX0DER", "A1F83G8C2ARO7P", "A1PA6795UKMFR9")  # US, UK, DE
# listFinancialEvents: PostedAfter and PostedBefore at most 180 days apart
MAX_POSTED_SPAN = timedelta(days=180)
# event list -> (event_type, item list: the order events' items, None for the events without items)
EVENT_LISTS = {
    "ShipmentEventList": ("shipment", "ShipmentItemList"),
    "RefundEventList": ("refund", "ShipmentItemAdjustmentList"),
    "ServiceFeeEventList": ("service_fee", None),
    "AdjustmentEventList": ("adjustment", None),
    "ProductAdsPaymentEventList": ("product_ads_payment", None),
    "RetrochargeEventList": ("retrocharge", None),
    "FBALiquidationEventList": ("fba_liquidation", None),
}
ORDER_EVENT_ITEMS = {event_type: items for event_type, items in EVENT_LISTS.values() if items}
# an order event item's money lists as (line_kind, lists, type field, amount field)
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
SETTLEMENT_REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
# Reports 2021-06-30 usage plans
CREATE_REPORT_LIMIT = (15, 0.0167)
GET_REPORT_LIMIT = (15, 2.0)
GET_REPORTS_LIMIT = (10, 0.0222)
CANCEL_REPORT_LIMIT = (10, 0.0222)
GET_REPORT_DOCUMENT_LIMIT = (15, 0.0167)
# the order report by last update: at most 30 days a request, order data of about the last two years
ORDERS_REPORT = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
ORDERS_REPORT_MAX_RANGE = timedelta(days=30)
ORDERS_REPORT_LOOKBACK = timedelta(days=730)
ORDERS_REPORT_LOOKBACK_MARGIN = timedelta(days=1)  # the API's clock moves on while the windows are requested
# the cost rule's assumption for one report's processing (Amazon publishes none): seconds in the queue + rows/s
REPORT_PROCESSING_S = 30.0
REPORT_ROWS_PER_S = 500.0
ROWS_PER_ORDER = 1.6  # order report rows (items) per order, for the estimate
# flat-file values -> Orders v0
REPORT_ORDER_STATUS = {"Cancelled": "Canceled"}
MARKETPLACE_BY_CHANNEL = {
    "Amazon.com": "ATVPDKIKX0DER",
    "Amazon.co.uk": "A1F83G8C2ARO7P",
    "Amazon.de": "A1PA6795UKMFR9",
}
# dlt nested tables (child tables) the warehouse reads
NESTED_TABLES = ("orders__order_items", "settlements")  # settlements: the settlement resource's summary table


def rate_limit_reading(headers: Mapping[str, str]) -> Reading:
    """``x-amzn-RateLimit-Limit``: the operation's sustained requests per second (burst is not sent)."""
    try:
        return None, float(headers["x-amzn-RateLimit-Limit"]), None
    except (KeyError, ValueError):
        return None, None, None
