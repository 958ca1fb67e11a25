"""Shopify Admin REST source into ``raw_shopify``: orders (with line items, discounts, shipping lines, refunds),
customers and products (with their variants).

All three are Shopify list endpoints read the same way (``updated_since``): pages through the ``Link`` header,
incremental on ``updated_at`` with a lookback (Shopify timestamps carry local UTC offsets, so the cursor
compares instants), records checked against a contract on the way in, merged on ``id``. One pacer serves
the three: Shopify's REST Admin leaky bucket is per shop (app × store), not per endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import dlt
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from dlt.sources.helpers.rest_client.paginators import HeaderLinkPaginator

from ingestion.contracts import Contract
from ingestion.http.client import pages, rest_client
from ingestion.http.pacing import Pacer
from ingestion.incremental import UpdateCursor, incremental_pages, utc_iso
from ingestion.sources.shopify.contracts import customers_contract, orders_contract, products_contract
from ingestion.sources.shopify.settings import (
    API_VERSION,
    BUCKET_SIZE,
    LEAK_PER_S,
    MAX_PAGE_SIZE,
    NESTED_TABLES,
    rate_limit_reading,
)

__all__ = ["NESTED_TABLES", "shopify_source"]


def _nullable(data_type: str, *names: str) -> dict[str, dict[str, Any]]:
    """Hints for fields the store leaves null, so their columns exist, typed (fresh dicts: dlt edits them)."""
    return {name: {"name": name, "data_type": data_type, "nullable": True} for name in names}


@dlt.source(name="shopify", max_table_nesting=2)
def shopify_source(
    shop_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    start_date: str = "2023-11-01T00:00:00Z",
    page_size: int = MAX_PAGE_SIZE,
    lookback_minutes: int = 60,
) -> Any:
    base_url = f"{shop_url}/admin/api/{API_VERSION}"
    auth = APIKeyAuth(name="X-Shopify-Access-Token", api_key=access_token, location="header")
    pacer = Pacer(capacity=BUCKET_SIZE, refill_per_s=LEAK_PER_S, read_headers=rate_limit_reading)  # one per shop
    lookback = timedelta(minutes=lookback_minutes)

    def updated_since(resource: str, contract: Contract, first_load_since: str | None, **filters: Any) -> Iterator[Any]:
        """Records of ``{resource}.json`` updated since the last run (less the lookback), checked by ``contract``.

        The first run reads from ``first_load_since``, or everything when it is None. The cursor only moves
        once the last page was read, with the load that carries the records (dlt resource state).
        """
        client = rest_client("shopify", resource, base_url, auth=auth, paginator=HeaderLinkPaginator(), pacer=pacer)
        cursor = UpdateCursor(first_load_since or start_date, lookback)
        params: dict[str, Any] = {**filters, "limit": page_size}
        if cursor.previous is not None or first_load_since is not None:
            params["updated_at_min"] = utc_iso(cursor.start)
        yield from incremental_pages(
            cursor,
            pages(client, f"{resource}.json", params=params, data_selector=resource),
            lambda record: record.get("updated_at"),
            contract,
        )

    @dlt.resource(name="orders", primary_key="id", write_disposition="merge")
    def orders() -> Iterator[Any]:
        """Shopify orders of every status since ``start_date``, with line items, refunds and shipping lines."""
        yield from updated_since("orders", orders_contract(), start_date, status="any")

    @dlt.resource(
        name="customers",
        primary_key="id",
        write_disposition="merge",
        columns=_nullable("text", "note", "phone", "multipass_identifier"),
    )
    def customers() -> Iterator[Any]:
        """Shopify customers (PII: email and names), all of them; updated with each change of their orders."""
        yield from updated_since("customers", customers_contract(), None)

    @dlt.resource(
        name="products",
        primary_key="id",
        write_disposition="merge",
        columns={**_nullable("text", "template_suffix"), **_nullable("json", "image")},
        nested_hints={"variants": {"columns": _nullable("text", "barcode", "compare_at_price", "option2", "option3")}},
    )
    def products() -> Iterator[Any]:
        """Shopify products, all of them (listed before the history starts too), variants as products__variants."""
        yield from updated_since("products", products_contract(), None)

    return orders, customers, products
