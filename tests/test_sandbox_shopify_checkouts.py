"""The Shopify sandbox's abandoned checkouts (``checkouts.json``, ``checkouts/count.json``) and the web session of
every order (``landing_site`` / ``referring_site``), read over HTTP like a client written from Shopify's docs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox import shopify_api
from sandbox.faults import FaultInjector, listing_for
from sandbox.marketing_world import AbandonedCheckout
from sandbox.protocol import parse_time
from sandbox.server import SandboxApp, SandboxServer
from sandbox.truth import compute_truth
from sandbox.world import World
from tests.conftest import TEST_WORLD

SHOPIFY = {"X-Shopify-Access-Token": shopify_api.DEMO_ACCESS_TOKEN}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as s:
        yield s


@pytest.fixture(scope="module")
def world(server: SandboxServer) -> World:
    return server.app.world


def _url(server: SandboxServer, path: str) -> str:
    return f"{server.url}/admin/api/2024-10/{path}"


def all_checkouts(server: SandboxServer, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Shopify REST paging: the first page with the filters, then ``Link: <...>; rel="next"`` until it is gone."""
    url: str | None = _url(server, "checkouts.json")
    rows: list[dict[str, Any]] = []
    while url:
        response = requests.get(url, headers=SHOPIFY, params=params, timeout=30)
        assert response.status_code == 200, response.text[:300]
        rows += response.json()["checkouts"]
        url, params = response.links.get("next", {}).get("url"), {}
    return rows


def count(server: SandboxServer, params: dict[str, Any]) -> int:
    response = requests.get(_url(server, "checkouts/count.json"), headers=SHOPIFY, params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["count"]


def visible_update(c: AbandonedCheckout, world: World) -> Any:
    return c.updated_at if c.updated_at <= world.config.now else c.created_at


def test_paging_reaches_every_checkout_once_and_count_agrees(server: SandboxServer, world: World) -> None:
    response = requests.get(_url(server, "checkouts.json"), headers=SHOPIFY, timeout=30)
    assert len(response.json()["checkouts"]) == 50  # the default limit
    assert "X-Shopify-Shop-Api-Call-Limit" in response.headers  # the shop's one leaky bucket
    ids = [c["id"] for c in all_checkouts(server, {"limit": 37})]
    expected = [c.checkout_id for c in world.marketing.checkouts]
    assert ids == expected and len(expected) > 100  # ascending id, each once
    truth = compute_truth(world)
    assert count(server, {}) == len(ids) == truth["marketing"]["abandoned_checkouts"]
    assert truth["record_counts"]["shopify.checkouts"] == len(ids)
    assert len(all_checkouts(server, {"limit": 250})) == len(ids)


def test_previous_link_and_what_may_accompany_page_info(server: SandboxServer) -> None:
    url = _url(server, "checkouts.json")
    first = requests.get(url, headers=SHOPIFY, params={"limit": 5}, timeout=30)
    assert "previous" not in first.links
    second = requests.get(first.links["next"]["url"], headers=SHOPIFY, timeout=30)
    back = requests.get(second.links["previous"]["url"], headers=SHOPIFY, timeout=30)
    assert [c["id"] for c in back.json()["checkouts"]] == [c["id"] for c in first.json()["checkouts"]]
    token = first.links["next"]["url"].split("page_info=")[1]
    narrowed = requests.get(url, headers=SHOPIFY, params={"page_info": token, "limit": 3, "fields": "id"}, timeout=30)
    assert narrowed.status_code == 200 and [set(c) for c in narrowed.json()["checkouts"]] == [{"id"}] * 3
    for extra in ({"status": "open"}, {"updated_at_min": "2025-01-01"}, {"since_id": "1"}):
        mixed = requests.get(url, headers=SHOPIFY, params={"page_info": token, **extra}, timeout=30)
        assert mixed.status_code == 400 and "page_info" in mixed.json()["errors"]
    orders_token = (
        requests.get(_url(server, "orders.json"), headers=SHOPIFY, params={"limit": 2, "status": "any"}, timeout=30)
        .links["next"]["url"]
        .split("page_info=")[1]
    )
    assert requests.get(url, headers=SHOPIFY, params={"page_info": orders_token}, timeout=30).status_code == 400
    assert requests.get(url, timeout=30).status_code == 401
    assert requests.get(url, headers=SHOPIFY, params={"limit": 251}, timeout=30).status_code == 400
    assert requests.get(url, headers=SHOPIFY, params={"status": "any"}, timeout=30).status_code == 400
    counted = requests.get(_url(server, "checkouts/count.json"), headers=SHOPIFY, params={"status": "x"}, timeout=30)
    assert counted.status_code == 400


def test_filters_are_exact_on_list_and_count(server: SandboxServer, world: World) -> None:
    checkouts = world.marketing.checkouts
    mid = checkouts[len(checkouts) // 2]
    lo, hi = mid.created_at - timedelta(days=20), mid.created_at + timedelta(days=10)
    cases = {
        "created": (
            {"created_at_min": lo.isoformat(), "created_at_max": hi.isoformat()},
            [c for c in checkouts if lo <= c.created_at <= hi],
        ),
        "updated": (
            {"updated_at_min": lo.isoformat(), "updated_at_max": hi.isoformat()},
            [c for c in checkouts if lo <= visible_update(c, world) <= hi],
        ),
        "since_id": ({"since_id": str(mid.checkout_id)}, [c for c in checkouts if c.checkout_id > mid.checkout_id]),
        "open": ({"status": "open"}, checkouts),
        "closed": ({"status": "closed"}, []),  # the simulated shop never closes one
        "ids ignored": ({"ids": str(mid.checkout_id)}, checkouts),  # not a parameter of this endpoint
    }
    for name, (params, expected) in cases.items():
        got = [c["id"] for c in all_checkouts(server, {**params, "limit": 250})]
        assert got == [c.checkout_id for c in expected], name
        assert count(server, params) == len(expected), name
    assert 0 < len(cases["created"][1]) < len(checkouts)


def test_a_checkout_is_shaped_as_shopify_documents(server: SandboxServer, world: World) -> None:
    served = {c["id"]: c for c in all_checkouts(server, {"limit": 250})}
    guests = known = 0
    for c in world.marketing.checkouts:
        row = served[c.checkout_id]
        assert row["token"] == c.token and row["email"] == c.email
        assert row["completed_at"] is None and row["closed_at"] is None and row["source_name"] == "web"
        assert row["currency"] == "USD" and row["presentment_currency"] in ("USD", "EUR", "GBP")
        assert row["abandoned_checkout_url"].startswith("https://") and c.token in row["abandoned_checkout_url"]
        assert isinstance(row["buyer_accepts_marketing"], bool) and row["customer_locale"]
        assert all(isinstance(row[k], str) for k in ("subtotal_price", "total_price", "total_tax", "total_discounts"))
        lines = row["line_items"]
        assert [(li["product_id"], li["variant_id"], li["sku"], li["quantity"]) for li in lines] == [
            (p.product_id, p.variant_id, p.sku, q) for p, q in c.lines
        ]
        assert all(li["title"] and isinstance(li["price"], str) for li in lines)
        subtotal = sum((Decimal(li["price"]) * li["quantity"] for li in lines), Decimal("0.00"))
        assert Decimal(row["subtotal_price"]) == subtotal == c.subtotal == Decimal(row["total_price"])
        # local offset of the customer, the same instant
        offset = timedelta(hours=c.utc_offset_hours)
        assert parse_time(row["created_at"]) == c.created_at and parse_time(row["created_at"]).utcoffset() == offset
        assert parse_time(row["updated_at"]) == visible_update(c, world)
        assert row["referring_site"] == c.source.referring_site
        assert urlsplit(row["landing_site"]).path == c.source.landing_path
        query = {k: v[0] for k, v in parse_qs(urlsplit(row["landing_site"]).query).items()}
        if c.source.utm:
            assert (query["utm_source"], query["utm_medium"], query["utm_campaign"]) == (
                c.source.source,
                c.source.medium,
                c.source.campaign,
            )
            assert query.get("utm_id") == c.source.campaign_id
        else:
            assert query == {}
        if c.customer is None:
            guests += 1
            assert "customer" not in row
        else:
            known += 1
            assert row["customer"]["id"] == c.customer.customer_id and row["customer"]["email"] == c.customer.email
    assert guests and known


def test_every_order_carries_its_session_and_fields_keeps_them(server: SandboxServer, world: World) -> None:
    url = _url(server, "orders.json")
    fields = {"fields": "id,landing_site,referring_site,source_name"}  # repeated with page_info, as Shopify wants
    rows, params = [], {"status": "any", "limit": 250, **fields}
    next_url: str | None = url
    while next_url:
        response = requests.get(next_url, headers=SHOPIFY, params=params, timeout=30)
        rows += response.json()["orders"]
        next_url, params = response.links.get("next", {}).get("url"), fields
    assert {k for r in rows for k in r} == {"id", "landing_site", "referring_site", "source_name"}
    served = {r["id"]: r for r in rows}
    assert set(served) == {o.order_id for o in world.shopify_orders}
    for o in world.shopify_orders:
        row = served[o.order_id]
        assert (row["landing_site"], row["referring_site"], row["source_name"]) == (
            o.landing_site,
            o.referring_site,
            "web",
        )
    full = requests.get(url, headers=SHOPIFY, params={"status": "any", "limit": 1}, timeout=30).json()["orders"][0]
    assert full["landing_site_ref"] is None and "landing_site" in full
    kinds = {(o.traffic.utm, o.referring_site is None) for o in world.shopify_orders}
    assert {(True, False), (False, False), (False, True)} <= kinds  # paid, organic/referral, direct


def _page_through_faults(base: str) -> list[int]:
    """Every checkout id served while paging at limit 10, retrying transient faults (429, 5xx, broken bodies)."""
    seen: list[int] = []
    url: str | None = f"{base}/admin/api/2024-10/checkouts.json"
    params: dict[str, Any] = {"limit": 10}
    while url:
        try:
            response = requests.get(url, headers=SHOPIFY, params=params, timeout=2)
            body = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError):
            continue
        if body is None:
            continue
        seen += [c["id"] for c in body["checkouts"]]
        url, params = response.links.get("next", {}).get("url"), {}
    return seen


def test_page_shift_faults_apply_to_the_checkouts_listing(world: World) -> None:
    """Under heavy faults a continuation page may start with the previous page's last checkout: a client that
    dedupes by id still gets every checkout once."""
    listing = listing_for("GET", "/admin/api/2024-10/checkouts.json")
    assert listing is not None and listing.cursor == "page_info"
    expected = [c.checkout_id for c in world.marketing.checkouts]
    app = SandboxApp(TEST_WORLD, rate_limits="off", faults="heavy", slow_s=3)
    with SandboxServer(app, port=0) as faulty:
        for fault_seed in range(20):
            app.faults = FaultInjector("heavy", fault_seed)  # another replayable sequence, the same world
            seen = _page_through_faults(faulty.url)
            assert sorted(set(seen)) == expected
            if len(seen) > len(set(seen)):
                break
    assert len(seen) > len(set(seen)), "no page shift in 20 seeds"
    repeated = [i for n, i in enumerate(seen) if i in seen[:n]]
    assert all(seen[seen.index(i) + 1] == i for i in repeated)  # served again right after itself: the shift
