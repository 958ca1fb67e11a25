"""The former Shopify source, on the Admin REST API 2024-10 (legacy since October 2024), kept for one release:
the benchmarks compare it with the GraphQL source side by side, and a store can be compared record by record
while moving. dbt reads only the GraphQL shapes (``__init__.py``): do not load this into the warehouse's
``raw_shopify``; load it into a dataset of its own (``load("shopify", source=shopify_rest_source(...))`` with a
separate DuckDB file). It goes in the next release.

Shopify Admin REST source: orders (with line items, discounts, shipping lines, refunds,
and the landing/referring site of the web session that placed them), customers, products (with their variants)
and abandoned checkouts (``checkouts.json``, with their line items).

All four are Shopify list endpoints read the same way (``updated_since``): pages through the ``Link`` header,
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
from ingestion.sources.shopify.contracts import (
    checkouts_contract,
    customers_contract,
    orders_contract,
    products_contract,
)
from ingestion.sources.shopify.settings import (
    API_VERSION,
    BUCKET_SIZE,
    CHECKOUT_STATUSES,
    LEAK_PER_S,
    MAX_PAGE_SIZE,
    NESTED_TABLES,
    rate_limit_reading,
)

__all__ = ["NESTED_TABLES", "shopify_rest_source"]


def _nullable(data_type: str, *names: str) -> dict[str, dict[str, Any]]:
    """Hints for fields the store leaves null, so their columns exist, typed (fresh dicts: dlt edits them)."""
    return {name: {"name": name, "data_type": data_type, "nullable": True} for name in names}


@dlt.source(name="shopify", max_table_nesting=2)
def shopify_rest_source(
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

    def updated_since(
        resource: str,
        contract: Contract,
        first_load_since: str | None,
        statuses: tuple[str | None, ...] = (None,),
        **filters: Any,
    ) -> Iterator[Any]:
        """Records of ``{resource}.json`` updated since the last run (less the lookback), checked by ``contract``.

        The first run reads from ``first_load_since``, or everything when it is None. ``statuses``: one listing
        per ``status`` value (None: no status parameter), read in one window under one cursor. The cursor only
        moves once the last page was read, with the load that carries the records (dlt resource state).
        """
        client = rest_client("shopify", resource, base_url, auth=auth, paginator=HeaderLinkPaginator(), pacer=pacer)
        cursor = UpdateCursor(first_load_since or start_date, lookback)
        params: dict[str, Any] = {**filters, "limit": page_size}
        if cursor.previous is not None or first_load_since is not None:
            params["updated_at_min"] = utc_iso(cursor.start)
        listings = (
            pages(
                client,
                f"{resource}.json",
                params={**params, **({"status": status} if status else {})},
                data_selector=resource,
            )
            for status in statuses
        )
        yield from incremental_pages(
            cursor,
            (page for listing in listings for page in listing),
            lambda record: record.get("updated_at"),
            contract,
        )

    @dlt.resource(
        name="orders",
        primary_key="id",
        write_disposition="merge",
        columns=_nullable("text", "landing_site", "referring_site", "landing_site_ref", "source_name"),
    )
    def orders() -> Iterator[Any]:
        """Shopify orders of every status since ``start_date``, with line items, refunds and shipping lines, and
        the web session's ``landing_site`` (path + query string: UTM parameters) and ``referring_site``."""
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

    @dlt.resource(
        name="abandoned_checkouts",
        primary_key="id",
        write_disposition="merge",
        columns={
            **_nullable("text", "landing_site", "referring_site", "customer__email", "gateway", "note", "phone"),
            **_nullable("text", "sms_marketing_phone", "source_identifier", "source_url", "total_duties"),
            **_nullable("timestamp", "completed_at", "closed_at"),
            **_nullable("bigint", "customer__id", "device_id", "location_id"),
        },
        nested_hints={
            "line_items": {
                "columns": {
                    **_nullable("text", "compare_at_price", "properties"),
                    **_nullable("bigint", "destination_location_id", "origin_location_id"),
                }
            }
        },
    )
    def abandoned_checkouts() -> Iterator[Any]:
        """Shopify abandoned checkouts (``checkouts.json``, open and closed) since ``start_date``, line items as
        abandoned_checkouts__line_items; PII (email, the customer's names) stays in raw and staging hashes it."""
        yield from updated_since("checkouts", checkouts_contract(), start_date, CHECKOUT_STATUSES)

    return orders, customers, products, abandoned_checkouts
