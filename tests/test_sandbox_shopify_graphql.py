"""The Shopify GraphQL Admin API 2026-10 the sandbox serves (sandbox/shopify_graphql.py, shopify_nodes.py), its bulk
query operations (shopify_bulk.py) and the client-credentials token exchange (shopify_oauth.py), checked against
the simulated shop: auth, Relay paging and search, errors, calculated query cost and THROTTLED, money that
reconciles with the world's orders, and the JSONL result of a bulk operation as a client downloads it."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from sandbox import shopify_bulk, shopify_oauth
from sandbox.protocol import Request, Response
from sandbox.server import SandboxApp, SandboxServer
from sandbox.shopify_api import DEMO_ACCESS_TOKEN
from sandbox.shopify_nodes import utc
from sandbox.world import World
from tests.conftest import TEST_WORLD

VERSION = "2026-10"
UNAUTHORIZED = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
SINCE = "2026-03-01T00:00:00Z"  # the incremental bound of the paging tests
BULK_SINCE = "2026-01-01T00:00:00Z"
BULK_FIELDS = "id status errorCode objectCount rootObjectCount fileSize url partialDataUrl"
Call = Callable[[str, dict[str, Any] | None], dict[str, Any]]


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    return SandboxApp(TEST_WORLD, rate_limits="off")


@pytest.fixture(scope="module")
def world(app: SandboxApp) -> World:
    return app.world


def gql(
    app: SandboxApp,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = DEMO_ACCESS_TOKEN,
    version: str = VERSION,
) -> Response:
    """One GraphQL request, in-process."""
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["x-shopify-access-token"] = token
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    return app.handle(Request("POST", f"/admin/api/{version}/graphql.json", {}, headers, body))


def data_of(response: Response) -> dict[str, Any]:
    assert response.status == 200, response.body
    assert "errors" not in response.body, response.body["errors"]
    return response.body["data"]


def token_request(app: SandboxApp, form: dict[str, str]) -> Response:
    body = urlencode(form).encode()
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return app.handle(Request("POST", "/admin/oauth/access_token", {}, headers, body))


def credentials(**override: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": shopify_oauth.CLIENT_ID,
        "client_secret": shopify_oauth.CLIENT_SECRET,
        **override,
    }


def numeric(gid: str) -> int:
    return int(gid.rsplit("/", 1)[1])


def stamp(at: datetime) -> str:
    return utc(at) or ""


# --- 1. auth ----------------------------------------------------------------------------------------------------


def test_missing_or_unknown_token_gets_shopifys_401(app: SandboxApp) -> None:
    for token in (None, "", "shpat_not_a_token", "shpat_eyJjIjoiZm9vIn0.0123456789abcdef0123456789abcdef"):
        response = gql(app, "{ shop { name } }", token=token)
        assert response.status == 401, token
        assert response.body == UNAUTHORIZED


def test_legacy_static_token_still_works(app: SandboxApp) -> None:
    shop = data_of(gql(app, "{ shop { name currencyCode myshopifyDomain } }", token=DEMO_ACCESS_TOKEN))["shop"]
    assert shop == {"name": "PastaPro", "currencyCode": "USD", "myshopifyDomain": "pastapro.myshopify.com"}


def test_client_credentials_grant_issues_a_token_that_expires(app: SandboxApp, monkeypatch: pytest.MonkeyPatch) -> None:
    t0 = 1_780_000_000.0
    monkeypatch.setattr(shopify_oauth, "CLOCK", lambda: t0)
    response = token_request(app, credentials())
    assert response.status == 200, response.body
    assert set(response.body) == {"access_token", "scope", "expires_in"}
    assert response.body["expires_in"] == 86399
    assert "read_orders" in response.body["scope"].split(",")
    token = response.body["access_token"]
    assert token != DEMO_ACCESS_TOKEN
    assert data_of(gql(app, "{ shop { name } }", token=token))["shop"]["name"] == "PastaPro"

    # a token whose payload is altered (a later expiry) no longer matches its signature
    payload, _, signature = token[len("shpat_") :].rpartition(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged_payload = base64.urlsafe_b64encode(json.dumps({**claims, "e": claims["e"] + 10**6}).encode()).decode()
    forged = f"shpat_{forged_payload.rstrip('=')}.{signature}"
    assert gql(app, "{ shop { name } }", token=forged).status == 401

    monkeypatch.setattr(shopify_oauth, "CLOCK", lambda: t0 + 86398)  # still within its lifetime
    assert gql(app, "{ shop { name } }", token=token).status == 200
    monkeypatch.setattr(shopify_oauth, "CLOCK", lambda: t0 + 86400)
    expired = gql(app, "{ shop { name } }", token=token)
    assert expired.status == 401
    assert expired.body == UNAUTHORIZED
    renewed = token_request(app, credentials())  # the app asks for a new one, which works
    assert gql(app, "{ shop { name } }", token=renewed.body["access_token"]).status == 200


def test_token_endpoint_errors(app: SandboxApp) -> None:
    wrong = token_request(app, credentials(client_secret="shpss_wrong"))
    assert wrong.status == 400
    assert wrong.body["error"] == "invalid_client"
    unknown = token_request(app, credentials(client_id="0" * 32))
    assert (unknown.status, unknown.body["error"]) == (400, "invalid_client")
    other = token_request(app, credentials(grant_type="authorization_code"))
    assert (other.status, other.body["error"]) == (400, "unsupported_grant_type")
    missing = token_request(app, {"grant_type": "client_credentials", "client_id": shopify_oauth.CLIENT_ID})
    assert (missing.status, missing.body["error"]) == (400, "invalid_request")
    for bad in (wrong, unknown, other, missing):
        assert "access_token" not in bad.body and bad.body["error_description"]


# --- 2. paging --------------------------------------------------------------------------------------------------

ORDERS_PAGE = """
query($after: String, $q: String) {
  orders(first: 25, after: $after, sortKey: UPDATED_AT, query: $q) {
    edges { cursor node { id updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def test_orders_walk_every_matching_order_once_in_updated_order(app: SandboxApp, world: World) -> None:
    search = f"updated_at:>='{SINCE}'"
    seen: list[tuple[str, int]] = []
    after: str | None = None
    pages = 0
    while True:
        page = data_of(gql(app, ORDERS_PAGE, {"after": after, "q": search}))["orders"]
        pages += 1
        seen += [(e["node"]["updatedAt"], numeric(e["node"]["id"])) for e in page["edges"]]
        assert page["pageInfo"]["endCursor"] == (page["edges"][-1]["cursor"] if page["edges"] else None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert pages < 100
    bound = datetime.fromisoformat(SINCE.replace("Z", "+00:00"))
    want = sorted((stamp(o.updated_at), o.order_id) for o in world.shopify_orders if o.updated_at >= bound)
    assert len(want) > 50  # several pages
    assert len(seen) == len(set(seen))  # nothing twice
    assert seen == want  # every matching order, in (updatedAt, id) order
    assert pages == -(-len(want) // 25)

    count = data_of(gql(app, "query($q: String) { ordersCount(query: $q) { count precision } }", {"q": search}))
    assert count["ordersCount"] == {"count": len(want), "precision": "EXACT"}
    everything = data_of(gql(app, "{ ordersCount { count } }"))["ordersCount"]["count"]
    assert everything == len(world.shopify_orders) > len(want)


def test_connection_page_size_errors(app: SandboxApp) -> None:
    missing = gql(app, "{ orders { nodes { id } } }")
    assert missing.status == 200
    assert [e["message"] for e in missing.body["errors"]] == ["you must provide one of first or last"]
    assert missing.body.get("data") is None
    too_big = gql(app, "{ orders(first: 300) { nodes { id } } }")
    assert too_big.status == 200
    assert "page size (300) exceeds the maximum of 250" in too_big.body["errors"][0]["message"]
    assert too_big.body.get("data") is None


LINES_FIRST = """
query($id: ID!) {
  order(id: $id) { lineItems(first: 1) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }
}"""
LINES_AFTER = """
query($id: ID!, $after: String) {
  node(id: $id) {
    ... on Order { lineItems(first: 1, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }
  }
}"""


def test_nested_line_items_continue_through_node(app: SandboxApp, world: World) -> None:
    order = next(o for o in world.shopify_orders if len(o.lines) >= 3)
    order_gid = f"gid://shopify/Order/{order.order_id}"
    first = data_of(gql(app, LINES_FIRST, {"id": order_gid}))["order"]["lineItems"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert len(first["edges"]) == 1
    ids = [numeric(first["edges"][0]["node"]["id"])]
    cursor = first["pageInfo"]["endCursor"]
    assert cursor == first["edges"][0]["cursor"]
    for _ in range(10):
        page = data_of(gql(app, LINES_AFTER, {"id": order_gid, "after": cursor}))["node"]["lineItems"]
        ids += [numeric(n["id"]) for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert ids == [li.line_id for li in order.lines]


# --- 3. bad queries ---------------------------------------------------------------------------------------------


def test_unknown_field_is_a_graphql_error(app: SandboxApp) -> None:
    response = gql(app, "{ orders(first: 1) { nodes { id grossSales } } }")
    assert response.status == 200
    assert "data" not in response.body
    messages = [e["message"] for e in response.body["errors"]]
    assert any("Cannot query field" in m and "grossSales" in m for m in messages), messages


def test_invalid_json_body_is_a_400(app: SandboxApp) -> None:
    headers = {"content-type": "application/json", "x-shopify-access-token": DEMO_ACCESS_TOKEN}
    response = app.handle(Request("POST", f"/admin/api/{VERSION}/graphql.json", {}, headers, b'{"query": "{ shop'))
    assert response.status == 400
    assert "errors" in response.body and "data" not in response.body


# --- 4. cost ----------------------------------------------------------------------------------------------------

EXPENSIVE = "{ orders(first: 60) { nodes { id lineItems(first: 10) { nodes { id } } } } }"
EXPENSIVE_COST = 2 + 60 * (1 + 2 + 10 * 1)  # Shopify's formula: a connection 2 + first x (an object 1 + its fields)
TOO_EXPENSIVE = "{ orders(first: 250) { nodes { id lineItems(first: 10) { nodes { id } } } } }"


def test_cost_extension_reports_requested_actual_and_bucket(app: SandboxApp) -> None:
    body = gql(app, EXPENSIVE).body
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] >= cost["actualQueryCost"] > 0
    # the line items really held are fewer than the ten a node may have: the actual cost is lower
    assert cost["requestedQueryCost"] > cost["actualQueryCost"]
    assert set(cost["throttleStatus"]) == {"maximumAvailable", "currentlyAvailable", "restoreRate"}


def test_real_bucket_max_cost_and_throttling() -> None:
    """The Standard plan's bucket: each query takes its requested cost and gets back what it did not use; a
    query is THROTTLED once the bucket holds less than it requests."""
    real = SandboxApp(TEST_WORLD, rate_limits="real")

    def timed(query: str) -> tuple[dict[str, Any], float]:
        started = time.monotonic()
        body = gql(real, query).body
        return body, 100 * (time.monotonic() - started) + 1  # the points restored meanwhile, and int() rounding

    first, slack = timed(EXPENSIVE)
    status = first["extensions"]["cost"]["throttleStatus"]
    assert (status["maximumAvailable"], status["restoreRate"]) == (2000, 100)
    level = status["currentlyAvailable"]
    actual = first["extensions"]["cost"]["actualQueryCost"]
    assert (
        2000 - actual - 1 <= level <= 2000 - actual + slack
    )  # charged what it used, not the EXPENSIVE_COST it requested

    refused, slack = timed(TOO_EXPENSIVE)
    assert refused.get("data") is None
    assert refused["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert refused["errors"][0]["extensions"]["cost"] > 1000
    probe, slack_probe = timed("{ shop { name } }")  # the refused query cost nothing
    assert (
        level - 1 <= probe["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] <= level + slack + slack_probe
    )
    level = probe["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]

    throttled: dict[str, Any] | None = None
    served = 1
    for _ in range(60):
        body, slack = timed(EXPENSIVE)
        cost = body["extensions"]["cost"]
        if "errors" in body:
            throttled = body
            break
        served += 1
        assert level + slack >= cost["requestedQueryCost"]  # it was served: the bucket held what it requested
        now = cost["throttleStatus"]["currentlyAvailable"]
        assert level - cost["actualQueryCost"] - 1 <= now <= level - cost["actualQueryCost"] + slack
        assert len(body["data"]["orders"]["nodes"]) == 60
        level = now
    assert throttled is not None, "the bucket never ran dry"
    assert served >= 3  # 2,000 points hold several queries that request 782 points and use far fewer
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert throttled.get("data") is None
    cost = throttled["extensions"]["cost"]
    assert cost["actualQueryCost"] is None
    assert cost["throttleStatus"]["currentlyAvailable"] < cost["requestedQueryCost"] == EXPENSIVE_COST


# --- 5. money ---------------------------------------------------------------------------------------------------

MONEY_PAGE = """
query($after: String) {
  orders(first: 10, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id presentmentCurrencyCode
      currentTotalDiscountsSet { shopMoney { amount currencyCode } presentmentMoney { currencyCode } }
      lineItems(first: 10) {
        pageInfo { hasNextPage }
        nodes {
          id currentQuantity
          originalUnitPriceSet { shopMoney { amount currencyCode } presentmentMoney { currencyCode } }
        }
      }
      refunds { refundLineItems(first: 10) { pageInfo { hasNextPage } nodes { quantity lineItem { id } } } }
    }
  }
}"""


def test_line_items_and_refunds_reconcile_with_every_order(app: SandboxApp, world: World) -> None:
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = data_of(gql(app, MONEY_PAGE, {"after": after}))["orders"]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    by_id = {o.order_id: o for o in world.shopify_orders}
    assert sorted(numeric(n["id"]) for n in nodes) == sorted(by_id)
    refunded_orders = 0
    for node in nodes:
        order = by_id[numeric(node["id"])]
        assert node["lineItems"]["pageInfo"]["hasNextPage"] is False
        refunded: dict[str, int] = {}
        for refund in node["refunds"]:
            assert refund["refundLineItems"]["pageInfo"]["hasNextPage"] is False
            for rli in refund["refundLineItems"]["nodes"]:
                refunded[rli["lineItem"]["id"]] = refunded.get(rli["lineItem"]["id"], 0) + rli["quantity"]
        refunded_orders += bool(refunded)
        gross = Decimal("0.00")
        for line in node["lineItems"]["nodes"]:
            price = line["originalUnitPriceSet"]
            assert price["shopMoney"]["currencyCode"] == "USD"
            assert price["presentmentMoney"]["currencyCode"] == order.presentment_currency
            gross += Decimal(price["shopMoney"]["amount"]) * (line["currentQuantity"] + refunded.get(line["id"], 0))
        assert set(refunded) <= {line["id"] for line in node["lineItems"]["nodes"]}
        assert gross == order.gross, node["id"]
        discounts = node["currentTotalDiscountsSet"]
        assert Decimal(discounts["shopMoney"]["amount"]) == order.discount_total
        assert discounts["presentmentMoney"]["currencyCode"] == order.presentment_currency
        assert node["presentmentCurrencyCode"] == order.presentment_currency
    assert refunded_orders == sum(bool(o.refunds) for o in world.shopify_orders) > 0


VARIANT_COSTS = """
query($after: String) {
  products(first: 50, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id variants(first: 5) { nodes { sku price inventoryItem { unitCost { amount currencyCode } } } } }
  }
}"""


def test_variant_unit_cost_is_below_price(app: SandboxApp, world: World) -> None:
    variants: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = data_of(gql(app, VARIANT_COSTS, {"after": after}))["products"]
        variants += [v for p in page["nodes"] for v in p["variants"]["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted((v["sku"], Decimal(v["price"])) for v in variants) == sorted(
        (p.sku, p.price_usd) for p in world.products
    )
    for v in variants:
        cost = v["inventoryItem"]["unitCost"]
        assert cost is not None and cost["currencyCode"] == "USD"
        assert Decimal("0") < Decimal(cost["amount"]) < Decimal(v["price"]), v["sku"]


# --- 6. bulk operations -----------------------------------------------------------------------------------------

RUN_BULK = f"""
mutation($q: String!, $group: Boolean!) {{
  bulkOperationRunQuery(query: $q, groupObjects: $group) {{
    bulkOperation {{ {BULK_FIELDS} }}
    userErrors {{ code field message }}
  }}
}}"""
POLL = f"query($id: ID!) {{ node(id: $id) {{ ... on BulkOperation {{ {BULK_FIELDS} }} }} }}"
ORDERS_EXPORT = f"""
{{
  orders(query: "updated_at:>='{BULK_SINCE}'", sortKey: UPDATED_AT) {{
    edges {{
      node {{
        id updatedAt
        lineItems {{ edges {{ node {{ id currentQuantity }} }} }}
        refunds {{ id refundLineItems {{ edges {{ node {{ id quantity lineItem {{ id }} }} }} }} }}
      }}
    }}
  }}
}}"""
SMALL_EXPORT = "{ orders(query: \"updated_at:>='2026-06-01T00:00:00Z'\") { edges { node { id } } } }"


def in_process(app: SandboxApp, version: str = VERSION) -> Call:
    return lambda query, variables: gql(app, query, variables, version=version).body


def over_http(server: SandboxServer) -> Call:
    def call(query: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        response = requests.post(
            f"{server.url}/admin/api/{VERSION}/graphql.json",
            json={"query": query, "variables": variables or {}},
            headers={"X-Shopify-Access-Token": DEMO_ACCESS_TOKEN},
            timeout=30,
        )
        assert response.status_code == 200, response.text[:300]
        return response.json()

    return call


def start_bulk(call: Call, query: str, group: bool = True) -> dict[str, Any]:
    """The payload of ``bulkOperationRunQuery``: ``{bulkOperation, userErrors}``."""
    body = call(RUN_BULK, {"q": query, "group": group})
    assert "errors" not in body, body["errors"]
    return body["data"]["bulkOperationRunQuery"]


def wait_done(call: Call, op_id: str, timeout_s: float = 30.0) -> dict[str, Any]:
    """Polls ``node(id:)`` until the operation is no longer CREATED or RUNNING."""
    deadline = time.monotonic() + timeout_s
    while True:
        op = call(POLL, {"id": op_id})["data"]["node"]
        if op["status"] not in ("CREATED", "RUNNING"):
            return op
        assert time.monotonic() < deadline, f"bulk operation still {op['status']} after {timeout_s} s"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as running:
        yield running


@pytest.fixture(scope="module")
def export(server: SandboxServer) -> tuple[dict[str, Any], bytes]:
    """A completed grouped bulk export of the orders updated since BULK_SINCE: (operation, JSONL bytes)."""
    call = over_http(server)
    started = start_bulk(call, ORDERS_EXPORT)
    assert started["userErrors"] == []
    op = wait_done(call, started["bulkOperation"]["id"])
    assert op["status"] == "COMPLETED", op
    response = requests.get(op["url"], timeout=30)
    assert response.status_code == 200, response.text[:300]
    return op, response.content


def test_bulk_export_is_complete_and_grouped(server: SandboxServer, export: tuple[dict[str, Any], bytes]) -> None:
    op, content = export
    assert op["errorCode"] is None and op["partialDataUrl"] is None
    assert int(op["fileSize"]) == len(content)
    lines = [json.loads(line) for line in content.decode().splitlines()]
    assert int(op["objectCount"]) == len(lines)

    bound = datetime.fromisoformat(BULK_SINCE.replace("Z", "+00:00"))
    matched = [o for o in server.app.world.shopify_orders if o.updated_at >= bound]
    roots = [line for line in lines if "__parentId" not in line]
    assert int(op["rootObjectCount"]) == len(roots) == len(matched)
    assert [numeric(r["id"]) for r in roots] == [
        o.order_id for o in sorted(matched, key=lambda o: (o.updated_at, o.order_id))
    ]

    seen: set[str] = set()
    root_ids: set[str] = set()  # the current root and the refunds inline in it
    line_items: dict[str, set[int]] = {}
    refund_lines: dict[str, int] = {}
    for line in lines:
        parent = line.get("__parentId")
        if parent is None:
            root_ids = {line["id"], *(r["id"] for r in line["refunds"])}
            seen |= root_ids
            continue
        assert parent in seen, f"{line['id']} names a parent {parent} not seen before it"
        assert parent in root_ids, f"{line['id']} is not grouped under its root"
        if "/LineItem/" in line["id"]:
            assert parent.startswith("gid://shopify/Order/")
            line_items.setdefault(parent, set()).add(numeric(line["id"]))
        else:
            assert parent.startswith("gid://shopify/Refund/") and "/RefundLineItem/" in line["id"]
            refund_lines[parent] = refund_lines.get(parent, 0) + line["quantity"]
        seen.add(line["id"])
    for o in matched:
        assert line_items.get(f"gid://shopify/Order/{o.order_id}") == {li.line_id for li in o.lines}
        for r in o.refunds:
            assert refund_lines[f"gid://shopify/Refund/{r.refund_id}"] == r.quantity
    assert sum(len(o.refunds) for o in matched) > 0


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        pytest.param(
            "{ orders { edges { node { id a: lineItems { edges { node { id } } } b: lineItems { edges { node { id } } }"
            " discountApplications { edges { node { index } } } shippingLines { edges { node { id } } }"
            " refunds { refundLineItems { edges { node { id } } } } } } } }",
            "more than 5 connections",
            id="six-connections",
        ),
        pytest.param(
            "{ orders { edges { node { id lineItems { edges { node { id product { variants { edges { node { id } } } }"
            " } } } } } } }",
            "nesting depth",
            id="three-levels",
        ),
        pytest.param('{ node(id: "gid://shopify/Order/1") { id } }', "node", id="node"),
        pytest.param('{ nodes(ids: ["gid://shopify/Order/1"]) { id } }', "node", id="nodes"),
    ],
)
def test_bulk_query_validation(app: SandboxApp, query: str, reason: str) -> None:
    before = len(shopify_bulk.state(app).ops)
    payload = start_bulk(in_process(app), query)
    assert payload["bulkOperation"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["INVALID"]
    assert reason in payload["userErrors"][0]["message"]
    assert len(shopify_bulk.state(app).ops) == before  # nothing started


@pytest.mark.parametrize(("version", "allowed"), [("2025-10", 1), ("2026-10", 5)])
def test_concurrent_bulk_queries_per_version(version: str, allowed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shopify_bulk, "REAL_START_S", 5.0)  # under real limits they wait in the queue that long
    call = in_process(SandboxApp(TEST_WORLD, rate_limits="real"), version)
    started = [start_bulk(call, SMALL_EXPORT) for _ in range(allowed)]
    assert all(p["userErrors"] == [] and p["bulkOperation"]["status"] == "CREATED" for p in started)
    refused = start_bulk(call, SMALL_EXPORT)
    assert refused["bulkOperation"] is None
    assert [e["code"] for e in refused["userErrors"]] == ["OPERATION_IN_PROGRESS"]


def test_failed_bulk_operation_has_partial_data(server: SandboxServer) -> None:
    call = over_http(server)
    shopify_bulk.state(server.app).fail_next = 1
    started = start_bulk(call, ORDERS_EXPORT)
    op = wait_done(call, started["bulkOperation"]["id"])
    assert (op["status"], op["errorCode"]) == ("FAILED", "INTERNAL_SERVER_ERROR")
    assert op["url"] is None and op["partialDataUrl"]
    partial = requests.get(op["partialDataUrl"], timeout=30)
    assert partial.status_code == 200
    lines = [json.loads(line) for line in partial.content.decode().splitlines()]
    assert int(op["objectCount"]) == len(lines) > 0
    roots = sum("__parentId" not in line for line in lines)
    bound = datetime.fromisoformat(BULK_SINCE.replace("Z", "+00:00"))
    assert int(op["rootObjectCount"]) == roots < sum(o.updated_at >= bound for o in server.app.world.shopify_orders)
    # the next operation is not failed
    again = wait_done(call, start_bulk(call, SMALL_EXPORT)["bulkOperation"]["id"])
    assert again["status"] == "COMPLETED"


def test_result_url_expires_and_a_fresh_read_signs_a_new_one(
    server: SandboxServer, export: tuple[dict[str, Any], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    op, content = export
    call = over_http(server)
    monkeypatch.setattr(shopify_bulk, "URL_TTL_S", 60.0)
    now = time.time()
    monkeypatch.setattr(shopify_bulk, "CLOCK", lambda: now)
    url = call(POLL, {"id": op["id"]})["data"]["node"]["url"]
    assert requests.get(url, timeout=30).content == content

    monkeypatch.setattr(shopify_bulk, "CLOCK", lambda: now + 120)
    expired = requests.get(url, timeout=30)
    assert expired.status_code == 400
    assert expired.headers["Content-Type"].startswith("application/xml")
    assert "<Code>ExpiredToken</Code>" in expired.text

    fresh = call(POLL, {"id": op["id"]})["data"]["node"]
    assert fresh["status"] == "COMPLETED" and fresh["url"] != url
    again = requests.get(fresh["url"], timeout=30)
    assert again.status_code == 200 and again.content == content


def test_range_download_returns_the_rest(server: SandboxServer, export: tuple[dict[str, Any], bytes]) -> None:
    op, content = export
    url = over_http(server)(POLL, {"id": op["id"]})["data"]["node"]["url"]
    offset = len(content) // 3
    partial = requests.get(url, headers={"Range": f"bytes={offset}-"}, timeout=30)
    assert partial.status_code == 206
    assert partial.content == content[offset:]
    assert partial.headers["Content-Range"] == f"bytes {offset}-{len(content) - 1}/{len(content)}"


def _export_bytes(app: SandboxApp, query: str = ORDERS_EXPORT) -> tuple[dict[str, Any], bytes]:
    """A completed grouped export of ``query`` from ``app``: (operation, the file's bytes)."""
    call = in_process(app)
    started = start_bulk(call, query)
    op = wait_done(call, started["bulkOperation"]["id"])
    assert op["status"] == "COMPLETED", op
    finished = shopify_bulk.state(app).ops[max(shopify_bulk.state(app).ops)]
    assert finished.path is not None
    return op, finished.path.read_bytes()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the other world's failed render
def test_a_second_sandbox_of_the_same_world_serves_the_kept_rendering(
    tmp_path: Any, export: tuple[dict[str, Any], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    first_op, first = _export_bytes(SandboxApp(TEST_WORLD, rate_limits="off", cache_dir=tmp_path))
    assert first == export[1]  # the cache does not change the answer
    assert len(list(tmp_path.glob("*.data"))) == 1

    def no_rendering(*_: Any) -> Any:
        raise AssertionError("the kept file should have been served")

    monkeypatch.setitem(shopify_bulk.ROOTS["orders"], "render", no_rendering)
    second_op, second = _export_bytes(SandboxApp(TEST_WORLD, rate_limits="off", cache_dir=tmp_path))
    assert second == first
    # a search written with other bounds (a client's clock) that matches the same orders is the same file
    other_bounds = ORDERS_EXPORT.replace(
        f"updated_at:>='{BULK_SINCE}'", f"updated_at:>='{BULK_SINCE}' created_at:<'2099-01-01T00:00:00Z'"
    )
    assert other_bounds != ORDERS_EXPORT
    assert _export_bytes(SandboxApp(TEST_WORLD, rate_limits="off", cache_dir=tmp_path), other_bounds)[1] == first
    assert (second_op["objectCount"], second_op["rootObjectCount"]) == (
        first_op["objectCount"],
        first_op["rootObjectCount"],
    )
    # another world is another key: rendered (and here, with rendering disabled, it fails)
    from dataclasses import replace

    other = SandboxApp(replace(TEST_WORLD, seed=TEST_WORLD.seed + 1), rate_limits="off", cache_dir=tmp_path)
    call = in_process(other)
    assert wait_done(call, start_bulk(call, ORDERS_EXPORT)["bulkOperation"]["id"])["status"] == "FAILED"
