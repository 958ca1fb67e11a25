"""The sandbox is deterministic and speaks the vendors' contracts (the skeleton's endpoints)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import requests

from sandbox import hubspot_api, shopify_api
from sandbox.protocol import Request
from sandbox.server import SandboxApp, SandboxServer
from sandbox.world import WorldConfig
from tests.conftest import TEST_WORLD
from tests.helpers import amazon_token

SHOPIFY = {"X-Shopify-Access-Token": shopify_api.DEMO_ACCESS_TOKEN}


def _get(app: SandboxApp, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, bytes]:
    response = app.handle(Request("GET", path, query, {k.lower(): v for k, v in headers.items()}))
    return response.status, response.encode()


def test_same_world_gives_identical_responses_and_another_seed_does_not() -> None:
    path, query = "/admin/api/2024-10/orders.json", {"status": "any", "limit": "250"}
    a = _get(SandboxApp(TEST_WORLD, rate_limits="off"), path, query, SHOPIFY)
    b = _get(SandboxApp(TEST_WORLD, rate_limits="off"), path, query, SHOPIFY)
    c = _get(SandboxApp(replace(TEST_WORLD, seed=TEST_WORLD.seed + 1), rate_limits="off"), path, query, SHOPIFY)
    assert a == b
    assert a[0] == 200 and a != c


def _shopify_ids(sandbox: SandboxServer, params: dict) -> list[int]:
    url, seen = f"{sandbox.url}/admin/api/2024-10/orders.json", []
    while url:
        response = requests.get(url, headers=SHOPIFY, params=params, timeout=30)
        assert response.status_code == 200
        seen += [o["id"] for o in response.json()["orders"]]
        url, params = response.links.get("next", {}).get("url"), None
    return seen


def test_shopify_link_pagination_reaches_every_order_exactly_once(sandbox: SandboxServer) -> None:
    seen = _shopify_ids(sandbox, {"status": "any", "limit": 50})
    assert len(seen) == len(set(seen)) == len(sandbox.app.world.shopify_orders)


def test_shopify_rejects_what_the_real_api_rejects(sandbox: SandboxServer) -> None:
    base = f"{sandbox.url}/admin/api/2024-10/orders.json"
    assert requests.get(base, params={"status": "any"}, timeout=30).status_code == 401
    assert requests.get(base, headers=SHOPIFY, params={"limit": 251}, timeout=30).status_code == 400
    first = requests.get(base, headers=SHOPIFY, params={"status": "any", "limit": 5}, timeout=30)
    token = first.links["next"]["url"].split("page_info=")[1]
    mixed = requests.get(base, headers=SHOPIFY, params={"page_info": token, "status": "any"}, timeout=30)
    assert mixed.status_code == 400 and "page_info" in mixed.json()["errors"]


def test_updated_at_min_returns_exactly_the_orders_changed_since(sandbox: SandboxServer) -> None:
    world = sandbox.app.world
    cut = sorted(o.updated_at for o in world.shopify_orders)[len(world.shopify_orders) // 2]
    ids = _shopify_ids(sandbox, {"status": "any", "limit": 100, "updated_at_min": cut.isoformat()})
    expected = {o.order_id for o in world.shopify_orders if o.updated_at >= cut}
    assert len(ids) == len(set(ids)) and set(ids) == expected and len(expected) > 100


def test_hubspot_after_paging_and_bearer_auth(sandbox: SandboxServer) -> None:
    url = f"{sandbox.url}/crm/v3/objects/deals"
    assert requests.get(url, timeout=30).status_code == 401
    auth = {"Authorization": f"Bearer {hubspot_api.DEMO_ACCESS_TOKEN}"}
    seen, after = [], None
    while True:
        body = requests.get(
            url, headers=auth, params={"limit": 100, **({"after": after} if after else {})}, timeout=30
        ).json()
        seen += [d["id"] for d in body["results"]]
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
    assert len(seen) == len(set(seen)) == len(sandbox.app.world.crm.active_deals)  # archived ones are not listed


def test_amazon_token_exchange_and_filter_validation(sandbox: SandboxServer) -> None:
    token = amazon_token(sandbox.url)
    assert token["expires_in"] == 3600
    url, headers = f"{sandbox.url}/orders/v0/orders", {"x-amz-access-token": token["access_token"]}
    assert (
        requests.get(
            url, params={"MarketplaceIds": "ATVPDKIKX0DER", "CreatedAfter": "2024-01-01T00:00:00Z"}, timeout=30
        ).status_code
        == 403
    )
    both = requests.get(
        url,
        headers=headers,
        timeout=30,
        params={
            "MarketplaceIds": "ATVPDKIKX0DER",
            "CreatedAfter": "2024-01-01T00:00:00Z",
            "LastUpdatedAfter": "2024-01-01T00:00:00Z",
        },
    )
    assert both.status_code == 400 and both.json()["errors"][0]["code"] == "InvalidInput"
    assert (
        requests.get(url, headers=headers, params={"CreatedAfter": "2024-01-01T00:00:00Z"}, timeout=30).status_code
        == 400
    )


def test_a_sandbox_process_serves_the_world_and_its_truth_and_ends_with_its_parent() -> None:
    """`salesdw run` serves the sandbox from a child process: same world, same truth, gone when stopped."""
    from sandbox.process import SandboxProcess
    from sandbox.truth import compute_truth
    from sandbox.world import build_world

    config = WorldConfig(seed=5, scale=0.01, as_of=date(2026, 3, 31))
    server = SandboxProcess(config, rate_limits="off").spawn()
    try:
        url, truth = server.wait_ready()
        assert truth == json.loads(json.dumps(compute_truth(build_world(config))))
        assert requests.get(f"{url}/_sandbox/health", timeout=10).json()["as_of"] == "2026-03-31"
        assert requests.post(f"{url}/_sandbox/advance", params={"days": 1}, timeout=60).json()["as_of"] == "2026-04-01"
        later = requests.get(f"{url}/_sandbox/truth", timeout=60).json()
        app = SandboxApp(config, rate_limits="off")
        app.advance(1)
        assert later == json.loads(json.dumps(compute_truth(app.world)))
    finally:
        server.stop()
    assert server.proc is not None and server.proc.poll() is not None
