"""Sandbox rate limits (docs/architecture.md: API contracts): each vendor's 429 body and headers past its limit, none under it, none off (headers still sent)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date

import pytest
import requests

from sandbox import hubspot_api, shopify_api
from sandbox.faults import request_key
from sandbox.protocol import Request
from sandbox.ratelimit import RateLimiter, RollingWindow, TokenBucket
from sandbox.server import VENDORS, SandboxApp, SandboxServer
from sandbox.world import WorldConfig
from tests.helpers import amazon_headers

WORLD = WorldConfig(seed=9, scale=0.02, as_of=date(2026, 6, 30))
ORDERS = "/admin/api/2024-10/orders.json"
SHOPIFY = {"X-Shopify-Access-Token": shopify_api.DEMO_ACCESS_TOKEN}
HUBSPOT = {"Authorization": f"Bearer {hubspot_api.DEMO_ACCESS_TOKEN}"}
AMAZON_QUERY = {"MarketplaceIds": "ATVPDKIKX0DER", "CreatedAfter": "2026-06-01T00:00:00Z", "MaxResultsPerPage": "1"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _limiter(app: SandboxApp, mode: str, clock: FakeClock) -> RateLimiter:
    """``app``'s limiter rebuilt on a fake clock (same buckets and policies)."""
    app.limiter = RateLimiter(mode, app.limiter.limits, app.limiter.policies, clock=clock)
    return app.limiter


@pytest.fixture()
def real() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxApp(WORLD, rate_limits="real"), port=0) as server:
        yield server


def _burst(
    s: requests.Session, url: str, headers: dict[str, str], params: dict[str, str], capacity: int, leak_per_s: float
) -> tuple[list[requests.Response], requests.Response]:
    """Requests as fast as possible until the first 429; returns the successes and the 429."""
    ok: list[requests.Response] = []
    started = time.monotonic()
    while len(ok) <= capacity + leak_per_s * (time.monotonic() - started) + 1:
        response = s.get(url, headers=headers, params=params, timeout=10)
        if response.status_code == 429:
            return ok, response
        assert response.status_code == 200, response.text
        ok.append(response)
    raise AssertionError(f"no 429 after {len(ok)} requests")


def test_shopify_leaky_bucket_40_requests_then_429_with_retry_after_then_paced_requests_pass(
    real: SandboxServer,
) -> None:
    with requests.Session() as s:
        ok, throttled = _burst(s, real.url + ORDERS, SHOPIFY, {"limit": "1"}, 40, 2.0)
        assert len(ok) >= 40
        assert ok[0].headers["X-Shopify-Shop-Api-Call-Limit"] == "1/40"
        assert throttled.headers["Retry-After"] == "2.0"
        assert throttled.headers["X-Shopify-Shop-Api-Call-Limit"] == "40/40"
        assert throttled.json() == {
            "errors": "Exceeded 2 calls per second for api client. "
            "Reduce request rates to resume uninterrupted service."
        }
        for _ in range(3):  # at the leak rate (2/s) from a full bucket: never a 429
            time.sleep(0.55)
            assert s.get(real.url + ORDERS, headers=SHOPIFY, params={"limit": "1"}, timeout=10).status_code == 200


def test_hubspot_ten_secondly_rolling_window(real: SandboxServer) -> None:
    url = f"{real.url}/crm/v3/objects/deals"
    with requests.Session() as s:
        ok, throttled = _burst(s, url, HUBSPOT, {"limit": "1"}, 100, 0.0)
    assert len(ok) == 100  # a rolling window: nothing comes back within 10 s
    first = ok[0].headers
    assert (
        first["X-HubSpot-RateLimit-Max"],
        first["X-HubSpot-RateLimit-Remaining"],
        first["X-HubSpot-RateLimit-Interval-Milliseconds"],
    ) == ("100", "99", "10000")
    assert throttled.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    body = throttled.json()
    assert body["status"] == "error" and body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"


def test_amazon_per_operation_token_buckets(real: SandboxServer) -> None:
    with requests.Session() as s:
        headers = amazon_headers(real.url)
        ok, throttled = _burst(s, f"{real.url}/orders/v0/orders", headers, AMAZON_QUERY, 20, 0.0167)
        assert len(ok) == 20 and ok[0].headers["x-amzn-RateLimit-Limit"] == "0.0167"
        assert throttled.json()["errors"][0]["code"] == "QuotaExceeded"
        assert throttled.headers["x-amzn-RateLimit-Limit"] == "0.0167"
        order_id = ok[0].json()["payload"]["Orders"][0]["AmazonOrderId"]
        items = s.get(f"{real.url}/orders/v0/orders/{order_id}/orderItems", headers=headers, timeout=10)
        assert items.status_code == 200 and items.headers["x-amzn-RateLimit-Limit"] == "0.5"  # its own bucket
        assert amazon_headers(real.url)  # the LWA token endpoint is not throttled by the SP-API buckets


def test_off_never_throttles_and_announces_limits_that_never_bite() -> None:
    """``off``: no 429 ever, and the limit headers the real APIs always send, announcing a bucket so large
    (100,000, nothing used) that a client pacing itself from them never waits."""
    with SandboxServer(SandboxApp(WORLD, rate_limits="off"), port=0) as server, requests.Session() as s:
        amazon = amazon_headers(server.url)
        statuses = Counter()
        for _ in range(150):
            for url, headers, params in (
                (server.url + ORDERS, SHOPIFY, {"limit": "1"}),
                (f"{server.url}/crm/v3/objects/deals", HUBSPOT, {"limit": "1"}),
                (f"{server.url}/orders/v0/orders", amazon, AMAZON_QUERY),
            ):
                response = s.get(url, headers=headers, params=params, timeout=10)
                statuses[response.status_code] += 1
                h = response.headers
                if "/admin/" in url:
                    assert h["X-Shopify-Shop-Api-Call-Limit"] == "0/100000"
                elif "/crm/" in url:
                    assert h["X-HubSpot-RateLimit-Max"] == h["X-HubSpot-RateLimit-Remaining"] == "100000"
                    assert h["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
                else:
                    assert h["x-amzn-RateLimit-Limit"] == "100000"
    assert statuses == Counter({200: 450})


def _requests_to_see_a_429(capacity: float, speed: float) -> int:
    """Evenly spaced at ``speed`` x the rate from a full bucket, a 429 comes after ~capacity / (1 - 1/speed)."""
    return int(capacity / (1 - 1 / speed)) + 10


def test_a_client_at_the_published_rate_never_gets_a_429_and_a_faster_one_does() -> None:
    """Over HTTP, real limits, with the server's clock faked: evenly spaced requests at 99 % of each bucket's
    published rate never see a 429 (however long it goes on), at 125 % they do."""
    app = SandboxApp(WORLD, rate_limits="real")
    clock = FakeClock()
    with SandboxServer(app, port=0) as server, requests.Session() as s:
        amazon = amazon_headers(server.url)
        order_id = s.get(f"{server.url}/orders/v0/orders", headers=amazon, params=AMAZON_QUERY, timeout=10).json()[
            "payload"
        ]["Orders"][0]["AmazonOrderId"]
        endpoints = {
            "shopify": (server.url + ORDERS, SHOPIFY, {"limit": "1"}),
            "hubspot": (f"{server.url}/crm/v3/objects/deals", HUBSPOT, {"limit": "1"}),
            "amazon.getOrders": (f"{server.url}/orders/v0/orders", amazon, AMAZON_QUERY),
            "amazon.getOrderItems": (f"{server.url}/orders/v0/orders/{order_id}/orderItems", amazon, {}),
        }
        for bucket, (url, headers, params) in endpoints.items():
            capacity, rate = app.limiter.limits[bucket]["real"]  # type: ignore[misc]
            for speed, count in ((0.99, int(max(60, 2 * capacity))), (1.25, _requests_to_see_a_429(capacity, 1.25))):
                _limiter(app, "real", clock)  # a fresh bucket
                statuses = Counter()
                for _ in range(count):
                    clock.now += 1 / (rate * speed)
                    statuses[s.get(url, headers=headers, params=params, timeout=10).status_code] += 1
                if speed < 1:
                    assert set(statuses) == {200}, (bucket, statuses)
                else:
                    assert 429 in statuses, (bucket, statuses)


@pytest.mark.parametrize("mode", ["real", "demo"])
def test_every_bucket_in_every_mode_admits_its_published_rate_and_no_more(mode: str) -> None:
    clock = FakeClock()
    app = SandboxApp(WORLD, rate_limits=mode)
    for bucket, by_mode in app.limiter.limits.items():
        capacity, rate = by_mode[mode]  # type: ignore[misc]
        for speed in (0.99, 1.25):
            limiter = _limiter(app, mode, clock)
            denied = 0
            for _ in range(max(3 * int(capacity), _requests_to_see_a_429(capacity, speed) if speed > 1 else 0)):
                clock.now += 1 / (rate * speed)
                denied += not limiter.take(bucket)[0]
            assert (denied > 0) == (speed > 1), (bucket, speed, denied)


def test_limits_are_thread_safe_under_a_threading_server() -> None:
    app = SandboxApp(WORLD, rate_limits="real")
    _limiter(app, "real", FakeClock())  # time stands still: exactly the capacity gets through
    with SandboxServer(app, port=0) as server:
        amazon = amazon_headers(server.url)
        for url, headers, params, capacity in (
            (server.url + ORDERS, SHOPIFY, {"limit": "1"}, 40),
            (f"{server.url}/crm/v3/objects/deals", HUBSPOT, {"limit": "1"}, 100),
            (f"{server.url}/orders/v0/orders", amazon, AMAZON_QUERY, 20),
        ):
            statuses: Counter[int] = Counter()
            lock = threading.Lock()

            def client() -> None:
                with requests.Session() as s:
                    for _ in range(10):
                        code = s.get(url, headers=headers, params=params, timeout=10).status_code
                        with lock:
                            statuses[code] += 1

            threads = [threading.Thread(target=client) for _ in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert statuses == Counter({200: capacity, 429: 160 - capacity}), url


def test_limiters_token_bucket_and_rolling_window_semantics() -> None:
    clock = FakeClock()
    bucket, window = TokenBucket(40, 2.0, clock), RollingWindow(100, 10.0, clock)
    assert all(bucket.take()[0] for _ in range(40)) and bucket.used == 40
    allowed, wait = bucket.take()
    assert not allowed and wait == pytest.approx(0.5)
    clock.now += 0.5
    assert bucket.take()[0] and not bucket.take()[0]
    assert all(window.take()[0] for _ in range(100)) and window.used == 100
    clock.now += 5  # a token bucket would have refilled 50 by now; a rolling window has not
    allowed, wait = window.take()
    assert not allowed and wait == pytest.approx(5.0)
    clock.now += 5
    assert window.take()[0] and window.used == 1
    limits = {b: lim for v in VENDORS for b, lim in v.LIMITS.items()}
    app = SandboxApp(WORLD, rate_limits="real")
    assert isinstance(app.limiter.bucket("hubspot"), RollingWindow)
    assert isinstance(app.limiter.bucket("shopify"), TokenBucket)
    assert set(app.limiter.limits) == set(limits)


def test_an_injected_429_carries_the_vendor_headers_of_an_exhausted_bucket() -> None:
    for mode, header in (("demo", "400/400"), ("real", "40/40"), ("off", "0/100000")):  # off: headers too
        app = SandboxApp(WORLD, rate_limits=mode, faults="heavy")
        assert app.faults is not None
        for since in range(10_000):
            req = Request(
                "GET", ORDERS, {"limit": "1", "since_id": str(since)}, {k.lower(): v for k, v in SHOPIFY.items()}
            )
            fault = app.faults.plan(request_key(req), 0)
            if fault is not None and fault.kind == "rate_limited":
                break
        response, _ = app.dispatch(req)
        assert response.status == 429 and response.headers["Retry-After"] == "2.0"
        assert response.headers.get("X-Shopify-Shop-Api-Call-Limit") == header
