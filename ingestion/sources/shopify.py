"""Shopify Admin REST source: orders (with line items, discounts, shipping lines, refunds) into ``raw_shopify``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterator

import dlt
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from dlt.sources.helpers.rest_client.paginators import HeaderLinkPaginator

from ingestion.client import pages, rest_client
from ingestion.contracts import Contract, amount_present, checked, currency_known, each, quantity_positive
from ingestion.incremental import UpdateCursor, utc_iso
from ingestion.pacing import Pacer, shopify_reading

API_VERSION = "2024-10"


def orders_contract() -> Contract:
    return Contract("shopify", "orders", "id", checks=(
        currency_known("currency"), currency_known("presentment_currency"), amount_present("total_price"),
        each("line_items", quantity_positive("quantity"), amount_present("price")),
    ), integer_fields=("line_items.quantity",))


@dlt.source(name="shopify", max_table_nesting=2)
def shopify_source(
    shop_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    start_date: str = "2025-01-01T00:00:00Z",
    page_size: int = 250,
    lookback_minutes: int = 60,
) -> Any:
    client = rest_client(
        "shopify", "orders", f"{shop_url}/admin/api/{API_VERSION}",
        auth=APIKeyAuth(name="X-Shopify-Access-Token", api_key=access_token, location="header"),
        paginator=HeaderLinkPaginator(),
        pacer=Pacer(capacity=40, refill_per_s=2.0, read_headers=shopify_reading),  # REST Admin API bucket
    )

    @dlt.resource(name="orders", primary_key="id", write_disposition="merge")
    def orders() -> Iterator[list[dict[str, Any]]]:
        cursor = UpdateCursor(start_date, timedelta(minutes=lookback_minutes))
        contract = orders_contract()
        params = {"status": "any", "limit": page_size, "updated_at_min": utc_iso(cursor.start)}
        for page in pages(client, "orders.json", params=params, data_selector="orders"):
            for order in page:
                cursor.observe(order["updated_at"])
            yield from checked(contract, page)
        cursor.commit()

    return orders
