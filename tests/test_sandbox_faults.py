"""Sandbox faults (docs/architecture.md: The simulated company, API contracts): seeded and replayable, every kind, survivable, bad records stable."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
import requests

from ingestion.http.session import ResilientSession
from sandbox import amazon_api, faults, hubspot_api, shopify_api
from sandbox.faults import KINDS, RATES, TOKEN_KINDS, FaultInjector, bad_records, request_key
from sandbox.protocol import Request
from sandbox.server import FAULT_MODES, SandboxApp, SandboxServer
from sandbox.world import WorldConfig, build_world

WORLD = WorldConfig(seed=9, scale=0.02, as_of=date(2026, 6, 30))
BIGGER = WorldConfig(seed=15, scale=0.05, as_of=date(2026, 6, 30))  # every resource x reason is bad at least once
ORDERS = "/admin/api/2024-10/orders.json"
DEALS = "/crm/v3/objects/deals"
AMAZON_ORDERS = "/orders/v0/orders"
SHOPIFY = {"x-shopify-access-token": shopify_api.DEMO_ACCESS_TOKEN}
HUBSPOT = {"authorization": f"Bearer {hubspot_api.DEMO_ACCESS_TOKEN}"}
MARKETS = "ATVPDKIKX0DER,A1F83G8C2ARO7P,A1PA6795UKMFR9"
LWA_FORM = {
    "grant_type": "refresh_token",
    "refresh_token": amazon_api.DEMO_REFRESH_TOKEN,
    "client_id": amazon_api.DEMO_CLIENT_ID,
    "client_secret": amazon_api.DEMO_CLIENT_SECRET,
}
DEAL_PROPS = "amount,deal_currency_code,dealstage"


def _shopify(query: dict[str, str]) -> Request:
    return Request("GET", ORDERS, query, SHOPIFY, base_url="http://sandbox")


def _sequence(app: SandboxApp) -> list[tuple[int, str | None, int]]:
    """A fixed request sequence (Shopify, HubSpot, Amazon incl. retries of the same keys) -> outcomes."""
    from urllib.parse import parse_qsl, urlsplit

    token = None
    while token is None:  # the token endpoint may itself fault (light rate)
        response, _ = app.dispatch(
            Request("POST", "/auth/o2/token", {}, {}, body="&".join(f"{k}={v}" for k, v in LWA_FORM.items()).encode())
        )
        token = response.body.get("access_token") if response.status == 200 else None
    amazon = {"x-amz-access-token": token}
    out = []
    for i in range(600):
        if i % 3 == 0:
            req = _shopify({"status": "any", "limit": str(1 + i % 11)})
        elif i % 3 == 1:
            req = Request("GET", DEALS, {"limit": "3", "after": str(i % 40)}, HUBSPOT)
        else:
            req = Request(
                "GET",
                AMAZON_ORDERS,
                {
                    "MarketplaceIds": MARKETS,
                    "CreatedAfter": "2024-01-01T00:00:00Z",
                    "MaxResultsPerPage": str(1 + i % 5),
                },
                amazon,
            )
        response, fault = app.dispatch(req)
        out.append((response.status, fault.kind if fault else None, hash(response.encode())))
    # and a Shopify cursor chain, followed whatever happens (a failed page is asked again)
    req = _shopify({"status": "any", "limit": "7"})
    while len(out) < 900:
        response, fault = app.dispatch(req)
        out.append((response.status, fault.kind if fault else None, hash(response.encode())))
        if response.status == 200 and (fault is None or fault.kind not in ("truncated_json", "short_body")):
            nxt = [p for p in response.headers.get("Link", "").split(", ") if 'rel="next"' in p]
            if not nxt:
                break
            req = _shopify(dict(parse_qsl(urlsplit(nxt[0][1:].split(">")[0]).query)))
    return out


def test_fault_modes_and_the_none_mode_runs_no_fault_code() -> None:
    assert FAULT_MODES == ("none", "light", "heavy")
    with pytest.raises(ValueError):
        SandboxApp(WORLD, faults="wild")
    app = SandboxApp(WORLD, rate_limits="off")
    assert app.faults is None
    assert all(app.dispatch(_shopify({"status": "any", "limit": "5"}))[1] is None for _ in range(50))


def test_same_seed_and_requests_give_the_same_faults_another_seed_does_not() -> None:
    a = _sequence(SandboxApp(WORLD, rate_limits="off", faults="heavy"))
    b = _sequence(SandboxApp(WORLD, rate_limits="off", faults="heavy"))
    assert a == b
    kinds = Counter(kind for _, kind, _ in a if kind) + Counter(str(s) for s, _, _ in a if s != 200)
    assert sum(1 for s, k, _ in a if k or s != 200) >= 40, kinds  # ~10 % of 900
    other_fault_seed = _sequence(SandboxApp(WORLD, rate_limits="off", faults="heavy", fault_seed=10))
    assert [o[:2] for o in other_fault_seed] != [o[:2] for o in a]
    light = _sequence(SandboxApp(WORLD, rate_limits="off", faults="light"))
    assert [o[:2] for o in light] != [o[:2] for o in a]
    assert sum(1 for s, k, _ in light if k or s != 200) < sum(1 for s, k, _ in a if k or s != 200)


def test_fault_rates_and_token_endpoints_never_beyond_light() -> None:
    for mode in ("light", "heavy"):
        injector = FaultInjector(mode, seed=9)
        plans = [injector.plan(f"GET /x?i={i}#", k) for i in range(5000) for k in range(2)]
        share = sum(p is not None for p in plans) / len(plans)
        assert RATES[mode] * 0.8 < share < RATES[mode] * 1.2, (mode, share)
        assert {p.kind for p in plans if p} == set(KINDS)
        token = [injector.plan(f"POST /auth/o2/token?#{i}", 0, token=True) for i in range(10000)]
        assert sum(p is not None for p in token) / len(token) <= RATES["light"]
        assert {p.kind for p in token if p} <= TOKEN_KINDS


def test_heavy_yields_every_kind_within_a_bounded_number_of_requests() -> None:
    app = SandboxApp(WORLD, rate_limits="off", faults="heavy")
    assert app.faults is not None
    served = 0
    while served < 5000 and set(app.faults.injected) != set(KINDS):
        req = _shopify({"status": "any", "limit": "3"})  # page through, again and again
        while served < 5000:
            response, fault = app.dispatch(req)
            served += 1
            if response.status != 200 or (fault and fault.kind in ("dropped", "truncated_json", "short_body")):
                continue  # ask again (the next request with this key draws again)
            link = response.headers.get("Link", "")
            nxt = [p for p in link.split(", ") if 'rel="next"' in p]
            if not nxt:
                break
            req = _shopify({"limit": "3", "page_info": nxt[0].split("page_info=")[1].split(">")[0].split("&")[0]})
    assert set(app.faults.injected) == set(KINDS), (served, app.faults.injected)


def test_sandbox_control_endpoints_are_never_faulted() -> None:
    app = SandboxApp(WORLD, rate_limits="off", faults="heavy")
    for _ in range(500):
        response, fault = app.dispatch(Request("GET", "/_sandbox/health", {}, {}))
        assert response.status == 200 and fault is None


# ---------------------------------------------------------------- on the wire


def _query_with_first_fault(app: SandboxApp, kind: str) -> dict[str, str]:
    """A Shopify query whose first request draws ``kind`` (found from the injector's pure plan)."""
    assert app.faults is not None
    for since in range(100_000):
        query = {"status": "any", "limit": "20", "since_id": str(since)}
        fault = app.faults.plan(request_key(_shopify(query)), 0)
        if fault is not None and fault.kind == kind:
            return query
    raise AssertionError(f"no {kind}")


@pytest.fixture(scope="module")
def heavy() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxApp(WORLD, rate_limits="off", faults="heavy", slow_s=0.6), port=0) as server:
        yield server


def test_dropped_connection_is_a_connection_error(heavy: SandboxServer) -> None:
    query = _query_with_first_fault(heavy.app, "dropped")
    with requests.Session() as s:  # on a kept-alive connection, after a normal exchange
        assert s.get(f"{heavy.url}/_sandbox/health", timeout=5).status_code == 200
        with pytest.raises(requests.ConnectionError):
            s.get(heavy.url + ORDERS, headers=SHOPIFY, params=query, timeout=5)
        assert s.get(heavy.url + ORDERS, headers=SHOPIFY, params=query, timeout=5).status_code in (
            200,
            429,
            500,
            502,
            503,
        )


def test_short_body_is_a_chunked_encoding_error(heavy: SandboxServer) -> None:
    query = _query_with_first_fault(heavy.app, "short_body")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(heavy.url + ORDERS, headers=SHOPIFY, params=query, timeout=5)


def test_truncated_json_is_a_complete_response_with_invalid_json(heavy: SandboxServer) -> None:
    query = _query_with_first_fault(heavy.app, "truncated_json")
    response = requests.get(heavy.url + ORDERS, headers=SHOPIFY, params=query, timeout=5)
    assert response.status_code == 200 and int(response.headers["Content-Length"]) == len(response.content)
    with pytest.raises(ValueError):
        json.loads(response.content)
    assert response.content.startswith(b'{"orders":[')


def test_slow_response_passes_the_client_timeout(heavy: SandboxServer) -> None:
    query = _query_with_first_fault(heavy.app, "slow")
    with pytest.raises(requests.Timeout):
        requests.get(heavy.url + ORDERS, headers=SHOPIFY, params=query, timeout=0.2)


def test_injected_429_and_5xx_are_shaped_like_the_vendor(heavy: SandboxServer) -> None:
    throttled = requests.get(
        heavy.url + ORDERS, headers=SHOPIFY, timeout=5, params=_query_with_first_fault(heavy.app, "rate_limited")
    )
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2.0"
    assert "Exceeded 2 calls per second" in throttled.json()["errors"]
    failed = requests.get(
        heavy.url + ORDERS, headers=SHOPIFY, timeout=5, params=_query_with_first_fault(heavy.app, "http_503")
    )
    assert failed.status_code == 503 and failed.json() == {"errors": "Service Unavailable"}
    assert faults.server_error("hubspot", 500).body["category"] == "INTERNAL_ERROR"
    assert faults.server_error("amazon", 503).body["errors"][0]["code"] == "ServiceUnavailable"


# ---------------------------------------------------------------- survivable with our client


def _session(resource: str) -> ResilientSession:
    return ResilientSession("test", resource, max_attempts=10, backoff_s=0.01, backoff_max_s=0.05, timeout_s=0.3)


def _page_shopify(base: str, limit: int) -> list[dict[str, Any]]:
    session, rows = _session("orders"), []
    url, params = base + ORDERS, {"status": "any", "limit": limit}
    session.headers.update(SHOPIFY)
    while url:
        response = session.get(url, params=params)
        rows += response.json()["orders"]
        url, params = response.links.get("next", {}).get("url"), None
    return rows


def _page_hubspot(base: str, limit: int) -> list[dict[str, Any]]:
    """Every deal: the live list, then the archived (deleted) one."""
    session, rows = _session("deals"), []
    session.headers.update(HUBSPOT)
    for archived in ("false", "true"):
        after = None
        while True:
            params = {
                "limit": limit,
                "properties": DEAL_PROPS,
                "archived": archived,
                **({"after": after} if after else {}),
            }
            body = session.get(base + DEALS, params=params).json()
            rows += body["results"]
            if "paging" not in body:
                break
            after = body["paging"]["next"]["after"]
    return rows


def _amazon_session(base: str) -> ResilientSession:
    session = _session("orders")
    token = session.post(base + "/auth/o2/token", data=LWA_FORM).json()["access_token"]
    session.headers["x-amz-access-token"] = token
    return session


def _page_amazon(base: str, limit: int) -> list[dict[str, Any]]:
    session, rows = _amazon_session(base), []
    params: dict[str, Any] = {
        "MarketplaceIds": MARKETS,
        "CreatedAfter": "2023-12-01T00:00:00Z",
        "MaxResultsPerPage": limit,
    }
    while True:
        payload = session.get(base + AMAZON_ORDERS, params=params).json()["payload"]
        rows += payload["Orders"]
        if "NextToken" not in payload:
            return rows
        params = {"MarketplaceIds": MARKETS, "NextToken": payload["NextToken"]}


@pytest.mark.parametrize("mode", ["light", "heavy"])
def test_our_client_pages_every_vendor_to_the_end_under_faults(mode: str) -> None:
    app = SandboxApp(WORLD, rate_limits="off", faults=mode, slow_s=0.5)
    world = app.world
    with SandboxServer(app, port=0) as server:
        # ~330 requests in all (fewer Shopify pages under heavy: its 429s make the client wait 2 s)
        shopify = _page_shopify(server.url, 5 if mode == "light" else 25)
        deals = _page_hubspot(server.url, 2)
        amazon = _page_amazon(server.url, 4)
    assert {o["id"] for o in shopify} == {o.order_id for o in world.shopify_orders}
    assert {d["id"] for d in deals} == {d.deal_id for d in world.deals}
    assert {a["AmazonOrderId"] for a in amazon} == {a.order_id for a in world.amazon_orders}
    injected = app.faults.injected  # type: ignore[union-attr]
    assert sum(injected.values()) >= (3 if mode == "light" else 15), injected
    duplicates = (
        len(shopify)
        + len(deals)
        + len(amazon)
        - len(world.shopify_orders)
        - len(world.deals)
        - len(world.amazon_orders)
    )
    assert duplicates == injected["page_shift"]  # records moved between pages: the client must dedupe by id


# ---------------------------------------------------------------- bad records and schema drift


def _served_bad_shopify(order: dict[str, Any]) -> str | None:
    line = order["line_items"][0]
    if order["currency"] == "XXX":
        return "unknown_currency"
    if line["price"] is None:
        return "null_amount"
    if int(line["quantity"]) < 0:
        return "negative_quantity"
    return None


def test_bad_records_are_deterministic_per_record_and_only_under_heavy() -> None:
    world = build_world(BIGGER)
    bad = bad_records(world, "heavy")
    assert bad == bad_records(build_world(BIGGER), "heavy")
    assert bad_records(world, "light") == bad_records(world, "none") == []
    by_resource = Counter(b.resource for b in bad)
    totals = {
        "shopify.orders": len(world.shopify_orders),
        "amazon.orders": len(world.amazon_orders),
        "crm.deals": len(world.deals),
    }
    for resource, total in totals.items():
        assert 1 <= by_resource[resource] <= max(3, total * 0.01), (resource, by_resource[resource], total)
    assert {b.reason for b in bad} == {"unknown_currency", "negative_quantity", "null_amount"}
    assert bad != bad_records(build_world(replace(BIGGER, seed=10)), "heavy")
    # later as_of: old records keep their verdict (new records may add bad ones)
    later = {
        (b.resource, b.record_id): b
        for b in bad_records(build_world(replace(BIGGER, as_of=date(2026, 7, 31))), "heavy")
    }
    assert all(later.get((b.resource, b.record_id)) == b for b in bad)


def _fetch(app: SandboxApp, req: Request) -> Any:
    """The body of ``req`` served in-process, asking again while a transient fault is drawn."""
    for _ in range(20):
        response, fault = app.dispatch(req)
        if response.status == 200 and fault is None or (fault is not None and fault.kind in ("slow", "page_shift")):
            return response.body
    raise AssertionError(f"{req.path} kept failing")


def _all_pages(
    app: SandboxApp, path: str, query: dict[str, str], headers: dict[str, str], records: Any, after: Any
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        body = _fetch(app, Request("GET", path, query, headers, base_url="http://sandbox"))
        rows += records(body)
        query = after(body, query)
        if query is None:
            return rows


def test_bad_records_and_drift_are_served_exactly_for_the_chosen_records_on_every_page() -> None:
    from urllib.parse import parse_qsl, urlsplit

    app = SandboxApp(BIGGER, rate_limits="off", faults="heavy")
    world, seed = app.world, BIGGER.seed
    bad = {(b.resource, b.record_id): b.reason for b in bad_records(world, "heavy")}

    def shopify(limit: int) -> list[dict[str, Any]]:
        rows, query = [], {"status": "any", "limit": str(limit)}
        while query:
            response = app.dispatch(_shopify(query))[0]
            if response.status != 200:
                continue
            rows += response.body["orders"]
            nxt = [p for p in response.headers.get("Link", "").split(", ") if 'rel="next"' in p]
            query = dict(parse_qsl(urlsplit(nxt[0][1:].split(">")[0]).query)) if nxt else None
        return rows

    runs = [shopify(250), shopify(97), shopify(250)]  # other page boundaries, and a second run
    deals = [  # the live deals and the archived (deleted) ones: a bad record can be either
        d
        for archived in ("false", "true")
        for d in _all_pages(
            app,
            DEALS,
            {"limit": "100", "properties": DEAL_PROPS, "archived": archived},
            HUBSPOT,
            lambda b: b["results"],
            lambda b, q: {**q, "after": b["paging"]["next"]["after"]} if "paging" in b else None,
        )
    ]
    token = _fetch(
        app, Request("POST", "/auth/o2/token", {}, {}, body="&".join(f"{k}={v}" for k, v in LWA_FORM.items()).encode())
    )["access_token"]
    amazon_auth = {"x-amz-access-token": token}
    amazon = _all_pages(
        app,
        AMAZON_ORDERS,
        {"MarketplaceIds": MARKETS, "CreatedAfter": "2023-12-01T00:00:00Z"},
        amazon_auth,
        lambda b: b["payload"]["Orders"],
        lambda b, q: {"NextToken": b["payload"]["NextToken"]} if "NextToken" in b["payload"] else None,
    )
    items = {
        a.order_id: _fetch(app, Request("GET", f"{AMAZON_ORDERS}/{a.order_id}/orderItems", {}, amazon_auth))["payload"][
            "OrderItems"
        ]
        for a in world.amazon_orders
    }

    expected = {rid: r for (res, rid), r in bad.items() if res == "shopify.orders"}
    assert set(expected.values()) == {"unknown_currency", "negative_quantity", "null_amount"}
    for orders in runs:
        served = {o["id"]: _served_bad_shopify(o) for o in orders}
        assert {i: r for i, r in served.items() if r} == expected
        assert all(o["sales_channel_v2"] == "online_store" for o in orders)  # drift: a new field on every order
        as_text = {o["id"] for o in orders if any(isinstance(li["quantity"], str) for li in o["line_items"])}
        assert as_text == {o.order_id for o in world.shopify_orders if faults.quantity_as_string(seed, o.order_id)}
        assert 0 < len(as_text) < len(world.shopify_orders) * 0.1
    served_deals = {
        d["id"]: "unknown_currency"
        if d["properties"]["deal_currency_code"] == "XXX"
        else "null_amount"
        if d["properties"]["amount"] is None
        else None
        for d in deals
    }
    assert {i: r for i, r in served_deals.items() if r} == {
        rid: r for (res, rid), r in bad.items() if res == "crm.deals"
    }
    # (whether this small world has a bad deal is luck: BIGGER above has one of every resource)
    listed_xxx = {a["AmazonOrderId"] for a in amazon if (a.get("OrderTotal") or {}).get("CurrencyCode") == "XXX"}
    assert listed_xxx == {
        rid
        for (res, rid), r in bad.items()
        if res == "amazon.orders" and r == "unknown_currency" and world.amazon_by_id[rid].status != "Canceled"
    }
    served_items = {
        oid: "unknown_currency"
        if lines[0]["ItemPrice"]["CurrencyCode"] == "XXX"
        else "null_amount"
        if lines[0]["ItemPrice"]["Amount"] is None
        else "negative_quantity"
        if lines[0]["QuantityOrdered"] < 0
        else None
        for oid, lines in items.items()
    }
    assert {i: r for i, r in served_items.items() if r} == {
        rid: r for (res, rid), r in bad.items() if res == "amazon.orders"
    }
    assert set(served_items.values()) - {None}, "precondition: the heavy world serves some bad Amazon items"
    # the world itself is untouched: truth sees the true values
    assert all(li.quantity > 0 and li.unit_price is not None for o in world.shopify_orders for li in o.lines)
