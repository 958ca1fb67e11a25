"""Shopify Admin REST: version, limits and how its rate-limit header reads."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ingestion.http.pacing import Reading

API_VERSION = "2024-10"
MAX_PAGE_SIZE = 250  # `limit` of the list endpoints
# the shop's REST Admin leaky bucket (per app × store, shared by every endpoint): 40 requests, 2 per second
BUCKET_SIZE, LEAK_PER_S = 40, 2.0
RESOURCES = ("orders", "customers", "products", "checkouts")
# dlt nested tables (child tables) the warehouse reads
NESTED_TABLES = (
    "orders__line_items",
    "orders__refunds",
    "orders__refunds__refund_line_items",
    "products__variants",
    "abandoned_checkouts__line_items",
)
# abandoned checkouts list one status at a time (``open`` by default): both are read, so none is missed
CHECKOUT_STATUSES = ("open", "closed")


def rate_limit_reading(headers: Mapping[str, str]) -> Reading:
    """``X-Shopify-Shop-Api-Call-Limit: 32/40``: a leaky bucket that drains 1/20 of its size per second."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", headers.get("X-Shopify-Shop-Api-Call-Limit", ""))
    if not match:
        return None, None, None
    used, capacity = float(match.group(1)), float(match.group(2))
    return capacity, capacity / 20.0, capacity - used


# --- GraphQL Admin API (the source's API since 2026-12: ingestion/sources/shopify/__init__.py) -----------------
GRAPHQL_API_VERSION = "2026-10"  # the current stable version; Shopify supports each for a year
# The Standard plan's bucket (points); the source follows the bucket each response reports (throttleStatus).
GRAPHQL_BUCKET, GRAPHQL_RESTORE_PER_S = 2000.0, 100.0
MAX_QUERY_COST = 1000  # a query requesting more is refused (MAX_COST_EXCEEDED): the page size is halved
MAX_CONCURRENT_BULK = 5  # bulk query operations an app may run at once per shop (2026-01+)
TOKEN_PATH = "/admin/oauth/access_token"
# dlt nested tables (child tables) the warehouse reads, GraphQL shapes (connections and lists of the nodes); the
# others (an order's discount applications, shipping lines, transactions...) are loaded, not yet modeled
GRAPHQL_NESTED_TABLES = (
    "orders__line_items",
    "orders__refunds",
    "orders__refunds__refund_line_items",
    "products__variants",
    "abandoned_checkouts__line_items",
    "abandoned_checkouts__custom_attributes",
)
