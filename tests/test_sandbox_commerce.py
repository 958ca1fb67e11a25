"""The commerce sandbox: Shopify customers/products/orders, Amazon orders and financial events, eBay orders.

Clients here are written from the vendors' documentation (paths, parameters, pagination, envelopes),
over real HTTP. The headline test pages every commerce resource like such a client and recomputes the
per month × channel totals, which must equal ``compute_truth`` to the cent.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import requests

from sandbox import amazon_api, ebay_api, shopify_api
from sandbox.protocol import Request
from sandbox.server import SandboxApp, SandboxServer
from sandbox.sim import HISTORY_START
from sandbox.truth import compute_truth
from sandbox.world import World, WorldConfig, build_world
from tests.helpers import amazon_headers

WORLD = WorldConfig(seed=5, scale=0.02, as_of=date(2026, 3, 31))
SHOPIFY = {"X-Shopify-Access-Token": shopify_api.DEMO_ACCESS_TOKEN}
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxApp(WORLD, rate_limits="off"), port=0) as s:
        yield s


@pytest.fixture(scope="module")
def world(server: SandboxServer) -> World:
    return server.app.world


def _json(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text[:500]
    return response.json(parse_float=Decimal)  # amounts stay exact (Amazon's CurrencyAmount is a JSON number)


def _ms(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


# --- clients, as the vendors document them -------------------------------------------------------


def shopify_all(base: str, resource: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Shopify REST: first page with filters, then follow ``Link: <...>; rel="next"`` until it is gone."""
    url: str | None = f"{base}/admin/api/2024-10/{resource}.json"
    rows: list[dict[str, Any]] = []
    while url:
        response = requests.get(url, headers=SHOPIFY, params=params, timeout=30)
        rows += _json(response)[resource]
        url, params = response.links.get("next", {}).get("url"), {}
    return rows


def amazon_paged(base: str, headers: dict[str, str], path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """SP-API: ``payload.NextToken`` until absent; a request with ``NextToken`` needs no other filter."""
    while True:
        payload = _json(requests.get(f"{base}{path}", headers=headers, params=params, timeout=30))["payload"]
        yield payload
        if "NextToken" not in payload:
            return
        params = {"NextToken": payload["NextToken"]}


def amazon_financial_events(
    base: str, headers: dict[str, str], start: datetime, end: datetime, page_size: int = 100
) -> dict[str, list[dict[str, Any]]]:
    """``listFinancialEvents`` in windows of at most 180 days (the API's limit)."""
    lists = ("ShipmentEventList", "RefundEventList", "ServiceFeeEventList", "FBALiquidationEventList")
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in lists}
    while start < end:
        stop = min(start + timedelta(days=180), end)
        params = {
            "PostedAfter": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "PostedBefore": stop.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "MaxResultsPerPage": page_size,
        }
        for payload in amazon_paged(base, headers, "/finances/v0/financialEvents", params):
            for name in out:
                out[name] += payload["FinancialEvents"][name]
        start = stop
    return out


def ebay_token(
    base: str,
    grant: dict[str, str] | None = None,
    client: tuple[str, str] = (ebay_api.DEMO_CLIENT_ID, ebay_api.DEMO_CLIENT_SECRET),
) -> requests.Response:
    basic = base64.b64encode(":".join(client).encode()).decode()
    return requests.post(
        f"{base}/identity/v1/oauth2/token",
        timeout=30,
        headers={"Authorization": f"Basic {basic}"},
        data=grant or {"grant_type": "refresh_token", "refresh_token": ebay_api.DEMO_REFRESH_TOKEN},
    )


def ebay_headers(base: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_json(ebay_token(base))['access_token']}"}


def ebay_orders(base: str, headers: dict[str, str], filter_: str, limit: int = 200) -> list[dict[str, Any]]:
    """Sell Fulfillment ``getOrders``: follow ``next`` (absent on the last page)."""
    url: str | None = f"{base}/sell/fulfillment/v1/order"
    params: dict[str, Any] = {"filter": filter_, "limit": limit}
    rows: list[dict[str, Any]] = []
    while url:
        body = _json(requests.get(url, headers=headers, params=params, timeout=30))
        rows += body["orders"]
        url, params = body.get("next"), {}
    return rows


def usd_rates(base: str, start: date, end: date) -> dict[str, dict[date, Decimal]]:
    """USD per unit of EUR/GBP per business day, from the FX API (base=X, symbols=USD is exact)."""
    out: dict[str, dict[date, Decimal]] = {}
    for ccy in ("EUR", "GBP", "CAD"):
        body = _json(requests.get(f"{base}/fx/v1/{start}..{end}", params={"base": ccy, "symbols": "USD"}, timeout=30))
        out[ccy] = {date.fromisoformat(d): Decimal(str(r["USD"])) for d, r in body["rates"].items()}
    return out


# --- the headline test ---------------------------------------------------------------------------


class Ledger:
    """Per month × channel totals, local and USD, booked amount by amount as the metric definitions say."""

    def __init__(self, rates: dict[str, dict[date, Decimal]]) -> None:
        self.rates = rates
        self.usd: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: defaultdict(Decimal))
        self.local: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(lambda: defaultdict(Decimal))

    def rate(self, currency: str, day: date) -> Decimal:
        if currency == "USD":
            return Decimal(1)
        while day not in self.rates[currency]:
            day -= timedelta(days=1)
        return self.rates[currency][day]

    def book(self, channel: str, currency: str, at: str, measure: str, amount: Decimal) -> None:
        day = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC).date()
        month = day.strftime("%Y-%m")
        self.local[(month, channel, currency)][measure] += amount
        self.usd[(month, channel)][measure] += (amount * self.rate(currency, day)).quantize(CENT, ROUND_HALF_UP)

    def count(self, channel: str, currency: str, at: str) -> None:
        month = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC).strftime("%Y-%m")
        self.local[(month, channel, currency)]["orders"] += 1
        self.usd[(month, channel)]["orders"] += 1


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


def test_a_client_paging_every_resource_gets_the_truth_per_month_and_channel(
    server: SandboxServer, world: World
) -> None:
    base, now = server.url, WORLD.now
    ledger = Ledger(usd_rates(base, HISTORY_START - timedelta(days=10), WORLD.as_of))

    # Shopify: orders with their line items and refunds (status=any: open, closed and cancelled)
    for o in shopify_all(base, "orders", {"status": "any", "limit": 250}):
        if o["test"] or o["cancelled_at"]:
            continue
        ledger.count("shopify", "USD", o["created_at"])
        ledger.book(
            "shopify",
            "USD",
            o["created_at"],
            "gross_sales",
            sum((_money(li["price"]) * li["quantity"] for li in o["line_items"]), Decimal(0)),
        )
        ledger.book("shopify", "USD", o["created_at"], "discounts", _money(o["total_discounts"]))
        for r in o["refunds"]:
            ledger.book(
                "shopify",
                "USD",
                r["created_at"],
                "refunds",
                sum((_money(rl["subtotal"]) for rl in r["refund_line_items"]), Decimal(0)),
            )

    # Amazon: orders (+ items) for sales, financial events for fees and returns
    amazon = amazon_headers(base)
    orders = [
        o
        for p in amazon_paged(
            base,
            amazon,
            "/orders/v0/orders",
            {"MarketplaceIds": ",".join(amazon_api.AMAZON_MARKETPLACES), "CreatedAfter": "2024-01-01T00:00:00Z"},
        )
        for o in p["Orders"]
    ]
    for o in orders:
        if o["OrderStatus"] == "Canceled":
            continue
        items = _json(
            requests.get(f"{base}/orders/v0/orders/{o['AmazonOrderId']}/orderItems", headers=amazon, timeout=30)
        )["payload"]["OrderItems"]
        ccy = items[0]["ItemPrice"]["CurrencyCode"]
        ledger.count("amazon", ccy, o["PurchaseDate"])
        ledger.book(
            "amazon",
            ccy,
            o["PurchaseDate"],
            "gross_sales",
            sum((_money(i["ItemPrice"]["Amount"]) for i in items), Decimal(0)),
        )
        ledger.book(
            "amazon",
            ccy,
            o["PurchaseDate"],
            "discounts",
            sum((_money(i["PromotionDiscount"]["Amount"]) for i in items), Decimal(0)),
        )
    events = amazon_financial_events(base, amazon, datetime(2024, 1, 1, tzinfo=UTC), now - timedelta(minutes=2))
    for e in events["ShipmentEventList"]:
        ccy = e["ShipmentItemList"][0]["ItemChargeList"][0]["ChargeAmount"]["CurrencyCode"]
        for f in (f for i in e["ShipmentItemList"] for f in i["ItemFeeList"]):  # fee line by fee line
            ledger.book("amazon", ccy, e["PostedDate"], "marketplace_fees", -f["FeeAmount"]["CurrencyAmount"])
    for e in events["RefundEventList"]:
        items = e["ShipmentItemAdjustmentList"]
        ccy = items[0]["ItemChargeAdjustmentList"][0]["ChargeAmount"]["CurrencyCode"]
        principal = sum(
            (
                c["ChargeAmount"]["CurrencyAmount"]
                for i in items
                for c in i["ItemChargeAdjustmentList"]
                if c["ChargeType"] == "Principal"
            ),
            Decimal(0),
        )
        promotion = sum(
            (p["PromotionAmount"]["CurrencyAmount"] for i in items for p in i["PromotionAdjustmentList"]), Decimal(0)
        )
        ledger.book("amazon", ccy, e["PostedDate"], "refunds", -(principal + promotion))
        for f in (f for i in items for f in i["ItemFeeAdjustmentList"]):
            ledger.book("amazon", ccy, e["PostedDate"], "marketplace_fees", -f["FeeAmount"]["CurrencyAmount"])

    # the seller's other fees: subscription and storage (service fees), liquidation fees; Sponsored Products
    # invoices (ProductAdsPaymentEventList) are ad spend, not a marketplace fee
    for e in events["ServiceFeeEventList"]:
        for f in e["FeeList"]:
            ledger.book(
                "amazon",
                f["FeeAmount"]["CurrencyCode"],
                e["PostedDate"],
                "marketplace_fees",
                -f["FeeAmount"]["CurrencyAmount"],
            )
    for e in events["FBALiquidationEventList"]:
        fee = e["LiquidationFeeAmount"]
        ledger.book("amazon", fee["CurrencyCode"], e["PostedDate"], "marketplace_fees", -fee["CurrencyAmount"])

    # eBay: every order ever modified, newest first, through offset pages
    for o in ebay_orders(base, ebay_headers(base), "lastmodifieddate:[2024-01-01T00:00:00.000Z..]"):
        if o["cancelStatus"]["cancelState"] == "CANCELED":
            continue
        at = o["creationDate"]
        ledger.count("ebay", "USD", at)
        ledger.book(
            "ebay",
            "USD",
            at,
            "gross_sales",
            sum((_money(li["lineItemCost"]["value"]) for li in o["lineItems"]), Decimal(0)),
        )
        ledger.book(
            "ebay", "USD", at, "discounts", -_money(o["pricingSummary"].get("priceDiscount", {"value": "0"})["value"])
        )
        ledger.book("ebay", "USD", at, "marketplace_fees", _money(o["totalMarketplaceFee"]["value"]))
        for r in o["paymentSummary"]["refunds"]:
            if r["refundStatus"] == "REFUNDED":
                ledger.book("ebay", "USD", r["refundDate"], "refunds", _money(r["amount"]["value"]))

    truth = compute_truth(world)
    measures = ("orders", "gross_sales", "discounts", "refunds", "marketplace_fees")

    def client_row(row: dict[str, Any], suffix: str) -> dict[str, Any]:
        out = {m if m == "orders" else m + suffix: row.get(m, 0 if m == "orders" else Decimal(0)) for m in measures}
        net = out[f"gross_sales{suffix}"] - out[f"discounts{suffix}"] - out[f"refunds{suffix}"]
        return {**out, f"net_sales{suffix}": net, f"net_revenue{suffix}": net - out[f"marketplace_fees{suffix}"]}

    def truth_row(row: dict[str, Any], suffix: str) -> dict[str, Any]:
        keys = [m if m == "orders" else m + suffix for m in (*measures, "net_sales", "net_revenue")]
        return {k: row[k] if k == "orders" else Decimal(row[k]) for k in keys}

    commerce = ("shopify", "amazon", "ebay")
    expected_usd = {
        (r["month"], r["channel"]): truth_row(r, "_usd") for r in truth["monthly"] if r["channel"] in commerce
    }
    got_usd = {k: client_row(v, "_usd") for k, v in ledger.usd.items()}
    assert got_usd == expected_usd
    expected_local = {
        (r["month"], r["channel"], r["currency"]): truth_row(r, "")
        for r in truth["monthly_local"]
        if r["channel"] in commerce
    }
    assert {k: client_row(v, "") for k, v in ledger.local.items()} == expected_local
    # the world is not trivial: every channel has sales, refunds and (marketplaces) fees
    for channel in commerce:
        rows = [v for (m, c), v in got_usd.items() if c == channel]
        assert sum(r["orders"] for r in rows) > 50 and sum(r["refunds_usd"] for r in rows) > 0
        assert channel == "shopify" or sum(r["marketplace_fees_usd"] for r in rows) > 0


def test_truth_carries_fees_net_revenue_and_the_new_record_counts(world: World) -> None:
    truth = compute_truth(world)
    assert {r["channel"] for r in truth["daily"]} == {"shopify", "amazon", "ebay", "b2b"}
    for row in truth["monthly"] + truth["daily"]:
        net = Decimal(row["gross_sales_usd"]) - Decimal(row["discounts_usd"]) - Decimal(row["refunds_usd"])
        assert Decimal(row["net_sales_usd"]) == net
        assert Decimal(row["net_revenue_usd"]) == net - Decimal(row["marketplace_fees_usd"])
    for row in truth["monthly_local"]:
        assert Decimal(row["net_revenue"]) == Decimal(row["net_sales"]) - Decimal(row["marketplace_fees"])
    counts = truth["record_counts"]
    c = world.commerce
    assert counts["shopify.customers"] == len(c.shopify_customers) > 100
    assert counts["shopify.products"] == len(c.products) == 60
    assert counts["ebay.orders"] == len(c.ebay_orders) > 50
    assert counts["ebay.orders.line_items"] == sum(len(o.lines) for o in c.ebay_orders)
    assert counts["amazon.financial_events.shipments"] == sum(1 for a in world.amazon_orders if a.status == "Shipped")
    assert counts["amazon.financial_events.refunds"] > 0
    assert {"monthly", "monthly_local", "daily", "record_counts", "b2b_by_owner", "world", "conversion"} <= set(truth)


# --- pagination reaches every record exactly once ------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "expected", "params"),
    [
        ("orders", lambda w: [o.order_id for o in w.shopify_orders], {"status": "any", "limit": 37}),
        ("customers", lambda w: [c.customer_id for c in w.commerce.shopify_customers], {"limit": 23}),
        ("products", lambda w: [p.product_id for p in w.products], {"limit": 7}),
    ],
)
def test_shopify_link_pagination_reaches_every_record_exactly_once(
    server: SandboxServer, world: World, resource: str, expected, params: dict
) -> None:
    ids = [r["id"] for r in shopify_all(server.url, resource, params)]
    assert ids == expected(world)  # ascending id, each once


def test_shopify_previous_link_returns_the_previous_page(server: SandboxServer) -> None:
    url = f"{server.url}/admin/api/2024-10/customers.json"
    first = requests.get(url, headers=SHOPIFY, params={"limit": 5}, timeout=30)
    assert "previous" not in first.links
    second = requests.get(first.links["next"]["url"], headers=SHOPIFY, timeout=30)
    back = requests.get(second.links["previous"]["url"], headers=SHOPIFY, timeout=30)
    assert [c["id"] for c in back.json()["customers"]] == [c["id"] for c in first.json()["customers"]]


def test_amazon_orders_and_financial_events_page_through_everything_once(server: SandboxServer, world: World) -> None:
    headers = amazon_headers(server.url)
    ids = [
        o["AmazonOrderId"]
        for p in amazon_paged(
            server.url,
            headers,
            "/orders/v0/orders",
            {
                "MarketplaceIds": ",".join(amazon_api.AMAZON_MARKETPLACES),
                "LastUpdatedAfter": "2023-12-31T00:00:00Z",
                "MaxResultsPerPage": 17,
            },
        )
        for o in p["Orders"]
    ]
    assert len(ids) == len(set(ids)) == len(world.amazon_orders)
    events = amazon_financial_events(
        server.url, headers, datetime(2024, 1, 1, tzinfo=UTC), WORLD.now - timedelta(minutes=2), page_size=13
    )
    got = [(e["PostedDate"], e["AmazonOrderId"], "shipment") for e in events["ShipmentEventList"]] + [
        (e["PostedDate"], e["AmazonOrderId"], "refund") for e in events["RefundEventList"]
    ]
    expected = [
        (e.posted_at.strftime("%Y-%m-%dT%H:%M:%SZ"), e.order.order_id, e.kind)
        for e in world.commerce.amazon_financial_events
        if e.posted_at < WORLD.now - timedelta(minutes=2)
    ]
    assert sorted(got) == sorted(expected) and len(set(got)) == len(got)


def test_ebay_offset_pagination_reaches_every_order_once_newest_first(server: SandboxServer, world: World) -> None:
    orders = ebay_orders(server.url, ebay_headers(server.url), "creationdate:[2023-12-01T00:00:00.000Z..]", limit=11)
    ids = [o["orderId"] for o in orders]
    assert len(ids) == len(set(ids)) == len(world.commerce.ebay_orders)
    created = [o["creationDate"] for o in orders]
    assert created == sorted(created, reverse=True)
    body = _json(
        requests.get(
            f"{server.url}/sell/fulfillment/v1/order",
            headers=ebay_headers(server.url),
            timeout=30,
            params={"filter": "creationdate:[2023-12-01T00:00:00.000Z..]", "limit": 11, "offset": 11},
        )
    )
    assert (
        body["total"] == len(ids) and body["offset"] == 11 and body["limit"] == 11 and "prev" in body and "next" in body
    )


# --- filters return exactly the right records -----------------------------------------------------


def test_shopify_updated_at_min_on_customers_and_products_is_exact(server: SandboxServer, world: World) -> None:
    stats = {c.customer_id: shopify_api.customer_stats(c, world)[2] for c in world.commerce.shopify_customers}
    cut = sorted(stats.values())[len(stats) // 2]
    got = [c["id"] for c in shopify_all(server.url, "customers", {"limit": 50, "updated_at_min": cut.isoformat()})]
    assert got == sorted(i for i, u in stats.items() if u >= cut)
    customer = next(c for c in shopify_all(server.url, "customers", {"limit": 250, "ids": str(got[0])}))
    assert datetime.fromisoformat(customer["updated_at"]) == stats[got[0]]
    revised = [p for p in world.products if p.revision]
    cut = min(p.updated_at for p in revised)
    got = [p["id"] for p in shopify_all(server.url, "products", {"limit": 250, "updated_at_min": cut.isoformat()})]
    assert got == sorted(p.product_id for p in world.products if p.updated_at >= cut) and got
    sauces = shopify_all(server.url, "products", {"product_type": "Sauce", "limit": 250})
    assert {p["product_type"] for p in sauces} == {"Sauce"} and len(sauces) == 20


def test_shopify_order_filters_are_exact(server: SandboxServer, world: World) -> None:
    orders = world.shopify_orders
    lo, hi = (
        sorted(o.updated_at for o in orders)[len(orders) // 3],
        sorted(o.updated_at for o in orders)[2 * len(orders) // 3],
    )
    got = [
        o["id"]
        for o in shopify_all(
            server.url,
            "orders",
            {"status": "any", "limit": 50, "updated_at_min": lo.isoformat(), "updated_at_max": hi.isoformat()},
        )
    ]
    assert got == [o.order_id for o in orders if lo <= o.updated_at <= hi]
    since = orders[100].order_id
    got = [o["id"] for o in shopify_all(server.url, "orders", {"status": "any", "since_id": since, "limit": 250})]
    assert got == [o.order_id for o in orders if o.order_id > since]
    cancelled = [o["id"] for o in shopify_all(server.url, "orders", {"status": "cancelled"})]
    assert cancelled == [o.order_id for o in orders if o.cancelled_at]


def test_amazon_last_updated_after_and_posted_window_are_exact(server: SandboxServer, world: World) -> None:
    headers = amazon_headers(server.url)
    cut = datetime(2026, 2, 10, 12, tzinfo=UTC)
    got = {
        o["AmazonOrderId"]
        for p in amazon_paged(
            server.url,
            headers,
            "/orders/v0/orders",
            {"MarketplaceIds": "A1F83G8C2ARO7P,A1PA6795UKMFR9", "LastUpdatedAfter": cut.strftime("%Y-%m-%dT%H:%M:%SZ")},
        )
        for o in p["Orders"]
    }
    assert got == {
        a.order_id for a in world.amazon_orders if a.last_update >= cut and a.marketplace_id != "ATVPDKIKX0DER"
    }
    after, before = datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 9, 15, 6, tzinfo=UTC)
    events = amazon_financial_events(server.url, headers, after, before)
    got_events = {(e["AmazonOrderId"], "shipment") for e in events["ShipmentEventList"]} | {
        (e["AmazonOrderId"], "refund") for e in events["RefundEventList"]
    }
    assert got_events == {
        (e.order.order_id, e.kind) for e in world.commerce.amazon_financial_events if after <= e.posted_at < before
    }
    assert any(kind == "refund" for _, kind in got_events)


def test_ebay_lastmodifieddate_range_is_inclusive_and_exact(server: SandboxServer, world: World) -> None:
    orders = world.commerce.ebay_orders
    lo = sorted(o.last_modified for o in orders)[len(orders) // 4]
    hi = sorted(o.last_modified for o in orders)[len(orders) // 2]
    got = [
        o["orderId"]
        for o in ebay_orders(server.url, ebay_headers(server.url), f"lastmodifieddate:[{_ms(lo)}..{_ms(hi)}]", 7)
    ]
    assert sorted(got) == sorted(o.order_id for o in orders if lo <= o.last_modified <= hi)
    assert len(got) == len(set(got)) > 10
    fulfilled = ebay_orders(
        server.url,
        ebay_headers(server.url),
        "creationdate:[2024-01-01T00:00:00.000Z..],orderfulfillmentstatus:{FULFILLED|IN_PROGRESS}",
    )
    assert {o["orderFulfillmentStatus"] for o in fulfilled} == {"FULFILLED"}
    assert len(fulfilled) == sum(1 for o in orders if o.shipped_at)


def test_ebay_without_a_date_filter_returns_the_last_90_days(server: SandboxServer, world: World) -> None:
    body = _json(requests.get(f"{server.url}/sell/fulfillment/v1/order", headers=ebay_headers(server.url), timeout=30))
    assert body["limit"] == 50
    assert body["total"] == sum(1 for o in world.commerce.ebay_orders if o.created_at >= WORLD.now - timedelta(days=90))


# --- invalid requests: the vendors' 400 bodies ----------------------------------------------------


def test_shopify_rejects_what_the_real_api_rejects_on_every_resource(server: SandboxServer) -> None:
    for resource in ("customers", "products", "orders"):
        url = f"{server.url}/admin/api/2024-10/{resource}.json"
        assert requests.get(url, timeout=30).status_code == 401
        assert requests.get(url, headers=SHOPIFY, params={"limit": 251}, timeout=30).status_code == 400
        first = requests.get(
            url,
            headers=SHOPIFY,
            params={"limit": 2, "status": "any"} if resource == "orders" else {"limit": 2},
            timeout=30,
        )
        mixed = requests.get(
            url,
            headers=SHOPIFY,
            timeout=30,
            params={"page_info": first.links["next"]["url"].split("page_info=")[1], "updated_at_min": "2025-01-01"},
        )
        assert mixed.status_code == 400 and "page_info" in mixed.json()["errors"]
    wrong = requests.get(
        f"{server.url}/admin/api/2024-10/customers.json",
        headers=SHOPIFY,
        timeout=30,
        params={
            "page_info": requests.get(
                f"{server.url}/admin/api/2024-10/products.json", headers=SHOPIFY, params={"limit": 2}, timeout=30
            )
            .links["next"]["url"]
            .split("page_info=")[1]
        },
    )
    assert wrong.status_code == 400


@pytest.mark.parametrize(
    "params",
    [
        {},  # PostedAfter is required
        {"PostedAfter": "2024-01-01T00:00:00Z", "PostedBefore": "2025-07-01T00:00:01Z"},  # > 180 days
        {"PostedAfter": "2025-03-01T00:00:00Z", "PostedBefore": "2025-02-01T00:00:00Z"},  # before < after
        {"PostedAfter": "2025-03-01T00:00:00Z", "PostedBefore": "2026-04-01T00:00:00Z"},  # in the future
        {"PostedAfter": "2026-03-31T23:59:00Z"},  # not 2 minutes in the past
        {"PostedAfter": "2025-03-01T00:00:00Z", "MaxResultsPerPage": "101"},
        {"PostedAfter": "yesterday"},
        {"NextToken": "not-a-token"},
    ],
)
def test_amazon_financial_events_rejects_invalid_windows(server: SandboxServer, params: dict) -> None:
    response = requests.get(
        f"{server.url}/finances/v0/financialEvents", headers=amazon_headers(server.url), params=params, timeout=30
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"


@pytest.mark.parametrize(
    ("params", "error_id"),
    [
        ({"limit": "201"}, 31100),
        ({"limit": "0"}, 31100),
        ({"limit": "ten"}, 31100),
        ({"offset": "-1"}, 31000),
        ({"filter": "modifieddate:[2024-01-01T00:00:00.000Z..]"}, 30700),
        ({"filter": "lastmodifieddate:[2024-01-01..]"}, 30810),
        ({"filter": "lastmodifieddate:[..2025-02-01T00:00:00.000Z]"}, 30820),
        ({"filter": "creationdate:[2025-03-01T00:00:00.000Z..2025-02-01T00:00:00.000Z]"}, 30840),
        ({"filter": "creationdate:[2027-01-01T00:00:00.000Z..]"}, 30850),
        ({"filter": "orderfulfillmentstatus:{FULFILLED}"}, 30800),
        ({"orderIds": ",".join(f"01-{i:05d}-00000" for i in range(51))}, 30900),
    ],
)
def test_ebay_rejects_invalid_parameters_with_its_error_body(
    server: SandboxServer, params: dict, error_id: int
) -> None:
    response = requests.get(
        f"{server.url}/sell/fulfillment/v1/order", headers=ebay_headers(server.url), params=params, timeout=30
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["errorId"] == error_id and error["domain"] == "API_FULFILLMENT" and error["category"] == "REQUEST"
    assert error["message"]


# --- auth ------------------------------------------------------------------------------------------


def test_amazon_financial_events_need_an_access_token(server: SandboxServer) -> None:
    response = requests.get(
        f"{server.url}/finances/v0/financialEvents", params={"PostedAfter": "2024-01-01T00:00:00Z"}, timeout=30
    )
    assert response.status_code == 403 and response.json()["errors"][0]["code"] == "Unauthorized"


def test_ebay_oauth_grants_and_bearer_checks(server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    base = server.url
    user = _json(ebay_token(base))
    assert user["expires_in"] == 7200 and user["token_type"] == "User Access Token"
    app = _json(ebay_token(base, {"grant_type": "client_credentials", "scope": "https://api.ebay.com/oauth/api_scope"}))
    assert app["token_type"] == "Application Access Token"
    assert ebay_token(base, client=("someone", "else")).json()["error"] == "invalid_client"
    assert ebay_token(base, client=("someone", "else")).status_code == 401
    bad_grant = ebay_token(base, {"grant_type": "refresh_token", "refresh_token": "nope"})
    assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "invalid_grant"
    assert ebay_token(base, {"grant_type": "password"}).json()["error"] == "unsupported_grant_type"
    url = f"{base}/sell/fulfillment/v1/order"
    for headers in (
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Basic {user['access_token']}"},
        {"Authorization": f"Bearer {user['access_token'][:-1]}x"},
    ):
        denied = requests.get(url, headers=headers, timeout=30)
        assert denied.status_code == 401 and denied.json()["errors"][0]["errorId"] == 1001
    for token in (user["access_token"], app["access_token"]):
        assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code == 200
    now = ebay_api.CLOCK()
    monkeypatch.setattr(ebay_api, "CLOCK", lambda: now + 7201)
    assert requests.get(url, headers={"Authorization": f"Bearer {user['access_token']}"}, timeout=30).status_code == 401


# --- rendering: what the records say ------------------------------------------------------------


def test_shopify_order_edits_show_current_quantities_and_move_updated_at(server: SandboxServer, world: World) -> None:
    edited = [o for o in world.shopify_orders if o.edits]
    assert edited, "the world has order edits"
    rendered = {
        o["id"]: o
        for o in shopify_all(
            server.url, "orders", {"status": "any", "ids": ",".join(str(o.order_id) for o in edited), "limit": 250}
        )
    }
    for o in edited:
        body, edit = rendered[o.order_id], o.edits[-1]
        line = next(li for li in body["line_items"] if li["id"] == edit.line_id)
        assert line["quantity"] == edit.quantity_after < edit.quantity_before
        gross = sum((Decimal(li["price"]) * li["quantity"] for li in body["line_items"]), Decimal(0))
        assert Decimal(body["total_line_items_price"]) == gross == o.gross
        assert datetime.fromisoformat(body["updated_at"]) >= edit.edited_at > datetime.fromisoformat(body["created_at"])
        discounts = sum(
            (Decimal(a["amount"]) for li in body["line_items"] for a in li["discount_allocations"]), Decimal(0)
        )
        assert discounts == Decimal(body["total_discounts"])


def test_amazon_financial_event_amounts_are_json_numbers_and_consistent(server: SandboxServer, world: World) -> None:
    headers = amazon_headers(server.url)
    response = requests.get(
        f"{server.url}/finances/v0/financialEvents",
        headers=headers,
        timeout=30,
        params={"PostedAfter": "2024-01-01T00:00:00Z", "PostedBefore": "2024-06-28T00:00:00Z"},
    )
    raw = response.json()["payload"]["FinancialEvents"]  # plain json: numbers come back as floats
    shipment = raw["ShipmentEventList"][0]
    item = shipment["ShipmentItemList"][0]
    assert isinstance(item["ItemChargeList"][0]["ChargeAmount"]["CurrencyAmount"], float)
    assert {c["ChargeType"] for c in item["ItemChargeList"]} == {"Principal", "Tax", "ShippingCharge"}
    assert {f["FeeType"] for f in item["ItemFeeList"]} == {"Commission", "FBAPerUnitFulfillmentFee"}
    assert all(f["FeeAmount"]["CurrencyAmount"] < 0 for f in item["ItemFeeList"])
    order = world.amazon_by_id[shipment["AmazonOrderId"]]
    assert shipment["MarketplaceName"] == amazon_api.AMAZON_MARKETPLACES[order.marketplace_id][2]
    assert shipment["PostedDate"] == order.shipped_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    refund = raw["RefundEventList"][0]["ShipmentItemAdjustmentList"][0]
    principal = next(c for c in refund["ItemChargeAdjustmentList"] if c["ChargeType"] == "Principal")
    assert principal["ChargeAmount"]["CurrencyAmount"] < 0 and "OrderAdjustmentItemId" in refund
    assert {f["FeeType"] for f in refund["ItemFeeAdjustmentList"]} == {"Commission", "RefundCommission"}


def test_ebay_order_shape_follows_the_fulfillment_api(server: SandboxServer, world: World) -> None:
    orders = ebay_orders(server.url, ebay_headers(server.url), "creationdate:[2024-01-01T00:00:00.000Z..]")
    for o in orders:
        subtotal = sum((Decimal(li["lineItemCost"]["value"]) for li in o["lineItems"]), Decimal(0))
        assert Decimal(o["pricingSummary"]["priceSubtotal"]["value"]) == subtotal
        discount = Decimal(o["pricingSummary"].get("priceDiscount", {"value": "0"})["value"])
        assert discount <= 0
        assert Decimal(o["pricingSummary"]["total"]["value"]) == subtotal + discount + Decimal(
            o["pricingSummary"]["deliveryCost"]["value"]
        )
        assert all(li["lineItemCost"]["currency"] == "USD" for li in o["lineItems"])
        assert o["creationDate"].endswith("Z") and len(o["creationDate"]) == 24
    promoted = [o for o in orders if "priceDiscount" in o["pricingSummary"]]
    cancelled = [o for o in orders if o["cancelStatus"]["cancelState"] == "CANCELED"]
    refunded = [o for o in orders if o["paymentSummary"]["refunds"] and o["cancelStatus"]["cancelState"] != "CANCELED"]
    assert promoted and refunded
    for o in cancelled:
        assert o["orderPaymentStatus"] == "FULLY_REFUNDED" and o["totalMarketplaceFee"]["value"] == "0.0"
    for o in refunded:
        (r,) = o["paymentSummary"]["refunds"]
        assert any(lr["refundId"] == r["refundId"] for li in o["lineItems"] for lr in li.get("refunds", []))
        assert o["lastModifiedDate"] == r["refundDate"] or o["lastModifiedDate"] > r["refundDate"]
    one = orders[0]["orderId"]
    body = _json(
        requests.get(
            f"{server.url}/sell/fulfillment/v1/order",
            headers=ebay_headers(server.url),
            params={"orderIds": one},
            timeout=30,
        )
    )
    assert [o["orderId"] for o in body["orders"]] == [one]


# --- determinism and time --------------------------------------------------------------------------


def _raw(app: SandboxApp, path: str, query: dict[str, str], headers: dict[str, str], method: str = "GET") -> bytes:
    response = app.handle(Request(method, path, query, headers))
    assert response.status == 200, response.body
    return response.encode()


def _pages(app: SandboxApp) -> list[bytes]:
    amazon = app.tokens.exchange(
        Request(
            "POST",
            "/auth/o2/token",
            {},
            {},
            body=(
                f"grant_type=refresh_token&refresh_token={amazon_api.DEMO_REFRESH_TOKEN}&client_id={amazon_api.DEMO_CLIENT_ID}"
                f"&client_secret={amazon_api.DEMO_CLIENT_SECRET}"
            ).encode(),
        )
    ).body["access_token"]
    ebay = {"authorization": f"Bearer {ebay_api._issue('user')}"}
    return [
        _raw(
            app,
            "/admin/api/2024-10/customers.json",
            {"limit": "250"},
            {"x-shopify-access-token": shopify_api.DEMO_ACCESS_TOKEN},
        ),
        _raw(
            app,
            "/admin/api/2024-10/products.json",
            {"limit": "250"},
            {"x-shopify-access-token": shopify_api.DEMO_ACCESS_TOKEN},
        ),
        _raw(
            app, "/finances/v0/financialEvents", {"PostedAfter": "2025-12-01T00:00:00Z"}, {"x-amz-access-token": amazon}
        ),
        _raw(
            app,
            "/sell/fulfillment/v1/order",
            {"filter": "creationdate:[2024-01-01T00:00:00.000Z..]", "limit": "200"},
            ebay,
        ),
    ]


def test_same_world_same_bytes_and_another_seed_differs() -> None:
    a, b = SandboxApp(WORLD, rate_limits="off"), SandboxApp(WORLD, rate_limits="off")
    assert _pages(a) == _pages(b)
    other = _pages(SandboxApp(replace(WORLD, seed=WORLD.seed + 1), rate_limits="off"))
    assert all(x != y for x, y in zip(_pages(a), other))
    build_world.cache_clear()  # a fresh build (not the cached object) gives the same truth
    assert compute_truth(build_world(WORLD)) == compute_truth(a.world)


def _day_before(at: datetime) -> date:
    """An as_of whose clock (midnight after it) falls at or before ``at``."""
    return at.date() - timedelta(days=1)


def test_advancing_as_of_reveals_edits_refunds_and_fee_events_on_old_orders() -> None:
    later = build_world(replace(WORLD, scale=0.1, as_of=date(2026, 3, 31)))
    # a Shopify edit on a later day than its order
    order = next(o for o in later.shopify_orders if o.edits and o.edits[0].edited_at.date() > o.created_at.date())
    before = build_world(replace(later.config, as_of=_day_before(order.edits[0].edited_at)))
    old = next(o for o in before.shopify_orders if o.order_id == order.order_id)
    edit = order.edits[0]
    assert not old.edits and old.updated_at < order.updated_at
    assert next(li for li in old.lines if li.line_id == edit.line_id).quantity == edit.quantity_before
    assert old.gross > order.gross
    # an Amazon return: the order is shipped in both worlds, the RefundEvent only in the later one
    event = next(e for e in later.commerce.amazon_financial_events if e.kind == "refund")
    before = build_world(replace(later.config, as_of=_day_before(event.posted_at)))
    old_amazon = before.amazon_by_id[event.order.order_id]
    assert [e.kind for e in old_amazon.events] == ["shipment"]
    assert [e.kind for e in event.order.events] == ["shipment", "refund"]
    assert old_amazon.events[0].fees == event.order.events[0].fees
    # an Amazon order still unshipped at as_of: its fees appear once it ships
    shipment = next(
        e
        for e in later.commerce.amazon_financial_events
        if e.kind == "shipment" and e.posted_at.date() > e.order.purchase_date.date()
    )
    before = build_world(replace(later.config, as_of=_day_before(shipment.posted_at)))
    assert before.amazon_by_id[shipment.order.order_id].events == []
    assert before.amazon_by_id[shipment.order.order_id].status == "Unshipped"
    # an eBay refund weeks after the order moves lastModifiedDate
    ebay = next(o for o in later.commerce.ebay_orders if o.refunds and not o.cancelled_at)
    before = build_world(replace(later.config, as_of=_day_before(ebay.refunds[0].refunded_at)))
    old_ebay = before.commerce.ebay_by_id[ebay.order_id]
    assert not old_ebay.refunds and old_ebay.last_modified < ebay.last_modified
    assert (old_ebay.gross, old_ebay.created_at, old_ebay.fee) == (ebay.gross, ebay.created_at, ebay.fee)
    # records are generated whatever as_of is: the earlier world's orders are all in the later one, as they were
    assert [(o.order_id, o.created_at) for o in before.commerce.ebay_orders] == [
        (o.order_id, o.created_at) for o in later.commerce.ebay_orders
    ][: len(before.commerce.ebay_orders)]
    assert [(a.order_id, a.purchase_date, a.gross) for a in before.amazon_orders] == [
        (a.order_id, a.purchase_date, a.gross) for a in later.amazon_orders
    ][: len(before.amazon_orders)]


def test_shopify_pages_are_served_from_a_cached_index(world: World) -> None:
    app_world = world
    query = {"status": "any", "limit": "5", "updated_at_min": "2025-06-01T00:00:00Z"}
    first = shopify_api.list_orders(Request("GET", "/x", query, {}), app_world)
    keys = set(app_world.commerce._cache)
    again = shopify_api.list_orders(Request("GET", "/x", query, {}), app_world)
    assert first.body == again.body and set(app_world.commerce._cache) == keys
    assert any(k[0] == "orders" and k[1] == "ids" for k in keys)
