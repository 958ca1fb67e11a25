"""eBay Sell Fulfillment ingestion: raw layer equals the sandbox world, incrementally, once; staging builds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
import requests

from ingestion.contracts import checked
from ingestion.http.session import IngestionHTTPError
from ingestion.pipelines import SOURCES, load, make_pipeline, refresh_quarantine_view
from ingestion.sources.ebay import TOKEN_PATH, ebay_oauth, ebay_time, orders_contract
from sandbox import ebay_api
from sandbox.connect import sandbox_env
from sandbox.server import SandboxApp, SandboxServer
from sandbox.truth import compute_truth
from sandbox.world import World, WorldConfig
from tests.conftest import TEST_WORLD
from tests.helpers import dbt_build, environment, staging_columns

# The advance test needs a world where moving the clock brings refunds of orders already loaded
# (checked below from the world itself, so a change of the simulation cannot make the test vacuous).
ADVANCING_WORLD = WorldConfig(seed=7, scale=0.35, as_of=date(2026, 6, 30))
ADVANCE_DAYS = 20


@pytest.fixture(scope="module")
def ebay_sandbox() -> Iterator[SandboxServer]:
    """A sandbox of this module's own: the advance test moves its world's clock (conftest's is shared)."""
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as server:
        yield server


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, ebay_sandbox: SandboxServer) -> Iterator[Path]:
    """A warehouse with raw_ebay loaded once from the sandbox."""
    path = tmp_path_factory.mktemp("ebay") / "wh.duckdb"
    with environment(sandbox_env(ebay_sandbox.url)):
        load("ebay", duckdb_path=path)
        yield path


def raw_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            "ebay.orders": con.execute("select count(*) from raw_ebay.orders").fetchone()[0],
            "ebay.orders.line_items": con.execute("select count(*) from raw_ebay.orders__line_items").fetchone()[0],
            "ebay.orders.refunds": con.execute(
                "select count(*) from raw_ebay.orders__payment_summary__refunds"
            ).fetchone()[0],
        }


def raw_totals(path: Path) -> dict[str, Any]:
    """Sales measures as truth defines them, summed from the raw tables (cancelled orders excluded)."""
    with duckdb.connect(str(path), read_only=True) as con:
        orders, discounts, fees = con.execute("""
            select count(*), sum(-coalesce(cast(pricing_summary__price_discount__value as decimal(18, 2)), 0)),
                   sum(cast(total_marketplace_fee__value as decimal(18, 2)))
            from raw_ebay.orders where cancel_status__cancel_state <> 'CANCELED'""").fetchone()
        gross = con.execute("""
            select sum(cast(l.line_item_cost__value as decimal(18, 2)))
            from raw_ebay.orders__line_items l join raw_ebay.orders o on o._dlt_id = l._dlt_parent_id
            where o.cancel_status__cancel_state <> 'CANCELED'""").fetchone()[0]
        refunds = con.execute("""
            select coalesce(sum(cast(r.amount__value as decimal(18, 2))), 0)
            from raw_ebay.orders__payment_summary__refunds r join raw_ebay.orders o on o._dlt_id = r._dlt_parent_id
            where o.cancel_status__cancel_state <> 'CANCELED'""").fetchone()[0]
    return {
        "orders": orders,
        "gross_sales": Decimal(gross),
        "discounts": Decimal(discounts),
        "refunds": Decimal(refunds),
        "marketplace_fees": Decimal(fees),
    }


def truth_totals(world: World) -> dict[str, Any]:
    """The truth's eBay measures in local currency (USD), summed over all months."""
    out: dict[str, Any] = {
        "orders": 0,
        **{k: Decimal(0) for k in ("gross_sales", "discounts", "refunds", "marketplace_fees")},
    }
    for row in compute_truth(world)["monthly_local"]:
        if row["channel"] == "ebay":
            assert row["currency"] == "USD"
            out["orders"] += row["orders"]
            for k in ("gross_sales", "discounts", "refunds", "marketplace_fees"):
                out[k] += Decimal(row[k])
    return out


def truth_counts(world: World) -> dict[str, int]:
    return {k: v for k, v in compute_truth(world)["record_counts"].items() if k.startswith("ebay.")}


def assert_no_duplicates(path: Path) -> None:
    with duckdb.connect(str(path), read_only=True) as con:
        for table, key in (
            ("orders", "order_id"),
            ("orders__line_items", "line_item_id"),
            ("orders__payment_summary__refunds", "refund_id"),
        ):
            dupes = con.execute(f"select count(*) - count(distinct {key}) from raw_ebay.{table}").fetchone()[0]
            assert dupes == 0, f"raw_ebay.{table} has {dupes} duplicate {key}"


def test_source_is_registered_with_the_nested_tables_the_warehouse_reads() -> None:
    spec = SOURCES["ebay"]
    assert spec.dataset == "raw_ebay"
    assert set(spec.nested_tables) == {
        "orders__line_items",
        "orders__payment_summary__refunds",
        "orders__line_items__refunds",
    }
    assert {
        "SOURCES__EBAY__BASE_URL",
        "SOURCES__EBAY__CLIENT_ID",
        "SOURCES__EBAY__CLIENT_SECRET",
        "SOURCES__EBAY__REFRESH_TOKEN",
    } <= set(sandbox_env("http://x"))


def test_raw_layer_equals_the_world_and_a_rerun_adds_nothing(loaded: Path, ebay_sandbox: SandboxServer) -> None:
    world = ebay_sandbox.app.world
    assert raw_counts(loaded) == truth_counts(world)
    assert raw_totals(loaded) == truth_totals(world)
    assert_no_duplicates(loaded)

    with environment(sandbox_env(ebay_sandbox.url)):
        load("ebay", duckdb_path=loaded)  # nothing changed: only the lookback window is read again
    rows = make_pipeline("ebay", loaded).last_trace.last_normalize_info.row_counts
    assert rows.get("orders", 0) < len(world.commerce.ebay_orders)
    assert raw_counts(loaded) == truth_counts(world)
    assert raw_totals(loaded) == truth_totals(world)
    assert_no_duplicates(loaded)


def test_staging_models_build_and_pass_their_tests(loaded: Path, tmp_path: Path) -> None:
    dbt_build(loaded, "staging.ebay", tmp_path)
    with duckdb.connect(str(loaded), read_only=True) as con:
        assert staging_columns(con, "stg_ebay__orders") == [
            ("order_id", "VARCHAR"),
            ("created_at", "TIMESTAMP WITH TIME ZONE"),
            ("updated_at", "TIMESTAMP WITH TIME ZONE"),
            ("is_cancelled", "BOOLEAN"),
            ("currency", "VARCHAR"),
            ("discounts", "DECIMAL(18,2)"),
            ("marketplace_fee", "DECIMAL(18,2)"),
            ("buyer_username", "VARCHAR"),
            ("dlt_id", "VARCHAR"),
        ]
        assert staging_columns(con, "stg_ebay__order_line_items") == [
            ("line_item_id", "VARCHAR"),
            ("order_dlt_id", "VARCHAR"),
            ("sku", "VARCHAR"),
            ("quantity", "INTEGER"),
            ("line_item_cost", "DECIMAL(18,2)"),
            ("currency", "VARCHAR"),
            ("order_id", "VARCHAR"),  # the parent link resolved to eBay's key: nothing downstream joins on dlt ids
        ]
        assert staging_columns(con, "stg_ebay__refunds") == [
            ("refund_id", "VARCHAR"),
            ("order_dlt_id", "VARCHAR"),
            ("refunded_at", "TIMESTAMP WITH TIME ZONE"),
            ("amount", "DECIMAL(18,2)"),
            ("currency", "VARCHAR"),
            ("refund_status", "VARCHAR"),
            ("order_id", "VARCHAR"),
        ]
        staged = con.execute("""
            select sum(discounts) filter (where not is_cancelled), sum(marketplace_fee) filter (where not is_cancelled)
            from staging.stg_ebay__orders""").fetchone()
    totals = raw_totals(loaded)
    assert staged == (totals["discounts"], totals["marketplace_fees"])


def test_advancing_the_world_brings_new_orders_and_refunds_incrementally(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    with (
        SandboxServer(SandboxApp(ADVANCING_WORLD, rate_limits="off"), port=0) as server,
        environment(sandbox_env(server.url)),
    ):
        before = server.app.world
        load("ebay", duckdb_path=path)
        assert raw_counts(path) == truth_counts(before)
        cursor = max(o.last_modified for o in before.commerce.ebay_orders)

        requests.post(f"{server.url}/_sandbox/advance", params={"days": ADVANCE_DAYS}, timeout=30).raise_for_status()
        after = server.app.world
        old = {o.order_id: o for o in before.commerce.ebay_orders}
        refunded_later = [
            o.order_id
            for o in after.commerce.ebay_orders
            if o.order_id in old and len(o.refunds) > len(old[o.order_id].refunds)
        ]
        assert refunded_later, "precondition: the advanced world refunds orders loaded before"

        load("ebay", duckdb_path=path)
        # only the window since the cursor (less the 60-minute lookback) was read again
        window = {o.order_id for o in after.commerce.ebay_orders if o.last_modified >= cursor - timedelta(minutes=60)}
        rows = make_pipeline("ebay", path).last_trace.last_normalize_info.row_counts
        assert rows["orders"] == len(window) < len(after.commerce.ebay_orders)
        assert raw_counts(path) == truth_counts(after)
        assert raw_counts(path)["ebay.orders.refunds"] > truth_counts(before)["ebay.orders.refunds"]
        assert raw_totals(path) == truth_totals(after)
        assert_no_duplicates(path)
        with duckdb.connect(str(path), read_only=True) as con:
            got = {
                r[0]
                for r in con.execute(
                    "select o.order_id from raw_ebay.orders o join raw_ebay.orders__payment_summary__refunds r "
                    "on r._dlt_parent_id = o._dlt_id"
                ).fetchall()
            }
        assert set(refunded_later) <= got


def test_oauth_uses_the_refresh_token_grant_and_never_shows_the_secrets(ebay_sandbox: SandboxServer) -> None:
    token_url = f"{ebay_sandbox.url}/{TOKEN_PATH}"
    auth = ebay_oauth(token_url, ebay_api.DEMO_CLIENT_ID, ebay_api.DEMO_CLIENT_SECRET, ebay_api.DEMO_REFRESH_TOKEN)
    response = requests.get(
        f"{ebay_sandbox.url}/sell/fulfillment/v1/order",
        auth=auth,
        timeout=30,
        params={"filter": f"lastmodifieddate:[{ebay_time(TEST_WORLD.now - timedelta(days=30))}..]"},
    )
    assert response.status_code == 200 and "orders" in response.json()
    assert ebay_api.DEMO_CLIENT_SECRET not in repr(auth) and ebay_api.DEMO_REFRESH_TOKEN not in repr(auth)

    bad = ebay_oauth(token_url, ebay_api.DEMO_CLIENT_ID, ebay_api.DEMO_CLIENT_SECRET, "not-the-refresh-token")
    with pytest.raises(IngestionHTTPError, match="invalid_grant") as failure:
        requests.get(f"{ebay_sandbox.url}/sell/fulfillment/v1/order", auth=bad, timeout=30)
    assert ebay_api.DEMO_CLIENT_SECRET not in str(failure.value)
    assert "not-the-refresh-token" not in str(failure.value)


def _order(order_id: str, **changes: Any) -> dict[str, Any]:
    money = lambda v: {"value": v, "currency": "USD"}
    order = {
        "orderId": order_id,
        "creationDate": "2026-03-01T10:00:00.000Z",
        "lastModifiedDate": "2026-03-02T10:00:00.000Z",
        "cancelStatus": {"cancelState": "NONE_REQUESTED"},
        "pricingSummary": {"priceSubtotal": money("20.0"), "total": money("20.0")},
        "totalMarketplaceFee": money("2.95"),
        "paymentSummary": {
            "refunds": [
                {
                    "refundId": f"R{order_id}",
                    "amount": money("5.0"),
                    "refundDate": "2026-03-02T10:00:00.000Z",
                    "refundStatus": "REFUNDED",
                }
            ]
        },
        "lineItems": [{"lineItemId": f"L{order_id}", "sku": "PP-0001", "quantity": 2, "lineItemCost": money("20.0")}],
    }
    order.update(changes)
    return order


def test_orders_breaking_the_contract_are_quarantined_once(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    orders = [
        _order("1"),
        _order("2", pricingSummary={"total": {"value": "20.0", "currency": "XXX"}}),
        _order(
            "3", lineItems=[{"lineItemId": "L3", "quantity": 0, "lineItemCost": {"value": "1.0", "currency": "USD"}}]
        ),
        _order(
            "4", lineItems=[{"lineItemId": "L4", "quantity": 1, "lineItemCost": {"value": None, "currency": "USD"}}]
        ),
        _order("5", totalMarketplaceFee={"currency": "USD"}),
        _order("6", paymentSummary={"refunds": [{"refundId": "R6", "amount": {"value": "x", "currency": "USD"}}]}),
        _order(
            "7", lineItems=[{"lineItemId": "L7", "quantity": "2", "lineItemCost": {"value": "2.0", "currency": "USD"}}]
        ),
    ]

    @dlt.source(name="ebay", max_table_nesting=2)
    def source() -> Any:
        @dlt.resource(name="orders", primary_key="order_id", write_disposition="merge")
        def resource() -> Any:
            yield from checked(orders_contract(), json.loads(json.dumps(orders)))

        return resource

    pipeline = dlt.pipeline(
        "ebay_contract_test",
        destination=dlt.destinations.duckdb(str(path)),
        dataset_name="raw_ebay",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    pipeline.run(source(), loader_file_format="parquet")
    pipeline.run(source(), loader_file_format="parquet")  # seen again (lookback): not quarantined twice
    assert refresh_quarantine_view(path) == 5
    with duckdb.connect(str(path), read_only=True) as con:
        loaded = {r[0] for r in con.execute("select order_id from raw_ebay.orders").fetchall()}
        quantity = con.execute("select quantity from raw_ebay.orders__line_items where line_item_id = 'L7'").fetchone()[
            0
        ]
        reasons = dict(
            con.execute("select record_id, reason from raw_quarantine.records where source_key = 'ebay'").fetchall()
        )
    assert loaded == {"1", "7"} and quantity == 2
    assert "unknown currency code 'XXX' in pricingSummary.total.currency" in reasons["2"]
    assert "lineItems[0]: quantity 0" in reasons["3"]
    assert "lineItems[0]: missing or non-numeric amount in lineItemCost.value" in reasons["4"]
    assert "totalMarketplaceFee.value" in reasons["5"]
    assert "paymentSummary.refunds[0]" in reasons["6"]
