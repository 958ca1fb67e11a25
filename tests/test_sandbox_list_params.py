"""Every list-valued query parameter the sandbox accepts (each vendor module's ``LIST_PARAMS``) honours the
forms its vendor documents and the ones clients send: comma-separated (``a=x,y``), repeated (``a=x&a=y``)
and, for Shopify's Rails API, bracketed (``a[]=x&a[]=y``). Every form gives the same answer, and the answer
reflects every value (not only the last one, as a query string read into a dict would)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
import requests

from sandbox import ebay_api, hubspot_api, shopify_api
from sandbox.protocol import Request
from sandbox.server import VENDORS, SandboxApp, SandboxServer
from sandbox.world import WorldConfig
from tests.helpers import amazon_headers

WORLD = WorldConfig(seed=9, scale=0.02, as_of=date(2026, 6, 30))
SHOPIFY = {"X-Shopify-Access-Token": shopify_api.DEMO_ACCESS_TOKEN}
HUBSPOT = {"Authorization": f"Bearer {hubspot_api.DEMO_ACCESS_TOKEN}"}
Pairs = list[tuple[str, str]]


def forms(name: str, values: list[str], brackets: bool = False) -> list[Pairs]:
    """The ways a client writes ``name`` = ``values``: comma list, repeated, mixed (and ``name[]``)."""
    out = [[(name, ",".join(values))], [(name, v) for v in values]]
    if len(values) > 2:
        out.append([(name, values[0]), (name, ",".join(values[1:]))])
    if brackets:
        out.append([(f"{name}[]", v) for v in values])
    return out


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxApp(WORLD, rate_limits="off"), port=0) as running:
        yield running


def _same_answer(get: Callable[[Pairs], Any], name: str, values: list[str], brackets: bool = False) -> Any:
    answers = [get(f) for f in forms(name, values, brackets)]
    assert all(a == answers[0] for a in answers), f"{name}: the forms answer differently: {answers}"
    return answers[0]


def test_the_request_keeps_every_value_of_a_repeated_parameter() -> None:
    query, pairs = Request.parse_query("a=1&b=x&a=2,3&a[]=4&a=2")
    req = Request("GET", "/", query, {}, pairs=pairs)
    assert req.query["a"] == "2" and req.query["b"] == "x"  # the single-value accessor: the last value
    assert req.values("a") == ["1", "2", "3", "4"]
    assert req.values("a", comma=False) == ["1", "2,3", "4", "2"]
    assert req.values("missing") is None and not req.has("missing") and req.has("a")
    assert Request("GET", "/", {"a": "x,y"}, {}).values("a") == ["x", "y"]  # built from a dict alone


# --- Shopify: ids, fields (every list endpoint), events' filter, shop.json's fields ---


def _shopify(server: SandboxServer, resource: str, pairs: Pairs) -> requests.Response:
    response = requests.get(f"{server.url}/admin/api/2024-10/{resource}", headers=SHOPIFY, params=pairs, timeout=30)
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("resource", ["orders.json", "customers.json", "products.json", "events.json"])
def test_shopify_ids_and_fields(server: SandboxServer, resource: str) -> None:
    key = resource.removesuffix(".json")
    base = [("status", "any"), ("limit", "250")] if resource == "orders.json" else [("limit", "250")]
    ids = [str(r["id"]) for r in _shopify(server, resource, [*base, ("limit", "3")]).json()[key]]
    assert len(ids) == 3

    def by_ids(pairs: Pairs) -> list[int]:
        return [r["id"] for r in _shopify(server, resource, [*base, *pairs]).json()[key]]

    assert _same_answer(by_ids, "ids", ids, brackets=True) == [int(i) for i in ids]

    def keys(pairs: Pairs) -> set[str]:
        rows = _shopify(server, resource, [*base, ("limit", "5"), *pairs]).json()[key]
        return {k for r in rows for k in r}

    assert _same_answer(keys, "fields", ["id", "created_at"], brackets=True) == {"id", "created_at"}


def test_shopify_events_filter(server: SandboxServer) -> None:
    def found(pairs: Pairs) -> list[tuple[str, int]]:
        rows = _shopify(server, "events.json", [("limit", "250"), *pairs]).json()["events"]
        return [(e["subject_type"], e["id"]) for e in rows]

    both = _same_answer(found, "filter", ["Order", "Product"], brackets=True)
    products = found([("filter", "Product")])
    assert both != products and {t for t, _ in both} >= {"Order"}
    assert set(found([("filter", "Order")])) | set(products) >= set(both)


def test_shopify_shop_fields(server: SandboxServer) -> None:
    def keys(pairs: Pairs) -> set[str]:
        return set(_shopify(server, "shop.json", pairs).json()["shop"])

    assert _same_answer(keys, "fields", ["id", "currency", "iana_timezone"], brackets=True) == {
        "id",
        "currency",
        "iana_timezone",
    }


def test_shopify_checkouts_fields(server: SandboxServer) -> None:
    def keys(pairs: Pairs) -> set[str]:
        return {k for r in _shopify(server, "checkouts.json", [("limit", "5"), *pairs]).json()["checkouts"] for k in r}

    assert _same_answer(keys, "fields", ["id", "landing_site"], brackets=True) == {"id", "landing_site"}


# --- HubSpot: properties, propertiesWithHistory, associations (list and read) ---


@pytest.mark.parametrize("read", [False, True], ids=["list", "read"])
def test_hubspot_properties_history_and_associations(server: SandboxServer, read: bool) -> None:
    listed = requests.get(
        f"{server.url}/crm/v3/objects/deals",
        headers=HUBSPOT,
        params={"limit": 50, "associations": "companies,contacts"},
        timeout=30,
    ).json()["results"]
    linked_both = next(r["id"] for r in listed if len(r.get("associations", {})) == 2)
    path = f"/crm/v3/objects/deals/{linked_both}" if read else "/crm/v3/objects/deals"

    def results(pairs: Pairs) -> list[dict[str, Any]]:
        response = requests.get(f"{server.url}{path}", headers=HUBSPOT, params=[("limit", "50"), *pairs], timeout=30)
        assert response.status_code == 200, response.text
        body = response.json()
        return [body] if read else body["results"]

    props = _same_answer(
        lambda p: [sorted(r["properties"]) for r in results(p)], "properties", ["dealname", "amount", "dealstage"]
    )
    assert all({"dealname", "amount", "dealstage"} <= set(p) for p in props)
    history = _same_answer(
        lambda p: [sorted(r["propertiesWithHistory"]) for r in results(p)],
        "propertiesWithHistory",
        ["amount", "dealstage"],
    )
    assert all(h == ["amount", "dealstage"] for h in history)
    linked = _same_answer(
        lambda p: [sorted(r.get("associations", {})) for r in results(p)], "associations", ["companies", "contacts"]
    )
    assert ["companies", "contacts"] in linked  # both kinds, not only the last one asked for


def test_hubspot_next_link_keeps_repeated_parameters(server: SandboxServer) -> None:
    params = [("limit", "5"), ("associations", "companies"), ("associations", "contacts")]
    body = requests.get(f"{server.url}/crm/v3/objects/deals", headers=HUBSPOT, params=params, timeout=30).json()
    link = body["paging"]["next"]["link"]
    assert "associations=companies&associations=contacts" in link
    again = requests.get(link, headers=HUBSPOT, timeout=30).json()
    assert any("companies" in r.get("associations", {}) for r in again["results"])


# --- Amazon: MarketplaceIds ---


def test_amazon_marketplace_ids(server: SandboxServer) -> None:
    headers = amazon_headers(server.url)

    def markets(pairs: Pairs) -> set[str]:
        response = requests.get(
            f"{server.url}/orders/v0/orders",
            headers=headers,
            params=[("CreatedAfter", "2026-04-01T00:00:00Z"), ("MaxResultsPerPage", "100"), *pairs],
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return {o["MarketplaceId"] for o in response.json()["payload"]["Orders"]}

    wanted = ["ATVPDKIKX0DER", "A1F83G8C2ARO7P", "A1PA6795UKMFR9"]
    assert _same_answer(markets, "MarketplaceIds", wanted) == set(wanted)


# --- eBay: orderIds, fieldGroups, filter ---


def _ebay_headers(base: str) -> dict[str, str]:
    basic = base64.b64encode(f"{ebay_api.DEMO_CLIENT_ID}:{ebay_api.DEMO_CLIENT_SECRET}".encode()).decode()
    token = requests.post(
        f"{base}/identity/v1/oauth2/token",
        headers={"Authorization": f"Basic {basic}"},
        data={"grant_type": "refresh_token", "refresh_token": ebay_api.DEMO_REFRESH_TOKEN},
        timeout=30,
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_ebay_order_ids_field_groups_and_filter(server: SandboxServer) -> None:
    headers = _ebay_headers(server.url)
    url = f"{server.url}{ebay_api.ORDERS_PATH}"

    def orders(pairs: Pairs) -> list[str]:
        response = requests.get(url, headers=headers, params=[("limit", "200"), *pairs], timeout=30)
        assert response.status_code == 200, response.text
        return [o["orderId"] for o in response.json()["orders"]]

    created = "creationdate:[2026-01-01T00:00:00.000Z..]"
    some = orders([("filter", created)])[:3]
    assert len(some) == 3
    assert sorted(_same_answer(orders, "orderIds", some)) == sorted(some)
    assert _same_answer(orders, "fieldGroups", ["TAX_BREAKDOWN", "TAX_BREAKDOWN"]) == orders(
        [("fieldGroups", "TAX_BREAKDOWN")]
    )
    status = "orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS}"
    narrowed = _same_answer(orders, "filter", [created, status])
    assert set(narrowed) < set(orders([("filter", created)]))  # both expressions apply, not just the last
    assert set(narrowed) <= set(orders([("filter", status)]) + orders([("filter", f"{created},{status}")]))


# --- FX: symbols ---


def test_fx_symbols(server: SandboxServer) -> None:
    def symbols(pairs: Pairs) -> list[str]:
        response = requests.get(f"{server.url}/fx/v1/2026-03-02", params=pairs, timeout=30)
        assert response.status_code == 200, response.text
        return sorted(response.json()["rates"])

    assert _same_answer(symbols, "symbols", ["EUR", "GBP", "CAD"]) == ["CAD", "EUR", "GBP"]


# --- Google Sheets: ranges (repeated only: an A1 range may itself hold a comma-free list, Google never splits) ---


def test_sheets_ranges(server: SandboxServer) -> None:
    from sandbox import plan_world, sheets_api

    def titles(pairs: Pairs) -> list[str]:
        response = requests.get(
            f"{server.url}/v4/spreadsheets/{plan_world.SPREADSHEET_ID}",
            params=[*pairs, ("key", sheets_api.DEMO_API_KEY)],
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return [s["properties"]["title"] for s in response.json()["sheets"]]

    assert titles([("ranges", "Plan!A1:B2"), ("ranges", "Assumptions")]) == ["Plan", "Assumptions"]
    assert titles([("ranges", "Assumptions!A1")]) == ["Assumptions"]


COVERED = {
    ("shopify", e, p)
    for e in ("orders.json", "customers.json", "products.json", "events.json")
    for p in ("ids", "fields")
} | {
    ("shopify", "events.json", "filter"),
    ("shopify", "shop.json", "fields"),
    ("shopify", "checkouts.json", "fields"),
    *(
        ("hubspot", e, p)
        for e in ("GET /crm/v3/objects/{obj}", "GET /crm/v3/objects/{obj}/{id}")
        for p in ("properties", "propertiesWithHistory", "associations")
    ),
    ("amazon", "getOrders", "MarketplaceIds"),
    *(("ebay", "getOrders", p) for p in ("orderIds", "fieldGroups", "filter")),
    ("fx", "rates", "symbols"),
    ("sheets", "sheets", "ranges"),
}


def test_every_declared_list_parameter_is_covered_here() -> None:
    declared = {(v.NAME, e, p) for v in VENDORS for e, params in v.LIST_PARAMS.items() for p in params}
    assert declared == COVERED
