"""Shopify Admin REST source into ``raw_shopify``: orders (with line items, discounts, shipping lines, refunds),
customers and products (with their variants).

All three are Shopify list endpoints read the same way (``updated_since``): pages through the ``Link`` header,
incremental on ``updated_at`` with a lookback (Shopify timestamps carry local UTC offsets, so the cursor
compares instants), records checked against a contract on the way in, merged on ``id``. One pacer serves
the three: Shopify's REST Admin leaky bucket is per shop (app × store), not per endpoint.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator

import dlt
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from dlt.sources.helpers.rest_client.paginators import HeaderLinkPaginator

from ingestion.client import pages, rest_client
from ingestion.contracts import (
    Check, Contract, amount_present, checked, currency_known, each, lookup, quantity_positive,
)
from ingestion.incremental import UpdateCursor, utc_iso
from ingestion.pacing import Pacer, shopify_reading

API_VERSION = "2024-10"


def _nullable(data_type: str, *names: str) -> dict[str, dict[str, Any]]:
    """Hints for fields the store leaves null, so their columns exist, typed (fresh dicts: dlt edits them)."""
    return {name: {"name": name, "data_type": data_type, "nullable": True} for name in names}


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
    return Contract("shopify", "orders", "id", checks=(
        currency_known("currency"), currency_known("presentment_currency"), amount_present("total_price"),
        each("line_items", quantity_positive("quantity"), amount_present("price")),
    ), integer_fields=("line_items.quantity",))


def customers_contract() -> Contract:
    return Contract("shopify", "customers", "id", checks=(present("id"), currency_known("currency")))


def products_contract() -> Contract:
    return Contract("shopify", "products", "id", checks=(
        present("id"), each("variants", present("id"), non_negative_decimal_string("price")),
    ))


@dlt.source(name="shopify", max_table_nesting=2)
def shopify_source(
    shop_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    start_date: str = "2025-01-01T00:00:00Z",
    page_size: int = 250,
    lookback_minutes: int = 60,
) -> Any:
    base_url = f"{shop_url}/admin/api/{API_VERSION}"
    auth = APIKeyAuth(name="X-Shopify-Access-Token", api_key=access_token, location="header")
    pacer = Pacer(capacity=40, refill_per_s=2.0, read_headers=shopify_reading)  # the shop's REST Admin bucket
    lookback = timedelta(minutes=lookback_minutes)

    def updated_since(resource: str, contract: Contract, first_load_since: str | None,
                      **filters: Any) -> Iterator[Any]:
        """Records of ``{resource}.json`` updated since the last run (less the lookback), checked by ``contract``.

        The first run reads from ``first_load_since``, or everything when it is None. The cursor only moves
        once the last page was read, with the load that carries the records (dlt resource state).
        """
        client = rest_client("shopify", resource, base_url, auth=auth, paginator=HeaderLinkPaginator(), pacer=pacer)
        cursor = UpdateCursor(first_load_since or start_date, lookback)
        params: dict[str, Any] = {**filters, "limit": page_size}
        if cursor.previous is not None or first_load_since is not None:
            params["updated_at_min"] = utc_iso(cursor.start)
        for page in pages(client, f"{resource}.json", params=params, data_selector=resource):
            for record in page:
                cursor.observe(record.get("updated_at"))
            yield from checked(contract, page)
        cursor.commit()

    @dlt.resource(name="orders", primary_key="id", write_disposition="merge")
    def orders() -> Iterator[Any]:
        """Shopify orders of every status since ``start_date``, with line items, refunds and shipping lines."""
        yield from updated_since("orders", orders_contract(), start_date, status="any")

    @dlt.resource(name="customers", primary_key="id", write_disposition="merge",
                  columns=_nullable("text", "note", "phone", "multipass_identifier"))
    def customers() -> Iterator[Any]:
        """Shopify customers (PII: email and names), all of them; updated with each change of their orders."""
        yield from updated_since("customers", customers_contract(), None)

    @dlt.resource(name="products", primary_key="id", write_disposition="merge",
                  columns={**_nullable("text", "template_suffix"), **_nullable("json", "image")},
                  nested_hints={"variants": {"columns": _nullable("text", "barcode", "compare_at_price", "option2",
                                                                  "option3")}})
    def products() -> Iterator[Any]:
        """Shopify products, all of them (listed before the history starts too), variants as products__variants."""
        yield from updated_since("products", products_contract(), None)

    return orders, customers, products
