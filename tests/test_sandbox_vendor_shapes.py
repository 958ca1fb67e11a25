"""What vendors' clients and connectors rely on before and around the data (issue 12), and the documented
shapes of the vendors without a machine-readable spec (Shopify Admin REST, eBay Sell Fulfillment: field lists
from their reference docs, shopify.dev/docs/api/admin-rest/2026-10/resources/{shop,event} and
developer.ebay.com/api-docs/sell/fulfillment/resources/order/methods/getOrders). Not spec-validated: the
contract tests against published specs are in test_sandbox_vendor_contracts.py."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date
from unittest import mock

import pytest
import requests

from ingestion.http.pacing import Pacer
from ingestion.sources.amazon.settings import rate_limit_reading as amazon_reading
from ingestion.sources.hubspot.settings import rate_limit_reading as hubspot_reading
from ingestion.sources.shopify.settings import rate_limit_reading as shopify_reading
from sandbox import ebay_api, hubspot_api, shopify_api
from sandbox.server import SandboxApp, SandboxServer
from sandbox.world import WorldConfig
from tests.helpers import amazon_headers

WORLD = WorldConfig(seed=9, scale=0.02, as_of=date(2026, 6, 30))
SHOPIFY = {"X-Shopify-Access-Token": shopify_api.DEMO_ACCESS_TOKEN}
HUBSPOT = {"Authorization": f"Bearer {hubspot_api.DEMO_ACCESS_TOKEN}"}
SHOP_FIELDS = set(
    [
        "address1",
        "address2",
        "auto_configure_tax_inclusivity",
        "checkout_api_supported",
        "city",
        "cookie_consent_level",
        "country",
        "country_code",
        "country_name",
        "county_taxes",
        "created_at",
        "customer_email",
        "currency",
        "domain",
        "enabled_presentment_currencies",
        "eligible_for_payments",
        "email",
        "finances",
        "force_ssl",
        "google_apps_domain",
        "google_apps_login_enabled",
        "has_discounts",
        "has_gift_cards",
        "has_storefront",
        "iana_timezone",
        "id",
        "latitude",
        "longitude",
        "marketing_sms_consent_enabled_at_checkout",
        "money_format",
        "money_in_emails_format",
        "money_with_currency_format",
        "money_with_currency_in_emails_format",
        "multi_location_enabled",
        "myshopify_domain",
        "name",
        "password_enabled",
        "phone",
        "plan_display_name",
        "plan_name",
        "pre_launch_enabled",
        "primary_locale",
        "primary_location_id",
        "province",
        "province_code",
        "requires_extra_payments_agreement",
        "setup_required",
        "shop_owner",
        "source",
        "tax_shipping",
        "taxes_included",
        "timezone",
        "transactional_sms_disabled",
        "updated_at",
        "weight_unit",
        "zip",
    ]
)
EVENT_FIELDS = {
    "id",
    "arguments",
    "body",
    "created_at",
    "author",
    "description",
    "path",
    "message",
    "subject_id",
    "subject_type",
    "verb",
}
EBAY_ORDER_PAGE_FIELDS = {"href", "limit", "next", "offset", "orders", "prev", "total", "warnings"}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxApp(WORLD, rate_limits="off"), port=0) as running:
        yield running


def _shopify(server: SandboxServer, path: str, **params: object) -> requests.Response:
    return requests.get(f"{server.url}{path}", headers=SHOPIFY, params=params, timeout=30)


# --- 2. HubSpot standard object types, /crm/v3/schemas, legacy /properties/v2 ---


def test_hubspot_accepts_associations_to_standard_object_types(server: SandboxServer) -> None:
    params = {"limit": 20, "associations": "products,line_items,tickets,quotes,companies,0-7,calls,notes"}
    response = requests.get(f"{server.url}/crm/v3/objects/deals", headers=HUBSPOT, params=params, timeout=30)
    assert response.status_code == 200, response.text
    kinds = {k for r in response.json()["results"] for k in r.get("associations", {})}
    assert kinds == {"companies"}  # the portal has no products, tickets...: none returned, none refused
    for obj in ("products", "line_items", "tickets", "quotes"):
        listed = requests.get(f"{server.url}/crm/v3/objects/{obj}", headers=HUBSPOT, timeout=30)
        assert listed.status_code == 200 and listed.json() == {"results": []}
    unknown = requests.get(
        f"{server.url}/crm/v3/objects/deals", headers=HUBSPOT, params={"associations": "widgets"}, timeout=30
    )
    assert unknown.status_code == 400 and "Unable to infer object type" in unknown.json()["message"]


def test_hubspot_schemas_and_legacy_properties_v2(server: SandboxServer) -> None:
    schemas = requests.get(f"{server.url}/crm/v3/schemas", headers=HUBSPOT, timeout=30)
    assert schemas.status_code == 200 and schemas.json() == {"results": []}
    legacy = requests.get(f"{server.url}/properties/v2/deals/properties", headers=HUBSPOT, timeout=30)
    assert legacy.status_code == 200
    body = legacy.json()
    assert isinstance(body, list)  # a bare JSON list, as the v2 API answers
    v3 = requests.get(f"{server.url}/crm/v3/properties/deals", headers=HUBSPOT, timeout=30).json()["results"]
    assert [p["name"] for p in body] == [p["name"] for p in v3]
    stage = next(p for p in body if p["name"] == "dealstage")
    assert stage["type"] == "enumeration" and stage["groupName"] == "dealinformation"
    assert isinstance(stage["createdAt"], int) and {o["value"] for o in stage["options"]} >= {"closedwon"}


# --- 3. rate limits off: the headers are sent, and announce limits that never bite ---


@pytest.mark.parametrize("vendor", ["shopify", "hubspot", "amazon"])
def test_off_headers_never_make_the_project_client_wait(server: SandboxServer, vendor: str) -> None:
    if vendor == "shopify":
        url, headers, params, reading = f"{server.url}/admin/api/2024-10/orders.json", SHOPIFY, {}, shopify_reading
    elif vendor == "hubspot":
        url, headers, params, reading = f"{server.url}/crm/v3/objects/deals", HUBSPOT, {}, hubspot_reading
    else:
        url, headers, reading = f"{server.url}/orders/v0/orders", amazon_headers(server.url), amazon_reading
        params = {"MarketplaceIds": "ATVPDKIKX0DER", "CreatedAfter": "2026-06-01T00:00:00Z"}
    pacer = Pacer(capacity=40, refill_per_s=2.0, read_headers=reading)  # a pessimistic starting guess
    with requests.Session() as s, mock.patch("ingestion.http.pacing.time.sleep") as sleep:
        for _ in range(300):
            pacer.wait()
            response = s.get(url, headers=headers, params={**params, "limit": 1}, timeout=30)
            assert response.status_code == 200
            pacer.observe(response.headers)
    assert pacer.active and pacer.refill_per_s >= 5_000  # it read the headers (a rate no client reaches)...
    assert sleep.call_count == 0 and pacer.waited_s == 0  # ...and never waited


# --- 4. Shopify API versions ---


def test_shopify_serves_every_supported_version_and_says_which(server: SandboxServer) -> None:
    bodies = {}
    for version in (*shopify_api.SUPPORTED_VERSIONS, "unstable"):
        response = _shopify(server, f"/admin/api/{version}/orders.json", status="any", limit=5)
        assert response.status_code == 200 and response.headers["X-Shopify-API-Version"] == version
        assert f"/admin/api/{version}/orders.json" in response.headers["Link"]
        bodies[version] = response.content
    assert len(set(bodies.values())) == 1  # the REST resources have the same shape in every version


@pytest.mark.parametrize("version", ["2024-10", "2023-04", "2027-04"])
def test_shopify_unsupported_versions_are_served_by_the_oldest_supported_one(
    server: SandboxServer, version: str
) -> None:
    response = _shopify(server, f"/admin/api/{version}/orders.json", status="any", limit=5)
    assert response.status_code == 200
    assert response.headers["X-Shopify-API-Version"] == shopify_api.SUPPORTED_VERSIONS[0] == "2025-10"
    oldest = _shopify(server, "/admin/api/2025-10/orders.json", status="any", limit=5)
    assert response.json() == oldest.json()
    assert f"/admin/api/{version}/orders.json" in response.headers["Link"]  # the next page stays on the client's path


# --- 5. Shopify endpoints connectors call first ---


def test_shopify_shop_and_access_scopes(server: SandboxServer) -> None:
    shop = _shopify(server, "/admin/api/2026-10/shop.json")
    assert shop.status_code == 200 and shop.headers["X-Shopify-API-Version"] == "2026-10"
    body = shop.json()["shop"]
    assert set(body) <= SHOP_FIELDS and len(body) >= 50
    assert body["currency"] == "USD" and body["myshopify_domain"].endswith(".myshopify.com")
    scopes = _shopify(server, "/admin/oauth/access_scopes.json")
    assert scopes.status_code == 200
    handles = {s["handle"] for s in scopes.json()["access_scopes"]}
    assert {"read_orders", "read_all_orders", "read_customers", "read_products"} <= handles
    denied = requests.get(f"{server.url}/admin/oauth/access_scopes.json", timeout=30)
    assert denied.status_code == 401


def test_shopify_events(server: SandboxServer) -> None:
    destroyed = _shopify(server, "/admin/api/2024-10/events.json", filter="Order", verb="destroy")
    assert destroyed.status_code == 200 and destroyed.json() == {"events": []}  # the shop deletes no orders
    cancelled, url = [], f"{server.url}/admin/api/2024-10/events.json"
    params: dict[str, object] | None = {"filter": "Order", "verb": "cancelled", "limit": 250}
    while url:
        page = requests.get(url, headers=SHOPIFY, params=params, timeout=30)
        cancelled += page.json()["events"]
        url, params = page.links.get("next", {}).get("url"), None
    assert cancelled and all(set(e) == EVENT_FIELDS for e in cancelled)
    assert all(e["subject_type"] == "Order" and e["verb"] == "cancelled" for e in cancelled)
    orders = _shopify(server, "/admin/api/2024-10/orders.json", status="cancelled", limit=250, fields="id").json()
    assert {e["subject_id"] for e in cancelled} >= {o["id"] for o in orders["orders"]}


# --- 6. each vendor's own 404 ---


def test_unknown_paths_answer_with_each_vendors_own_404(server: SandboxServer) -> None:
    shopify = _shopify(server, "/admin/api/2026-10/no_such_resource.json")
    assert shopify.status_code == 404 and shopify.json() == {"errors": "Not Found"}
    assert shopify.headers["X-Shopify-API-Version"] == "2026-10"
    hubspot = requests.get(f"{server.url}/crm/v3/no-such-api", headers=HUBSPOT, timeout=30)
    assert hubspot.status_code == 404 and hubspot.json()["category"] == "OBJECT_NOT_FOUND"
    assert hubspot.json()["correlationId"] == hubspot.headers["X-HubSpot-Correlation-Id"]
    amazon = requests.get(f"{server.url}/orders/v0/nothing/here", timeout=30)
    assert amazon.status_code == 404 and amazon.json()["errors"][0]["code"] == "NotFound"
    assert amazon.headers["x-amzn-RequestId"]
    ebay = requests.get(f"{server.url}/sell/fulfillment/v1/nothing", timeout=30)
    assert ebay.status_code == 404 and ebay.json()["errors"][0]["errorId"] == 2002
    other = requests.get(f"{server.url}/nowhere", timeout=30)
    assert other.status_code == 404


def test_ebay_get_orders_page_has_the_documented_fields(server: SandboxServer) -> None:
    basic = base64.b64encode(f"{ebay_api.DEMO_CLIENT_ID}:{ebay_api.DEMO_CLIENT_SECRET}".encode()).decode()
    token = requests.post(
        f"{server.url}/identity/v1/oauth2/token",
        headers={"Authorization": f"Basic {basic}"},
        data={"grant_type": "refresh_token", "refresh_token": ebay_api.DEMO_REFRESH_TOKEN},
        timeout=30,
    ).json()["access_token"]
    page = requests.get(
        f"{server.url}{ebay_api.ORDERS_PATH}",
        headers={"Authorization": f"Bearer {token}"},
        params={"filter": "creationdate:[2026-01-01T00:00:00.000Z..]", "limit": 5, "offset": 5},
        timeout=30,
    ).json()
    assert set(page) <= EBAY_ORDER_PAGE_FIELDS and {"href", "total", "orders", "next", "prev"} <= set(page)
