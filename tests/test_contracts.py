"""Records that break their contract land in quarantine with a reason, in the same load, once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dlt
import duckdb

from ingestion.contracts import checked
from ingestion.pipelines import refresh_quarantine_view
from ingestion.sources.shopify.contracts import graphql_orders_contract


def _money(amount: str | None, currency: str = "USD") -> dict[str, Any]:
    return {"shopMoney": {"amount": amount, "currencyCode": currency}}


def _line(line_id: int, quantity: object, price: str | None) -> dict[str, Any]:
    return {"id": f"gid://shopify/LineItem/{line_id}", "quantity": quantity, "originalUnitPriceSet": _money(price)}


def _order(order_id: int, **changes: object) -> dict[str, Any]:
    """An order as the GraphQL Admin API sends it (the fields its contract reads)."""
    order: dict[str, Any] = {
        "id": f"gid://shopify/Order/{order_id}",
        "legacyResourceId": str(order_id),
        "currencyCode": "USD",
        "presentmentCurrencyCode": "EUR",
        "totalPriceSet": _money("10.00"),
        "updatedAt": "2026-03-01T15:00:00Z",
        "lineItems": [_line(order_id * 10, 2, "5.00")],
    }
    order.update(changes)
    return order


def _load(path: Path, orders: list[dict[str, Any]]) -> None:
    @dlt.resource(name="orders", primary_key="id", write_disposition="merge")
    def resource() -> Any:
        yield from checked(graphql_orders_contract(), json.loads(json.dumps(orders)))

    pipeline = dlt.pipeline(
        "contract_test",
        destination=dlt.destinations.duckdb(str(path)),
        dataset_name="raw_shopify",
        pipelines_dir=str(path.parent / "pipelines"),
    )
    pipeline.run(resource(), loader_file_format="parquet")


def test_bad_records_are_quarantined_with_reason_and_payload_and_never_twice(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    orders = [
        _order(1),
        _order(2, currencyCode="XXX"),
        _order(3, lineItems=[_line(30, -1, "5.00")]),
        _order(4, lineItems=[_line(40, 1, None)]),
        _order(5, lineItems=[_line(50, "3", "5.00")]),  # drift: number as string
        _order(6, statusPageUrl="https://shop.example/orders/6"),  # drift: a new field
    ]
    _load(path, orders)
    _load(path, orders)  # a re-run (lookback) sees the same records again
    assert refresh_quarantine_view(path) == 3
    with duckdb.connect(str(path), read_only=True) as con:
        loaded = {r[0] for r in con.execute("select legacy_resource_id from raw_shopify.orders").fetchall()}
        quantity = con.execute(
            "select quantity from raw_shopify.orders__line_items where id = 'gid://shopify/LineItem/50'"
        ).fetchone()[0]
        rows = con.execute(
            "select record_id, reason, payload, load_id from raw_quarantine.records order by 1"
        ).fetchall()
        columns = {r[0] for r in con.execute("describe raw_shopify.orders").fetchall()}
    assert loaded == {"1", "5", "6"}
    assert quantity == 3 and "status_page_url" in columns
    assert [r[0] for r in rows] == ["2", "3", "4"]  # quarantined under the numeric id, as the shop admin shows it
    reasons = {r[0]: r[1] for r in rows}
    assert "unknown currency code 'XXX'" in reasons["2"]
    assert "quantity -1" in reasons["3"] and "lineItems[0]" in reasons["3"]
    assert "missing or non-numeric amount in originalUnitPriceSet.shopMoney.amount" in reasons["4"]
    assert json.loads(rows[0][2])["currencyCode"] == "XXX"  # the payload exactly as received
    assert all(r[3] for r in rows)  # load id of the load that carried it
