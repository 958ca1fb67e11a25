"""Amazon orders -> raw_amazon.orders / orders__order_items -> stg_amazon__orders / stg_amazon__order_items, through
the order report (Reports 2021-06-30) for the last two years and getOrders for older history and small deltas.

Counts, gross sales and discounts per month and currency equal the sandbox truth to the cent; a re-run adds no
rows; a FATAL report is requested again, and one that keeps failing stops the load with ReportFailed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingestion.pipelines import load
from sandbox import amazon_reports
from sandbox.connect import sandbox_env
from sandbox.server import SandboxApp, SandboxServer
from sandbox.truth import compute_truth
from tests.conftest import TEST_WORLD
from tests.helpers import dbt_build, environment

ZERO = Decimal("0.00")


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="demo"), port=0) as s:
        yield s


@pytest.fixture(scope="module")
def env(server: SandboxServer) -> Iterator[None]:
    # TEST_WORLD is small: at the published limits the cost rule would read it all through getOrders, so the
    # first load is made to take the report path (the rule itself is tested below)
    with environment({**sandbox_env(server.url), "SOURCES__AMAZON__ORDERS_VIA": "reports"}):
        yield


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, server: SandboxServer, env: None) -> Path:
    path = tmp_path_factory.mktemp("amazon_orders") / "wh.duckdb"
    load("amazon", duckdb_path=path)
    return path


def per_month(path: Path) -> tuple[dict[tuple[str, str], tuple[int, Decimal, Decimal]], int, int]:
    """(month, currency) -> (orders, gross, discounts) of the non-cancelled orders, from raw, plus raw counts."""
    with duckdb.connect(str(path), read_only=True) as con:
        orders = con.execute("select amazon_order_id, order_status, purchase_date from raw_amazon.orders").fetchall()
        items = con.execute(
            "select _dlt_root_id, item_price__currency_code, item_price__amount, promotion_discount__amount, "
            "o.amazon_order_id from raw_amazon.orders__order_items i join raw_amazon.orders o on o._dlt_id = i._dlt_root_id"
        ).fetchall()
    status = {o[0]: (o[1], o[2]) for o in orders}
    out: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [set(), ZERO, ZERO])
    for _, currency, price, promo, order_id in items:
        st, purchased = status[order_id]
        if st == "Canceled":
            continue
        key = (purchased.strftime("%Y-%m") if hasattr(purchased, "strftime") else str(purchased)[:7], currency)
        out[key][0].add(order_id)
        out[key][1] += Decimal(price)  # strings in raw: exact
        out[key][2] += Decimal(promo)
    return {k: (len(v[0]), v[1], v[2]) for k, v in out.items()}, len(orders), len(items)


def expected(server: SandboxServer) -> dict[tuple[str, str], tuple[int, Decimal, Decimal]]:
    truth = compute_truth(server.app.world)
    return {
        (r["month"], r["currency"]): (r["orders"], Decimal(r["gross_sales"]), Decimal(r["discounts"]))
        for r in truth["monthly_local"]
        if r["channel"] == "amazon" and r["orders"]
    }


def test_first_load_reconciles_with_truth_to_the_cent(loaded: Path, server: SandboxServer) -> None:
    got, n_orders, n_items = per_month(loaded)
    truth = compute_truth(server.app.world)
    assert n_orders == truth["record_counts"]["amazon.orders"]
    assert n_items == truth["record_counts"]["amazon.order_items"]
    assert got == expected(server)
    with duckdb.connect(str(loaded), read_only=True) as con:
        via = dict(
            con.execute(
                "select case when read_via like 'report:%' then 'report' else read_via end, count(*) "
                "from raw_amazon.orders group by 1"
            ).fetchall()
        )
        oldest_report = con.execute(
            "select min(cast(last_update_date as timestamptz)) from raw_amazon.orders where read_via like 'report:%'"
        ).fetchone()[0]
        newest_history = con.execute(
            "select max(cast(last_update_date as timestamptz)) from raw_amazon.orders where read_via like 'getOrders%'"
        ).fetchone()[0]
        history_item_calls = dict(
            con.execute(
                "select order_status, count(*) from raw_amazon.orders where read_via = 'getOrders' group by 1"
            ).fetchall()
        )
    # TEST_WORLD runs from 2024-01-01 to 2026-06-30: the first ~6 months are older than the reports' two years;
    # their shipped orders take their items from the shipment events, only the others call getOrderItems
    assert via["report"] > 0 and via["getOrders+ShipmentEvents"] > 0
    assert "Shipped" not in history_item_calls
    lookback_floor = server.app.world.config.now - amazon_reports.LOOKBACK
    assert newest_history < lookback_floor + timedelta(days=2) <= oldest_report + timedelta(days=2)
    assert len(amazon_reports.state(server.app).reports) >= 24  # 30-day windows over two years


def test_staging_one_row_per_order_and_item(loaded: Path, tmp_path: Path) -> None:
    dbt_build(loaded, ["stg_amazon__orders", "stg_amazon__order_items"], tmp_path)
    with duckdb.connect(str(loaded), read_only=True) as con:
        orders = con.execute("select count(*), count(distinct order_id) from staging.stg_amazon__orders").fetchone()
        items = con.execute(
            "select count(*), count(distinct order_item_id), count(order_id), "
            "count(*) filter (where order_item_id not like order_id || '-' || sku || '-%') "
            "from staging.stg_amazon__order_items"
        ).fetchone()
        money = con.execute(
            "select data_type from information_schema.columns where table_name = 'stg_amazon__order_items' "
            "and column_name = 'item_price'"
        ).fetchone()
    assert orders[0] == orders[1] > 0
    assert items[0] == items[1] == items[2] > 0 and items[3] == 0
    assert money[0] == "DECIMAL(18,2)"


def test_a_rerun_does_not_duplicate_and_a_small_delta_takes_getorders(
    loaded: Path, server: SandboxServer, env: None
) -> None:
    _, before_orders, before_items = per_month(loaded)
    reports_before = len(amazon_reports.state(server.app).reports)
    with environment({"SOURCES__AMAZON__ORDERS_VIA": "auto"}):
        load("amazon", duckdb_path=loaded)
    got, after_orders, after_items = per_month(loaded)
    assert (after_orders, after_items) == (before_orders, before_items)
    assert got == expected(server)
    # the delta is the last hour (the cursor's lookback): a few getOrderItems calls beat a report's minute
    assert len(amazon_reports.state(server.app).reports) == reports_before


def test_a_fatal_report_is_requested_again(tmp_path: Path, server: SandboxServer, env: None) -> None:
    st = amazon_reports.state(server.app)
    st.fail_next = 2
    created = st.created
    path = tmp_path / "wh.duckdb"
    load("amazon", duckdb_path=path)
    _, n_orders, n_items = per_month(path)
    truth = compute_truth(server.app.world)
    assert (n_orders, n_items) == (
        truth["record_counts"]["amazon.orders"],
        truth["record_counts"]["amazon.order_items"],
    )
    fatal = [r for r in st.reports.values() if r.status == "FATAL"]
    assert len(fatal) >= 2 and st.created - created >= 24 + 2


def test_a_report_that_keeps_failing_stops_the_load(tmp_path: Path, server: SandboxServer, env: None) -> None:
    st = amazon_reports.state(server.app)
    st.fail_next = 10_000  # every report fails: each window is requested the default 3 times, then the load stops
    try:
        with pytest.raises(Exception, match="ended FATAL 3 times"):
            load("amazon", duckdb_path=tmp_path / "wh.duckdb")
    finally:
        st.fail_next = 0


def test_heavy_faults_quarantine_bad_orders_and_the_rest_reconciles(tmp_path: Path) -> None:
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="demo", faults="heavy"), port=0) as s:
        with environment({**sandbox_env(s.url), "SOURCES__AMAZON__ORDERS_VIA": "reports"}):
            load("amazon", duckdb_path=tmp_path / "wh.duckdb")
        truth = compute_truth(s.app.world, "heavy")
    _, n_orders, n_items = per_month(tmp_path / "wh.duckdb")
    assert n_orders == truth["record_counts"]["amazon.orders"]
    assert n_items == truth["record_counts"]["amazon.order_items"]


def test_a_history_inside_the_lookback_comes_through_reports_alone(tmp_path: Path) -> None:
    """No getOrders page of history: every item comes from a report, staging still builds (OrderItemId declared)."""
    world = replace(TEST_WORLD, as_of=date(2025, 3, 31))
    with SandboxServer(SandboxApp(world, rate_limits="demo"), port=0) as s:
        with environment({**sandbox_env(s.url), "SOURCES__AMAZON__ORDERS_VIA": "reports"}):
            load("amazon", duckdb_path=tmp_path / "wh.duckdb")
        truth = compute_truth(s.app.world)
    path = tmp_path / "wh.duckdb"
    _, n_orders, n_items = per_month(path)
    assert (n_orders, n_items) == (
        truth["record_counts"]["amazon.orders"],
        truth["record_counts"]["amazon.order_items"],
    )
    dbt_build(path, ["stg_amazon__orders", "stg_amazon__order_items"], tmp_path)
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select count(*) from raw_amazon.orders where read_via = 'getOrders'").fetchone()[0] == 0
        items = con.execute(
            "select count(*), count(amazon_order_item_id) from staging.stg_amazon__order_items"
        ).fetchone()
    assert items == (n_items, 0)


def _shipment(order_id: str, *items: tuple[str | None, str, int, str, str]) -> dict[str, Any]:
    """A ShipmentEvent as listFinancialEvents sends it (amounts as exact_json parses them): items of
    (OrderItemId, SellerSKU, QuantityShipped, Principal, promotion)."""
    return {
        "AmazonOrderId": order_id,
        "ShipmentItemList": [
            {
                "OrderItemId": item_id,
                "SellerSKU": sku,
                "QuantityShipped": qty,
                "ItemChargeList": [
                    {"ChargeType": "Principal", "ChargeAmount": {"CurrencyCode": "EUR", "CurrencyAmount": Decimal(p)}},
                    {"ChargeType": "Tax", "ChargeAmount": {"CurrencyCode": "EUR", "CurrencyAmount": Decimal("1.10")}},
                ],
                "ItemFeeList": [{"FeeType": "Commission", "FeeAmount": {"CurrencyCode": "EUR", "CurrencyAmount": -1}}],
                "PromotionList": [
                    {"PromotionId": "P", "PromotionAmount": {"CurrencyCode": "EUR", "CurrencyAmount": Decimal(promo)}}
                ],
            }
            for item_id, sku, qty, p, promo in items
        ],
    }


def test_history_items_from_shipment_events_sum_partial_shipments_and_refuse_what_they_cannot_tell() -> None:
    from ingestion.sources.amazon import fully_shipped
    from ingestion.sources.amazon.finances import shipped_order_items

    events = [
        _shipment("A", ("1", "SKU-1", 1, "10.00", "-0.50"), ("2", "SKU-2", 2, "7.98", "0")),
        _shipment("A", ("1", "SKU-1", 2, "20.00", "-1.00")),  # the rest of item 1, shipped later
        _shipment("B", (None, "SKU-3", 1, "5.00", "0")),  # no OrderItemId: B's items come from getOrderItems
    ]
    got = shipped_order_items(events)
    assert set(got) == {"A"}
    first, second = got["A"]
    assert (first["OrderItemId"], first["SellerSKU"], first["QuantityOrdered"]) == ("1", "SKU-1", 3)
    assert first["ItemPrice"] == {"CurrencyCode": "EUR", "Amount": "30.00"}
    assert first["ItemTax"] == {"CurrencyCode": "EUR", "Amount": "2.20"}
    assert first["PromotionDiscount"] == {"CurrencyCode": "EUR", "Amount": "1.50"}
    assert second["ShippingPrice"] == {"CurrencyCode": "EUR", "Amount": "0.00"}
    assert second["PromotionDiscount"]["Amount"] == "0.00"  # never -0.00
    order = {"OrderStatus": "Shipped", "NumberOfItemsShipped": 5, "NumberOfItemsUnshipped": 0}
    assert fully_shipped(order, got["A"])
    assert not fully_shipped({**order, "NumberOfItemsShipped": 6}, got["A"])  # a shipment not read
    assert not fully_shipped({**order, "OrderStatus": "Canceled", "NumberOfItemsShipped": 0}, got["A"])
