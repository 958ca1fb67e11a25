"""Shopify customers and products ingestion: raw layer equals the sandbox world, incrementally, once; staging builds."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
import requests

from cli.summary import RAW_TABLE_OF_TRUTH
from ingestion.contracts import checked
from ingestion.incremental import parse_instant
from ingestion.pipelines import SOURCES, load, make_pipeline, refresh_quarantine_view
from ingestion.sources import shopify
from ingestion.sources.shopify import customers_contract, products_contract
from sandbox.connect import sandbox_env
from sandbox.protocol import Request, Response
from sandbox.server import SandboxApp, SandboxServer
from sandbox.shopify_api import customer_stats
from sandbox.truth import compute_truth
from sandbox.world import World
from tests.conftest import TEST_WORLD
from tests.helpers import dbt_build, environment, staging_columns

ADVANCE_DAYS = 20
SMALL_PAGES = 25  # the advance test pages in 25s, so "fewer pages" is measured over many pages
LOOKBACK = timedelta(minutes=60)  # shopify_source's default lookback_minutes


class RequestCounter:
    """Counts the Shopify list requests a sandbox serves, per resource (``customers.json`` -> customers)."""

    def __init__(self, app: SandboxApp) -> None:
        self.counts: Counter[str] = Counter()
        serve = app.dispatch

        def dispatch(req: Request) -> tuple[Response, Any]:
            if req.path.startswith("/admin/api/") and req.path.endswith(".json"):
                self.counts[req.path.rsplit("/", 1)[-1].removesuffix(".json")] += 1
            return serve(req)

        app.dispatch = dispatch  # type: ignore[method-assign]

    def take(self) -> Counter[str]:
        counts, self.counts = self.counts, Counter()
        return counts


@pytest.fixture(scope="module")
def shopify_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as server:
        yield server


@pytest.fixture(scope="module")
def first_load(
    tmp_path_factory: pytest.TempPathFactory, shopify_sandbox: SandboxServer
) -> Iterator[tuple[Path, list[tuple[str, Any]]]]:
    """A warehouse with raw_shopify loaded once from the sandbox, and the (resource, pacer) of every HTTP
    client the source built for that load."""
    path = tmp_path_factory.mktemp("shopify") / "wh.duckdb"
    made: list[tuple[str, Any]] = []
    build = shopify.rest_client

    def recording(source: str, resource: str, *args: Any, **kwargs: Any) -> Any:
        made.append((resource, kwargs.get("pacer")))
        return build(source, resource, *args, **kwargs)

    with environment(sandbox_env(shopify_sandbox.url)):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(shopify, "rest_client", recording)
            load("shopify", duckdb_path=path)
        yield path, made


@pytest.fixture(scope="module")
def loaded(first_load: tuple[Path, list[tuple[str, Any]]]) -> Path:
    return first_load[0]


def raw_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            key: con.execute(f"select count(*) from {table}").fetchone()[0]
            for key, table in (
                ("shopify.customers", "raw_shopify.customers"),
                ("shopify.products", "raw_shopify.products"),
                ("shopify.products.variants", "raw_shopify.products__variants"),
                ("shopify.orders", "raw_shopify.orders"),
            )
        }


def truth_counts(world: World) -> dict[str, int]:
    counts = compute_truth(world)["record_counts"]
    return {
        "shopify.customers": counts["shopify.customers"],
        "shopify.products": counts["shopify.products"],
        "shopify.products.variants": len(world.products),  # one variant per product
        "shopify.orders": counts["shopify.orders"],
    }


def raw_customers(path: Path) -> dict[int, tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select id, email, orders_count, cast(total_spent as decimal(18, 2)), updated_at from raw_shopify.customers"
        ).fetchall()
    return {i: (email, count, spent, updated) for i, email, count, spent, updated in rows}


def world_customers(world: World) -> dict[int, tuple]:
    out = {}
    for c in world.commerce.shopify_customers:
        count, spent, updated, _ = customer_stats(c, world)
        out[c.customer_id] = (c.email, count, spent, updated)
    return out


def assert_no_duplicates(path: Path) -> None:
    with duckdb.connect(str(path), read_only=True) as con:
        for table in ("customers", "products", "products__variants"):
            dupes = con.execute(f"select count(*) - count(distinct id) from raw_shopify.{table}").fetchone()[0]
            assert dupes == 0, f"raw_shopify.{table} has {dupes} duplicate ids"


def test_source_is_registered_with_its_new_tables_and_truth_keys() -> None:
    spec = SOURCES["shopify"]
    assert spec.dataset == "raw_shopify"
    assert "products__variants" in spec.nested_tables
    assert {"orders", "customers", "products"} <= set(spec.factory(**spec.placeholders).resources)
    assert RAW_TABLE_OF_TRUTH["shopify.customers"] == "raw_shopify.customers"
    assert RAW_TABLE_OF_TRUTH["shopify.products"] == "raw_shopify.products"


def test_one_pacer_serves_every_resource_of_the_shop(first_load: tuple[Path, list[tuple[str, Any]]]) -> None:
    clients = first_load[1]
    assert {resource for resource, _ in clients} == {"orders", "customers", "products", "checkouts"}
    pacers = {id(pacer) for _, pacer in clients}
    assert len(pacers) == 1 and clients[0][1] is not None  # one leaky bucket per shop, not per endpoint


def test_raw_layer_equals_the_world_and_a_rerun_adds_nothing(loaded: Path, shopify_sandbox: SandboxServer) -> None:
    world = shopify_sandbox.app.world
    assert raw_counts(loaded) == truth_counts(world)
    assert raw_customers(loaded) == world_customers(world)  # timestamps with local offsets land as instants
    with duckdb.connect(str(loaded), read_only=True) as con:
        prices = dict(
            con.execute("select sku, cast(price as decimal(18, 2)) from raw_shopify.products__variants").fetchall()
        )
        products = dict(con.execute("select id, updated_at from raw_shopify.products").fetchall())
    assert prices == {p.sku: p.price_usd for p in world.products}
    assert products == {p.product_id: p.updated_at for p in world.products}
    # products listed before the order history starts are loaded too (the first load is not date-bounded)
    assert any(p.updated_at < parse_instant("2025-01-01T00:00:00Z") for p in world.products)
    assert_no_duplicates(loaded)

    with environment(sandbox_env(shopify_sandbox.url)):
        load("shopify", duckdb_path=loaded)  # nothing changed: only the lookback window is read again
    rows = make_pipeline("shopify", loaded).last_trace.last_normalize_info.row_counts
    assert rows.get("customers", 0) < len(world.commerce.shopify_customers) / 10
    assert rows.get("products", 0) < len(world.products) / 10
    assert raw_counts(loaded) == truth_counts(world)
    assert raw_customers(loaded) == world_customers(world)
    assert_no_duplicates(loaded)


def test_staging_models_build_and_pass_their_tests(
    loaded: Path, shopify_sandbox: SandboxServer, tmp_path: Path
) -> None:
    dbt_build(loaded, "staging.shopify", tmp_path)
    world = shopify_sandbox.app.world
    with duckdb.connect(str(loaded), read_only=True) as con:
        ts = "TIMESTAMP WITH TIME ZONE"
        assert staging_columns(con, "stg_shopify__customers") == [
            ("customer_id", "BIGINT"),
            ("email", "VARCHAR"),
            ("first_name", "VARCHAR"),
            ("last_name", "VARCHAR"),
            ("created_at", ts),
            ("updated_at", ts),
            ("orders_count", "INTEGER"),
            ("total_spent", "DECIMAL(18,2)"),
            ("currency", "VARCHAR"),
        ]
        assert staging_columns(con, "stg_shopify__products") == [
            ("product_id", "BIGINT"),
            ("title", "VARCHAR"),
            ("vendor", "VARCHAR"),
            ("product_type", "VARCHAR"),
            ("status", "VARCHAR"),
            ("created_at", ts),
            ("updated_at", ts),
        ]
        assert staging_columns(con, "stg_shopify__product_variants") == [
            ("variant_id", "BIGINT"),
            ("product_id", "BIGINT"),
            ("sku", "VARCHAR"),
            ("price", "DECIMAL(18,2)"),
        ]
        spent, created = con.execute(
            "select sum(total_spent), min(created_at) from staging.stg_shopify__customers"
        ).fetchone()
        variants = con.execute(
            "select variant_id, product_id, sku, price from staging.stg_shopify__product_variants order by variant_id"
        ).fetchall()
    stats = world_customers(world)
    assert spent == sum((s[2] for s in stats.values()), Decimal("0.00"))
    assert created == min(c.created_at for c in world.commerce.shopify_customers)
    assert variants == sorted((p.variant_id, p.product_id, p.sku, p.price_usd) for p in world.products)


def test_advancing_the_world_brings_new_and_changed_customers_incrementally(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    app = SandboxApp(TEST_WORLD, rate_limits="off")
    served = RequestCounter(app)
    with (
        SandboxServer(app, port=0) as server,
        environment({**sandbox_env(server.url), "SOURCES__SHOPIFY__PAGE_SIZE": str(SMALL_PAGES)}),
    ):
        before = server.app.world
        load("shopify", duckdb_path=path)
        full = served.take()
        assert raw_counts(path) == truth_counts(before)
        assert full["customers"] == math.ceil(len(before.commerce.shopify_customers) / SMALL_PAGES)
        cursor = max(s[3] for s in world_customers(before).values())

        requests.post(f"{server.url}/_sandbox/advance", params={"days": ADVANCE_DAYS}, timeout=30).raise_for_status()
        after = server.app.world
        old, new = world_customers(before), world_customers(after)
        arrived = set(new) - set(old)
        changed = {i for i in old if new[i] != old[i]}
        assert arrived and changed, "precondition: the advanced world brings new customers and changes old ones"
        assert {p.product_id for p in after.products} == {p.product_id for p in before.products}

        load("shopify", duckdb_path=path)
        incremental = served.take()
        # only the window since the cursor (less the lookback) was read again
        window = {i for i, s in new.items() if s[3] >= cursor - LOOKBACK}
        assert arrived | changed <= window
        rows = make_pipeline("shopify", path).last_trace.last_normalize_info.row_counts
        assert rows["customers"] == len(window) < len(new)
        assert incremental["customers"] == max(1, math.ceil(len(window) / SMALL_PAGES))
        for resource in ("orders", "customers"):
            assert incremental[resource] * 4 <= full[resource], (resource, incremental, full)
        assert sum(incremental.values()) * 4 <= sum(full.values()), (incremental, full)

        assert raw_counts(path) == truth_counts(after)
        assert raw_customers(path) == new  # new ones arrived, changed ones carry their new counts and spend
        with duckdb.connect(str(path), read_only=True) as con:
            products = dict(con.execute("select id, updated_at from raw_shopify.products").fetchall())
        assert products == {p.product_id: p.updated_at for p in after.products}  # revised listings updated
        assert_no_duplicates(path)


def _product(product_id: int, **variant: Any) -> dict[str, Any]:
    return {
        "id": product_id,
        "title": f"P{product_id}",
        "updated_at": "2026-03-01T10:00:00-05:00",
        "variants": [
            {"id": product_id * 10, "product_id": product_id, "sku": f"S{product_id}", "price": "4.49", **variant}
        ],
    }


def test_records_breaking_the_contract_are_quarantined_once(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    customers = [
        {"id": 1, "email": "a@example.com", "currency": "USD"},
        {"id": None, "email": "b@example.com"},
        {"id": 3, "currency": "XXX"},
    ]
    products = [
        _product(1),
        _product(2, price="-1.00"),
        _product(3, price=None),
        _product(4, price=4.49),
        _product(5, price="abc"),
        _product(6, price="NaN"),
        _product(7, price="0.00"),
    ]

    @dlt.source(name="shopify", max_table_nesting=2)
    def source() -> Any:
        @dlt.resource(name="customers", primary_key="id", write_disposition="merge")
        def customers_resource() -> Any:
            yield from checked(customers_contract(), json.loads(json.dumps(customers)))

        @dlt.resource(name="products", primary_key="id", write_disposition="merge")
        def products_resource() -> Any:
            yield from checked(products_contract(), json.loads(json.dumps(products)))

        return customers_resource, products_resource

    pipeline = dlt.pipeline(
        "shopify_contract_test",
        destination=dlt.destinations.duckdb(str(path)),
        dataset_name="raw_shopify",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    pipeline.run(source(), loader_file_format="parquet")
    pipeline.run(source(), loader_file_format="parquet")  # seen again (lookback): not quarantined twice
    assert refresh_quarantine_view(path) == 7  # 2 customers, 5 products
    with duckdb.connect(str(path), read_only=True) as con:
        loaded_customers = {r[0] for r in con.execute("select id from raw_shopify.customers").fetchall()}
        loaded_products = {r[0] for r in con.execute("select id from raw_shopify.products").fetchall()}
        reasons = {
            (resource, record_id): reason
            for resource, record_id, reason in con.execute(
                "select resource, record_id, reason from raw_quarantine.records where source_key = 'shopify'"
            ).fetchall()
        }
    assert loaded_customers == {1} and loaded_products == {1, 7}
    assert "missing id" in reasons[("customers", "None")]
    assert "unknown currency code 'XXX'" in reasons[("customers", "3")]
    for product_id in (2, 3, 4, 5, 6):
        assert "variants[0]: price" in reasons[("products", str(product_id))]
        assert "is not a non-negative decimal string" in reasons[("products", str(product_id))]
