"""Records that break their contract land in quarantine with a reason, in the same load, once."""

from __future__ import annotations

import json
from pathlib import Path

import dlt
import duckdb

from ingestion.contracts import checked
from ingestion.pipelines import refresh_quarantine_view
from ingestion.sources.shopify import orders_contract


def _order(order_id: int, **changes: object) -> dict:
    order = {
        "id": order_id,
        "currency": "USD",
        "presentment_currency": "EUR",
        "total_price": "10.00",
        "updated_at": "2026-03-01T10:00:00-05:00",
        "line_items": [{"id": order_id * 10, "quantity": 2, "price": "5.00"}],
    }
    order.update(changes)
    return order


def _load(path: Path, orders: list[dict]) -> None:
    @dlt.resource(name="orders", primary_key="id", write_disposition="merge")
    def resource():
        yield from checked(orders_contract(), orders)

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
        _order(2, currency="XXX"),
        _order(3, line_items=[{"id": 30, "quantity": -1, "price": "5.00"}]),
        _order(4, line_items=[{"id": 40, "quantity": 1, "price": None}]),
        _order(5, line_items=[{"id": 50, "quantity": "3", "price": "5.00"}]),  # drift: number as string
        _order(6, sales_channel_v2="web"),  # drift: a new field
    ]
    _load(path, orders)
    _load(path, orders)  # a re-run (lookback) sees the same records again
    assert refresh_quarantine_view(path) == 3
    with duckdb.connect(str(path), read_only=True) as con:
        loaded = {r[0] for r in con.execute("select id from raw_shopify.orders").fetchall()}
        quantity = con.execute("select quantity from raw_shopify.orders__line_items where id = 50").fetchone()[0]
        rows = con.execute(
            "select record_id, reason, payload, load_id from raw_quarantine.records order by 1"
        ).fetchall()
        columns = {r[0] for r in con.execute("describe raw_shopify.orders").fetchall()}
    assert loaded == {1, 5, 6}
    assert quantity == 3 and "sales_channel_v2" in columns
    assert [r[0] for r in rows] == ["2", "3", "4"]
    reasons = {r[0]: r[1] for r in rows}
    assert "unknown currency code 'XXX'" in reasons["2"]
    assert "quantity -1" in reasons["3"] and "line_items[0]" in reasons["3"]
    assert "missing or non-numeric amount in price" in reasons["4"]
    assert json.loads(rows[0][2])["currency"] == "XXX"  # the payload exactly as received
    assert all(r[3] for r in rows)  # load id of the load that carried it
