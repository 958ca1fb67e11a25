"""How fast the sandbox serves pages (it must never be the bottleneck of an ingestion benchmark).

Pages every list endpoint of a world over loopback HTTP with a keep-alive session and prints pages/s
and records/s per endpoint, next to a floor: the same number of requests to the sandbox's health
endpoint (pure HTTP overhead), so the ratio shows what rendering the pages costs.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import requests

from sandbox import amazon_api, hubspot_api, shopify_api
from sandbox.server import SandboxApp, SandboxServer
from sandbox.world import WorldConfig


def shopify_orders(url: str, s: requests.Session) -> tuple[int, int]:
    next_url, params, pages, rows = f"{url}/admin/api/2024-10/orders.json", {"status": "any", "limit": 250}, 0, 0
    s.headers["X-Shopify-Access-Token"] = shopify_api.DEMO_ACCESS_TOKEN
    while next_url:
        r = s.get(next_url, params=params)
        pages, rows = pages + 1, rows + len(r.json()["orders"])
        next_url, params = r.links.get("next", {}).get("url"), None
    return pages, rows


def hubspot_deals(url: str, s: requests.Session) -> tuple[int, int]:
    s.headers["Authorization"] = f"Bearer {hubspot_api.DEMO_ACCESS_TOKEN}"
    after, pages, rows = None, 0, 0
    while True:
        body = s.get(f"{url}/crm/v3/objects/deals", params={"limit": 100, **({"after": after} if after else {})}).json()
        pages, rows = pages + 1, rows + len(body["results"])
        if "paging" not in body:
            return pages, rows
        after = body["paging"]["next"]["after"]


def amazon_orders(url: str, s: requests.Session) -> tuple[int, int]:
    token = s.post(
        f"{url}/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": amazon_api.DEMO_REFRESH_TOKEN,
            "client_id": amazon_api.DEMO_CLIENT_ID,
            "client_secret": amazon_api.DEMO_CLIENT_SECRET,
        },
    ).json()["access_token"]
    s.headers["x-amz-access-token"] = token
    params = {"MarketplaceIds": ",".join(amazon_api.AMAZON_MARKETPLACES), "LastUpdatedAfter": "2024-12-01T00:00:00Z"}
    pages, rows = 0, 0
    while True:
        payload = s.get(f"{url}/orders/v0/orders", params=params).json()["payload"]
        pages, rows = pages + 1, rows + len(payload["Orders"])
        if "NextToken" not in payload:
            return pages, rows
        params = {"NextToken": payload["NextToken"]}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    config = WorldConfig(seed=args.seed, scale=args.scale, as_of=date(2026, 10, 31))
    started = time.perf_counter()
    app = SandboxApp(config, rate_limits="off")
    print(f"world seed={config.seed} scale={config.scale}: built in {time.perf_counter() - started:.1f}s")
    with SandboxServer(app, port=0) as server, requests.Session() as s:
        print(
            f"{'endpoint':<18}{'pages':>7}{'records':>9}{'seconds':>9}{'pages/s':>9}{'records/s':>11}"
            f"{'floor pages/s':>15}{'ratio':>7}"
        )
        for name, fn in (
            ("shopify orders", shopify_orders),
            ("hubspot deals", hubspot_deals),
            ("amazon orders", amazon_orders),
        ):
            t = time.perf_counter()
            pages, rows = fn(server.url, s)
            took = time.perf_counter() - t
            t = time.perf_counter()
            for _ in range(pages):
                s.get(f"{server.url}/_sandbox/health")
            floor = pages / (time.perf_counter() - t)
            print(
                f"{name:<18}{pages:>7}{rows:>9}{took:>9.2f}{pages / took:>9.1f}{rows / took:>11.0f}"
                f"{floor:>15.1f}{(pages / took) / floor:>7.2f}"
            )


if __name__ == "__main__":
    main()
