"""Shopify's web sessions and abandoned checkouts through the warehouse: each order's UTM parameters and referring
host in stg_shopify__orders equal its traffic source in the world, the abandoned checkouts load once and reconcile
with the truth to the cent, bad checkouts are quarantined, an advanced world is picked up, and PostgreSQL parses
the same values as DuckDB."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dlt
import pytest
import requests

from ingestion.contracts import checked
from ingestion.pipelines import load, make_pipeline, refresh_quarantine_view
from ingestion.sources.shopify.contracts import graphql_checkouts_contract
from sandbox.commerce_world import ShopifyOrder
from sandbox.connect import sandbox_env
from sandbox.marketing_world import AbandonedCheckout, TrafficSource
from sandbox.server import SandboxApp, SandboxServer
from sandbox.truth import compute_truth
from sandbox.world import World
from tests.conftest import TEST_WORLD
from tests.helpers import dbt_build, environment, query
from tests.pg_scratch import scratch_database

STAGING = "staging.shopify"
ORDER_SQL = (
    "select order_id, utm_source, utm_medium, utm_campaign, utm_id, referring_host, landing_site, referring_site "
    "from staging.stg_shopify__orders order by order_id"
)
CHECKOUT_SQL = (
    "select checkout_id, customer_id, email_hash, subtotal_price, total_price, line_items_count, items_quantity, "
    "utm_source, utm_medium, utm_campaign, utm_id, referring_host from staging.stg_shopify__abandoned_checkouts "
    "order by checkout_id"
)


def checkout_gid(checkout_id: int) -> str:
    """An abandoned checkout's global id: its id in raw_shopify (the GraphQL type has no legacyResourceId)."""
    return f"gid://shopify/AbandonedCheckout/{checkout_id}"


def session_of(src: TrafficSource) -> tuple[str | None, ...]:
    """(utm_source, utm_medium, utm_campaign, utm_id, referring_host) of a traffic source, from the world's facts."""
    host = urlsplit(src.referring_site).hostname.removeprefix("www.") if src.referring_site else None
    if not src.utm:
        return (None, None, None, None, host)
    return (src.source, src.medium, src.campaign, src.campaign_id, host)


def expected_orders(world: World) -> list[tuple[Any, ...]]:
    def row(o: ShopifyOrder) -> tuple[Any, ...]:
        return (o.order_id, *session_of(o.traffic), o.landing_site, o.referring_site)

    return sorted(row(o) for o in world.shopify_orders)


def expected_checkouts(world: World) -> list[tuple[Any, ...]]:
    def row(c: AbandonedCheckout) -> tuple[Any, ...]:
        email_hash = hashlib.md5(c.email.strip().lower().encode()).hexdigest()
        return (
            c.checkout_id,
            c.customer.customer_id if c.customer else None,
            email_hash,
            c.subtotal,
            c.subtotal,
            len(c.lines),
            sum(q for _, q in c.lines),
            *session_of(c.source),
        )

    return [row(c) for c in world.marketing.checkouts]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as s, environment(sandbox_env(s.url)):
        yield s


@pytest.fixture(scope="module")
def built(server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shopify_marketing")
    warehouse = root / "wh.duckdb"
    load("shopify", duckdb_path=warehouse)
    dbt_build(warehouse, STAGING, root)
    return warehouse


def test_each_orders_utm_and_referring_host_equal_its_traffic_source(built: Path, server: SandboxServer) -> None:
    world = server.app.world
    got, want = query(built, ORDER_SQL), expected_orders(world)
    assert got == want
    by_campaign = Counter((r[1], r[2], r[3]) for r in got)
    recount = Counter(session_of(o.traffic)[:3] for o in world.shopify_orders)
    assert by_campaign == recount
    assert {k[0] for k in recount} >= {"google", "facebook", "klaviyo", None}
    assert Counter(r[5] for r in got) == Counter(session_of(o.traffic)[4] for o in world.shopify_orders)


def test_checkouts_reconcile_with_the_truth_to_the_cent(built: Path, server: SandboxServer) -> None:
    world = server.app.world
    truth = compute_truth(world)
    got = query(built, CHECKOUT_SQL)
    assert len(got) == truth["marketing"]["abandoned_checkouts"] == truth["record_counts"]["shopify.checkouts"]
    assert got == expected_checkouts(world)
    assert {type(r[3]) for r in got} == {Decimal}
    (lines,) = query(built, "select count(*) from staging.stg_shopify__abandoned_checkout_line_items")[0]
    assert lines == sum(len(c.lines) for c in world.marketing.checkouts)
    # no clear-text email in staging: no email column, no value with an address
    columns = {
        c
        for (c,) in query(
            built,
            "select column_name from information_schema.columns where table_schema = 'staging' "
            "and table_name = 'stg_shopify__abandoned_checkouts'",
        )
    }
    assert "email_hash" in columns and not {c for c in columns if "email" in c} - {"email_hash"}
    emails = {c.email for c in world.marketing.checkouts}
    values = {str(v) for row in query(built, "select * from staging.stg_shopify__abandoned_checkouts") for v in row}
    assert not emails & values and not any("@" in v for v in values)


def test_a_rerun_adds_nothing(built: Path, server: SandboxServer, tmp_path: Path) -> None:
    before_orders, before_checkouts = query(built, ORDER_SQL), query(built, CHECKOUT_SQL)
    load("shopify", duckdb_path=built)
    rows = make_pipeline("shopify", built).last_trace.last_normalize_info.row_counts
    assert rows.get("abandoned_checkouts", 0) < len(before_checkouts) / 10  # only the lookback window again
    dbt_build(built, STAGING, tmp_path)
    assert query(built, ORDER_SQL) == before_orders and query(built, CHECKOUT_SQL) == before_checkouts
    assert query(built, "select count(*) - count(distinct id) from raw_shopify.abandoned_checkouts") == [(0,)]


def test_an_advanced_world_brings_the_new_checkouts(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as s, environment(sandbox_env(s.url)):
        load("shopify", duckdb_path=warehouse)
        before = len(s.app.world.marketing.checkouts)
        requests.post(f"{s.url}/_sandbox/advance", params={"days": 10}, timeout=60).raise_for_status()
        after = s.app.world
        assert len(after.marketing.checkouts) > before
        load("shopify", duckdb_path=warehouse)
        rows = make_pipeline("shopify", warehouse).last_trace.last_normalize_info.row_counts
        assert rows["abandoned_checkouts"] < len(after.marketing.checkouts) / 2  # incrementally
        dbt_build(warehouse, STAGING, tmp_path)
    assert query(warehouse, CHECKOUT_SQL) == expected_checkouts(after)
    # each checkout's last update as the advanced shop shows it: one started late on the first world's last day
    # shows its creation until its update arrives with the later world, and the second load brings that update
    now = after.config.now
    shown = {
        checkout_gid(c.checkout_id): c.updated_at if c.updated_at <= now else c.created_at
        for c in after.marketing.checkouts
    }
    assert dict(query(warehouse, "select id, updated_at from raw_shopify.abandoned_checkouts")) == shown


def test_checkouts_breaking_the_contract_are_quarantined(tmp_path: Path) -> None:
    def checkout(checkout_id: int, **changes: Any) -> dict[str, Any]:
        """An abandoned checkout as the GraphQL Admin API sends it; ``line_*`` changes go to its one line item."""

        def bag(amount: str | None) -> dict[str, Any]:
            return {"shopMoney": {"amount": amount, "currencyCode": "USD"}}

        line = {
            "id": f"gid://shopify/AbandonedCheckoutLineItem/{checkout_id}00",
            "quantity": 1,
            "originalUnitPriceSet": bag("4.49"),
        }
        record = {
            "id": checkout_gid(checkout_id),
            "createdAt": "2026-03-01T14:00:00Z",
            "updatedAt": "2026-03-01T15:00:00Z",
            "subtotalPriceSet": bag("4.49"),
            "totalPriceSet": bag("4.49"),
            "lineItems": [line],
        }
        for key, value in changes.items():
            if key == "currency":
                record["totalPriceSet"]["shopMoney"]["currencyCode"] = value
            elif key == "total_price":
                record["totalPriceSet"]["shopMoney"]["amount"] = value
            elif key == "line_price":
                line["originalUnitPriceSet"]["shopMoney"]["amount"] = value
            elif key.startswith("line_"):
                line[key.removeprefix("line_")] = value
            else:
                record[key] = value
        return record

    records = [
        checkout(1),
        checkout(2, currency="XXX"),
        checkout(3, total_price=None),
        checkout(4, line_quantity=0),
        checkout(5, line_price="-1.00"),
        checkout(6, updatedAt=None),
        checkout(7, line_quantity="2"),  # drift: coerced, loaded
    ]

    @dlt.source(name="shopify", max_table_nesting=2)
    def source() -> Any:
        @dlt.resource(name="abandoned_checkouts", primary_key="id", write_disposition="merge")
        def resource() -> Any:
            yield from checked(graphql_checkouts_contract(), json.loads(json.dumps(records)))

        return resource

    path = tmp_path / "wh.duckdb"
    pipeline = dlt.pipeline(
        "shopify_checkouts_contract",
        destination=dlt.destinations.duckdb(str(path)),
        dataset_name="raw_shopify",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    pipeline.run(source(), loader_file_format="parquet")
    pipeline.run(source(), loader_file_format="parquet")  # seen again: not quarantined twice
    assert refresh_quarantine_view(path) == 5
    reasons = {
        record_id.rpartition("/")[2]: reason
        for record_id, reason in query(
            path,
            "select record_id, reason from raw_quarantine.records where resource = 'abandoned_checkouts'",
        )
    }
    assert sorted(reasons) == ["2", "3", "4", "5", "6"]
    assert "unknown currency code 'XXX'" in reasons["2"]
    assert "totalPriceSet.shopMoney.amount" in reasons["3"]
    assert "lineItems[0]" in reasons["4"] and "quantity 0" in reasons["4"]
    assert "lineItems[0]" in reasons["5"] and "'-1.00'" in reasons["5"]
    assert "missing updatedAt" in reasons["6"]
    assert sorted(query(path, "select id from raw_shopify.abandoned_checkouts")) == [
        (checkout_gid(1),),
        (checkout_gid(7),),
    ]
    assert query(path, "select quantity from raw_shopify.abandoned_checkouts__line_items order by quantity") == [
        (1,),
        (2,),
    ]


def test_postgres_parses_the_same_values(built: Path, server: SandboxServer, tmp_path: Path) -> None:
    """The dispatched macros on PostgreSQL: the same load and staging build give the same rows as on DuckDB."""
    with scratch_database("salesdw_shop_utm") as database:
        env = {"SALESDW_TARGET": "postgres", "PGDATABASE": database, "SALESDW_DBT_TARGET": "postgres"}
        with environment(env):
            load("shopify", duckdb_path=tmp_path / "state.duckdb")
            dbt_build(tmp_path / "state.duckdb", STAGING, tmp_path)
            pg_orders, pg_checkouts = query(tmp_path, ORDER_SQL), query(tmp_path, CHECKOUT_SQL)
    assert pg_orders == query(built, ORDER_SQL) == expected_orders(server.app.world)
    assert pg_checkouts == query(built, CHECKOUT_SQL)
