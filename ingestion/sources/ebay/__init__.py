"""eBay Sell Fulfillment source: orders (with line items and payment refunds) into ``raw_ebay``.

Authentication is eBay's OAuth user grant: the seller's long-lived refresh token is traded at
``/identity/v1/oauth2/token`` (client id and secret as HTTP Basic) for a 2-hour access token, sent as
``Authorization: Bearer`` and renewed before it expires.

Orders are read incrementally by ``lastModifiedDate`` with ``filter=lastmodifieddate:[start..]``: the
start is the last committed cursor less the lookback, the end is left open. eBay refuses an end in the
future (by *its* clock, which is not ours: the sandbox runs on a world clock), and an open end keeps
the result set growing-only while we page (an order that changes stays in it, since its modification
date only increases). eBay sorts the result by ``creationDate`` descending, so with offset paging a
record entering the set during a run shifts the later ones back: pages can repeat a record (deduped by
the merge on ``orderId``) but never skip one. Pages follow eBay's ``next`` href.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator

from ingestion.http.auth import RefreshTokenAuth
from ingestion.http.client import pages, rest_client
from ingestion.http.pacing import Pacer
from ingestion.incremental import UpdateCursor, incremental_pages
from ingestion.sources.ebay.contracts import orders_contract
from ingestion.sources.ebay.settings import (
    MAX_PAGE_SIZE,
    NESTED_TABLES,
    ORDERS_CAPACITY,
    ORDERS_PATH,
    ORDERS_PER_S,
    TOKEN_PATH,
)

__all__ = ["NESTED_TABLES", "TOKEN_PATH", "ebay_oauth", "ebay_source", "ebay_time", "orders_contract"]


def ebay_time(at: datetime) -> str:
    """eBay's filter timestamp: UTC with milliseconds and ``Z`` (``2025-01-01T00:00:00.000Z``)."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def ebay_oauth(token_url: str, client_id: str, client_secret: str, refresh_token: str) -> RefreshTokenAuth:
    """eBay OAuth user token: client credentials in the Basic header, the token as a Bearer."""
    return RefreshTokenAuth("ebay", token_url, client_id, client_secret, refresh_token, basic_client_auth=True)


# Nesting 2: money objects ({"value", "currency"}, up to pricingSummary.total) flatten into
# ``<field>__value``/``<field>__currency`` columns; lineItems and paymentSummary.refunds become the nested
# tables the warehouse reads (orders__line_items, orders__payment_summary__refunds), and
# orders__line_items__refunds for the SKU of a refund only (a line refund repeats its paymentSummary.refunds
# entry: its amount is counted once, from there). Also loaded, as received, but not read:
# orders__payment_summary__payments and orders__line_items__applied_promotions.
@dlt.source(name="ebay", max_table_nesting=2)
def ebay_source(
    base_url: str = dlt.config.value,
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    refresh_token: str = dlt.secrets.value,
    start_date: str = "2023-11-01T00:00:00.000Z",
    lookback_minutes: int = 60,
    page_size: int = MAX_PAGE_SIZE,
) -> Any:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE} (eBay's getOrders limit), not {page_size}")
    base = base_url.rstrip("/")
    auth = ebay_oauth(f"{base}/{TOKEN_PATH}", client_id, client_secret, refresh_token)
    client = rest_client(
        "ebay",
        "orders",
        base,
        auth=auth,
        paginator=JSONLinkPaginator(next_url_path="next"),
        pacer=Pacer(capacity=ORDERS_CAPACITY, refill_per_s=ORDERS_PER_S),
    )

    # A seller promotion is optional on an order: declared, so its columns exist even before the first one.
    @dlt.resource(
        name="orders",
        primary_key="order_id",
        write_disposition="merge",
        columns={
            "pricing_summary__price_discount__value": {"data_type": "text", "nullable": True},
            "pricing_summary__price_discount__currency": {"data_type": "text", "nullable": True},
        },
    )
    def orders() -> Iterator[list[dict[str, Any]]]:
        """eBay orders changed since the cursor, with their line items and payment refunds (nested tables)."""
        cursor = UpdateCursor(start_date, timedelta(minutes=lookback_minutes))
        contract = orders_contract()
        params = {"filter": f"lastmodifieddate:[{ebay_time(cursor.start)}..]", "limit": page_size}
        yield from incremental_pages(
            cursor,
            pages(client, ORDERS_PATH, params=params, data_selector="orders"),
            lambda order: order["lastModifiedDate"],
            contract,
        )

    return orders
