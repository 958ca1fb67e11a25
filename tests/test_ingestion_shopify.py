"""Shopify ingestion over the GraphQL Admin API: a full load through bulk operations and incremental runs through
paged queries both land exactly the world (orders with every line and refund, customers, products with their unit
cost) once; nested connections past their first page are drained; a bulk operation that fails midway is run again
(and after too many failures the load stops, loading nothing partial); an expired result URL is signed again; an
access token that expires during a load is renewed; staging builds on the GraphQL shapes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import dlt
import duckdb
import pytest
import requests

from cli.summary import RAW_TABLE_OF_TRUTH
from ingestion.contracts import checked
from ingestion.pipelines import SOURCES, load, make_pipeline, refresh_quarantine_view
from ingestion.sources.shopify.bulk import BulkOperationFailed
from ingestion.sources.shopify.contracts import graphql_customers_contract, graphql_products_contract
from sandbox import shopify_bulk, shopify_oauth
from sandbox.connect import sandbox_env
from sandbox.protocol import Request, Response
from sandbox.server import SandboxApp, SandboxServer
from sandbox.shopify_nodes import customer_stats, unit_cost
from sandbox.truth import compute_truth
from sandbox.world import World
from tests.conftest import TEST_WORLD
from tests.helpers import dbt_build, environment, staging_columns

ADVANCE_DAYS = 20


class Served:
    """What the sandbox answered, by kind: GraphQL queries by operation, bulk runs, result downloads, tokens."""

    def __init__(self, app: SandboxApp) -> None:
        self.counts: Counter[str] = Counter()
        serve = app.dispatch

        def dispatch(req: Request) -> tuple[Response, Any]:
            if req.path.endswith("/graphql.json"):
                text = json.loads(req.body or b"{}").get("query", "")
                self.counts["bulk runs" if "bulkOperationRunQuery" in text else "queries"] += 1
                if text.startswith("query Page"):
                    self.counts["pages"] += 1
                if text.startswith("query Drain"):
                    self.counts["drains"] += 1
            elif req.path.startswith("/shopify-bulk/"):
                self.counts["downloads"] += 1
            elif req.path == shopify_oauth.TOKEN_PATH:
                self.counts["tokens"] += 1
            response, fault = serve(req)
            if req.path.startswith("/shopify-bulk/"):
                self.counts[f"download {response.status}"] += 1
            return response, fault

        app.dispatch = dispatch  # type: ignore[method-assign]

    def take(self) -> Counter[str]:
        counts, self.counts = self.counts, Counter()
        return counts


def raw(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def raw_counts(path: Path) -> dict[str, int]:
    tables = {
        "shopify.orders": "orders",
        "shopify.orders.line_items": "orders__line_items",
        "shopify.orders.refunds": "orders__refunds",
        "shopify.customers": "customers",
        "shopify.products": "products",
        "shopify.checkouts": "abandoned_checkouts",
    }
    return {key: raw(path, f"select count(*) from raw_shopify.{table}")[0][0] for key, table in tables.items()}


def truth_counts(world: World) -> dict[str, int]:
    counts = compute_truth(world)["record_counts"]
    keys = ("orders", "orders.line_items", "orders.refunds", "customers", "products", "checkouts")
    return {f"shopify.{k}": counts[f"shopify.{k}"] for k in keys}


def raw_orders(path: Path) -> dict[int, tuple[Any, ...]]:
    """Per order: updatedAt, Σ unit price × (currentQuantity + refunded units), refunded subtotal, line count."""
    subtotal = "cast(subtotal_set__shop_money__amount as decimal(18, 2))"
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            f"""
            with refunded as (
                select _dlt_root_id, line_item__id, sum(quantity) as units, sum({subtotal}) as subtotal
                from raw_shopify.orders__refunds__refund_line_items group by 1, 2
            )
            select cast(o.legacy_resource_id as bigint), o.updated_at,
                   sum(cast(l.original_unit_price_set__shop_money__amount as decimal(18, 2))
                       * (l.current_quantity + coalesce(r.units, 0))),
                   coalesce(sum(r.subtotal), 0), count(*)
            from raw_shopify.orders as o
            join raw_shopify.orders__line_items as l on l._dlt_parent_id = o._dlt_id
            left join refunded as r on r._dlt_root_id = o._dlt_id and r.line_item__id = l.id
            group by 1, 2
            """
        ).fetchall()
    return {i: (updated, gross, refunded, lines) for i, updated, gross, refunded, lines in rows}


def world_orders(world: World) -> dict[int, tuple[Any, ...]]:
    return {
        o.order_id: (o.updated_at, o.gross, sum((r.subtotal for r in o.refunds), Decimal("0.00")), len(o.lines))
        for o in world.shopify_orders
    }


def raw_customers(path: Path) -> dict[int, tuple[Any, ...]]:
    rows = raw(
        path,
        "select cast(legacy_resource_id as bigint), default_email_address__email_address, "
        "cast(number_of_orders as integer), cast(amount_spent__amount as decimal(18, 2)), updated_at "
        "from raw_shopify.customers",
    )
    return {i: rest for i, *rest in ((r[0], *r[1:]) for r in rows)}


def world_customers(world: World) -> dict[int, tuple[Any, ...]]:
    out = {}
    for c in world.commerce.shopify_customers:
        count, spent, updated, _ = customer_stats(c, world)
        out[c.customer_id] = [c.email, count, spent, updated]
    return {k: list(v) for k, v in out.items()}


def assert_world_loaded(path: Path, world: World) -> None:
    assert raw_counts(path) == truth_counts(world)
    assert raw_orders(path) == world_orders(world)  # every line and refund, edits read through currentQuantity
    assert {k: list(v) for k, v in raw_customers(path).items()} == world_customers(world)
    variants = raw(
        path,
        "select sku, cast(price as decimal(18, 2)), cast(inventory_item__unit_cost__amount as decimal(18, 2)) "
        "from raw_shopify.products__variants",
    )
    assert sorted(variants) == sorted((p.sku, p.price_usd, unit_cost(p, world)) for p in world.products)
    for table in ("orders", "customers", "products", "abandoned_checkouts"):
        assert raw(path, f"select count(*) - count(distinct id) from raw_shopify.{table}")[0][0] == 0, table


@pytest.fixture(scope="module")
def shopify_sandbox() -> Iterator[tuple[SandboxServer, Served]]:
    app = SandboxApp(TEST_WORLD, rate_limits="off")
    served = Served(app)
    with SandboxServer(app, port=0) as server:
        yield server, served


@pytest.fixture(scope="module")
def first_load(
    tmp_path_factory: pytest.TempPathFactory, shopify_sandbox: tuple[SandboxServer, Served]
) -> tuple[Path, Counter[str]]:
    server, served = shopify_sandbox
    path = tmp_path_factory.mktemp("shopify") / "wh.duckdb"
    served.take()
    with environment(sandbox_env(server.url)):
        load("shopify", duckdb_path=path)
    return path, served.take()


def test_source_is_registered_with_its_tables_and_truth_keys() -> None:
    spec = SOURCES["shopify"]
    assert spec.dataset == "raw_shopify"
    assert {"orders__line_items", "orders__refunds__refund_line_items", "products__variants"} <= set(spec.nested_tables)
    assert {"orders", "customers", "products", "abandoned_checkouts"} <= set(
        spec.factory(**spec.placeholders).resources
    )
    assert RAW_TABLE_OF_TRUTH["shopify.customers"] == "raw_shopify.customers"


def test_a_full_load_through_bulk_operations_equals_the_world(
    first_load: tuple[Path, Counter[str]], shopify_sandbox: tuple[SandboxServer, Served]
) -> None:
    path, served = first_load
    server, _ = shopify_sandbox
    assert_world_loaded(path, server.app.world)
    # orders in 10 creation-time windows, checkouts in 8, customers in 2, products in 1; no paging at all
    assert served["bulk runs"] == 21 and served["downloads"] == 21 and served["pages"] == 0, served
    assert served["tokens"] == 1  # one client-credentials token for the whole load


def test_a_rerun_reads_only_the_lookback_window_through_paged_queries(
    first_load: tuple[Path, Counter[str]], shopify_sandbox: tuple[SandboxServer, Served]
) -> None:
    path, _ = first_load
    server, served = shopify_sandbox
    served.take()
    with environment(sandbox_env(server.url)):
        load("shopify", duckdb_path=path)  # nothing changed: each resource counts its lookback window, pages it
    counts = served.take()
    assert counts["bulk runs"] == 0 and counts["pages"] >= 4, counts
    rows = make_pipeline("shopify", path).last_trace.last_normalize_info.row_counts
    assert rows.get("orders", 0) < len(server.app.world.shopify_orders) / 10
    assert_world_loaded(path, server.app.world)


def test_staging_models_build_on_the_graphql_shapes(
    first_load: tuple[Path, Counter[str]], shopify_sandbox: tuple[SandboxServer, Served], tmp_path: Path
) -> None:
    path, _ = first_load
    world = shopify_sandbox[0].app.world
    dbt_build(path, "staging.shopify", tmp_path)
    with duckdb.connect(str(path), read_only=True) as con:
        assert staging_columns(con, "stg_shopify__product_variants") == [
            ("variant_id", "BIGINT"),
            ("product_id", "BIGINT"),
            ("sku", "VARCHAR"),
            ("price", "DECIMAL(18,2)"),
            ("unit_cost", "DECIMAL(18,2)"),
            ("unit_cost_currency", "VARCHAR"),
            ("unit_cost_updated_at", "TIMESTAMP WITH TIME ZONE"),
        ]
        gross = con.execute("select sum(unit_price * quantity) from staging.stg_shopify__order_line_items").fetchone()[
            0
        ]
        discounts = con.execute("select sum(total_discounts) from staging.stg_shopify__orders").fetchone()[0]
        refunds = con.execute("select sum(subtotal) from staging.stg_shopify__refund_line_items").fetchone()[0]
        variants = con.execute(
            "select variant_id, product_id, sku, price, unit_cost from staging.stg_shopify__product_variants"
        ).fetchall()
    orders = world.shopify_orders
    assert gross == sum((o.gross for o in orders), Decimal("0.00"))
    assert discounts == sum((o.discount_total for o in orders), Decimal("0.00"))
    assert refunds == sum((r.subtotal for o in orders for r in o.refunds), Decimal("0.00"))
    assert sorted(variants) == sorted(
        (p.variant_id, p.product_id, p.sku, p.price_usd, unit_cost(p, world)) for p in world.products
    )


def test_an_incremental_run_pages_the_changes_and_drains_every_nested_connection(tmp_path: Path) -> None:
    """After the world moves on, the changed orders are few: paged (5 orders a page, 1 line a page, so every order
    with 2+ lines, or a refund with its line, needs its connection drained through node(id:))."""
    path = tmp_path / "wh.duckdb"
    app = SandboxApp(TEST_WORLD, rate_limits="off")
    served = Served(app)
    small = {"SOURCES__SHOPIFY__PAGE_SIZE": "5", "SOURCES__SHOPIFY__NESTED_PAGE_SIZE": "1"}
    with SandboxServer(app, port=0) as server, environment({**sandbox_env(server.url), **small}):
        load("shopify", duckdb_path=path)
        served.take()
        requests.post(f"{server.url}/_sandbox/advance", params={"days": ADVANCE_DAYS}, timeout=30).raise_for_status()
        after = server.app.world
        load("shopify", duckdb_path=path)
        counts = served.take()
        assert counts["bulk runs"] == 0 and counts["pages"] > 0, counts
        multi_line = [o for o in after.shopify_orders if len(o.lines) > 1]
        assert multi_line and counts["drains"] > 0, counts
        assert_world_loaded(path, after)


def test_a_large_change_window_goes_through_a_bulk_operation(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    app = SandboxApp(TEST_WORLD, rate_limits="off")
    served = Served(app)
    with SandboxServer(app, port=0) as server, environment(sandbox_env(server.url)):
        load("shopify", duckdb_path=path)
        requests.post(f"{server.url}/_sandbox/advance", params={"days": ADVANCE_DAYS}, timeout=30).raise_for_status()
        served.take()
        with environment({"SOURCES__SHOPIFY__BULK_MIN_RECORDS": "1"}):
            load("shopify", duckdb_path=path)
        counts = served.take()
        assert counts["bulk runs"] == 4 and counts["pages"] == 0, counts  # one operation per resource
        assert_world_loaded(path, server.app.world)


def test_a_bulk_operation_that_fails_midway_is_run_again_and_its_partial_data_never_loaded(tmp_path: Path) -> None:
    app = SandboxApp(TEST_WORLD, rate_limits="off")
    served = Served(app)
    with SandboxServer(app, port=0) as server, environment(sandbox_env(server.url)):
        shopify_bulk.state(app).fail_next = 2  # the first two operations fail after a few records
        path = tmp_path / "wh.duckdb"
        load("shopify", duckdb_path=path)
        counts = served.take()
        assert counts["bulk runs"] == 21 + 2, counts
        failed = [op for op in shopify_bulk.state(app).ops.values() if op.status == "FAILED"]
        assert len(failed) == 2 and all(op.root_count > 0 for op in failed)  # they had written data
        assert_world_loaded(path, server.app.world)

        shopify_bulk.state(app).fail_next = 10**6  # every operation fails: after 3 tries of one, the load stops
        stopped = tmp_path / "stopped.duckdb"
        with pytest.raises(Exception) as failure:
            load("shopify", duckdb_path=stopped)
    chain, exc = [], failure.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    assert any(isinstance(e, BulkOperationFailed) for e in chain), repr(failure.value)
    assert "partial data was not loaded" in str(failure.value)
    with duckdb.connect(str(stopped), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert "orders" not in tables  # nothing of the failed load landed


def test_an_expired_result_url_is_signed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each operation's first signed URL is already expired when the source downloads it (as when a load waits
    too long between the poll and the download): the source reads the operation again for a fresh URL."""
    real_url = shopify_bulk._url
    seen: Counter[int] = Counter()

    def stale_first(ctx: Any, op: shopify_bulk.BulkOp) -> str:
        seen[op.ident] += 1
        url = real_url(ctx, op)
        if seen[op.ident] > 1:
            return url
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        issued, ttl = int(query["X-Goog-Date"]) - 10_000, int(query["X-Goog-Expires"])
        query.update({"X-Goog-Date": str(issued), "X-Goog-Signature": shopify_bulk._sign(op.ident, issued, ttl)})
        return parts._replace(query=urlencode(query)).geturl()

    monkeypatch.setattr(shopify_bulk, "URL_TTL_S", 600.0)
    monkeypatch.setattr(shopify_bulk, "_url", stale_first)
    app = SandboxApp(TEST_WORLD, rate_limits="off")
    served = Served(app)
    with SandboxServer(app, port=0) as server, environment(sandbox_env(server.url)):
        path = tmp_path / "wh.duckdb"
        load("shopify", duckdb_path=path)
        counts = served.take()
        # (an operation that completes before its run mutation is answered has its first URL signed in that answer,
        # unread: its first download is then already fresh)
        assert counts["download 400"] >= 1 and counts["download 200"] == 21, counts
        assert_world_loaded(path, server.app.world)


def test_an_access_token_that_expires_during_a_load_is_renewed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """24-hour client-credentials tokens: the shop's clock passes the token's expiry after the load's first queries;
    the API answers 401 and the source asks for a new token, once, and goes on."""
    import time

    offset = {"s": 0.0}
    monkeypatch.setattr(shopify_oauth, "CLOCK", lambda: time.time() + offset["s"])
    app = SandboxApp(TEST_WORLD, rate_limits="off")
    served = Served(app)
    serve = app.dispatch
    graphql_calls = Counter[str]()

    def dispatch(req: Request) -> tuple[Response, Any]:
        if req.path.endswith("/graphql.json"):
            graphql_calls["n"] += 1
            if graphql_calls["n"] == 5:
                offset["s"] = shopify_oauth.TOKEN_TTL_S + 60.0  # a day later: the first token has expired
        return serve(req)

    app.dispatch = dispatch  # type: ignore[method-assign]
    with SandboxServer(app, port=0) as server, environment(sandbox_env(server.url)):
        path = tmp_path / "wh.duckdb"
        load("shopify", duckdb_path=path)
        counts = served.take()
        assert counts["tokens"] == 2, counts
        assert_world_loaded(path, server.app.world)


def test_records_breaking_the_contract_are_quarantined_once(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"

    def customer(i: int | None, currency: str = "USD") -> dict[str, Any]:
        gid = f"gid://shopify/Customer/{i}" if i is not None else None
        return {"id": gid, "legacyResourceId": str(i), "amountSpent": {"amount": "1.00", "currencyCode": currency}}

    def product(i: int, price: Any = "4.49") -> dict[str, Any]:
        return {
            "id": f"gid://shopify/Product/{i}",
            "legacyResourceId": str(i),
            "variants": [{"id": f"gid://shopify/ProductVariant/{i * 10}", "price": price}],
        }

    customers = [customer(1), customer(None), customer(3, "XXX")]
    products = [
        product(1),
        product(2, "-1.00"),
        product(3, None),
        product(4, 4.49),
        product(5, "abc"),
        product(6, "0.00"),
    ]

    @dlt.source(name="shopify", max_table_nesting=2)
    def source() -> Any:
        @dlt.resource(name="customers", primary_key="id", write_disposition="merge")
        def customers_resource() -> Any:
            yield from checked(graphql_customers_contract(), json.loads(json.dumps(customers)))

        @dlt.resource(name="products", primary_key="id", write_disposition="merge")
        def products_resource() -> Any:
            yield from checked(graphql_products_contract(), json.loads(json.dumps(products)))

        return customers_resource, products_resource

    pipeline = dlt.pipeline(
        "shopify_contract_test",
        destination=dlt.destinations.duckdb(str(path)),
        dataset_name="raw_shopify",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    pipeline.run(source(), loader_file_format="parquet")
    pipeline.run(source(), loader_file_format="parquet")  # seen again (lookback): not quarantined twice
    assert refresh_quarantine_view(path) == 6  # 2 customers, 4 products
    with duckdb.connect(str(path), read_only=True) as con:
        loaded_products = {r[0] for r in con.execute("select legacy_resource_id from raw_shopify.products").fetchall()}
        reasons = dict(
            ((resource, record_id), reason)
            for resource, record_id, reason in con.execute(
                "select resource, record_id, reason from raw_quarantine.records where source_key = 'shopify'"
            ).fetchall()
        )
    assert loaded_products == {"1", "6"}
    assert "missing id" in reasons[("customers", "None")]
    assert "unknown currency code 'XXX'" in reasons[("customers", "3")]
    for product_id in (2, 3, 4, 5):
        assert "is not a non-negative decimal string" in reasons[("products", str(product_id))]


def test_full_load_windows_hold_about_equal_numbers_of_records() -> None:
    """A business that grows has most of its orders late: windows of equal time would not be equal work."""
    from datetime import UTC, datetime, timedelta

    from ingestion.sources.shopify import balanced_bounds

    start = datetime(2024, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=1000)
    created = [start + timedelta(days=1000 * (i / 10_000) ** 0.5) for i in range(10_000)]  # ever more a day
    bounds = balanced_bounds(start, end, 5, lambda at: sum(1 for c in created if c < at))
    sizes = [
        sum(1 for c in created if (lo is None or c >= lo) and (hi is None or c < hi))
        for lo, hi in zip([None, *bounds], [*bounds, None], strict=True)
    ]
    assert sum(sizes) == len(created) and max(sizes) - min(sizes) < len(created) / 25, sizes
    equal_time = [start + (end - start) * k / 5 for k in range(1, 5)]
    assert bounds[0] > equal_time[0]  # the first window spans more time than an equal split gives it


def test_progress_lines_show_the_share_done_and_an_eta_when_the_total_is_known() -> None:
    from ingestion.http.progress import eta_text

    assert eta_text(4_000, 10_000, 1_000.0) == ", 40% of 10,000, ETA 6s"
    assert eta_text(10_000, 10_000, 1_000.0) == ", 100% of 10,000"
    assert eta_text(4_000, None, 1_000.0) == ""
    assert eta_text(0, 10_000, 0.0) == ", 0% of 10,000"
