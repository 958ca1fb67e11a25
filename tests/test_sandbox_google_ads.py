"""The Google OAuth token endpoint and the Google Ads API the sandbox serves (sandbox/google_oauth.py,
sandbox/google_ads_api.py): token exchange and its errors, expiring tokens, the developer-token and
login-customer-id checks, GAQL and its errors, SearchStream batches and Search pages, the ad groups' figures summing
exactly to AdDay.reported, the quotas' 429 bodies, Google's 5xx bodies."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from sandbox import google_ads_api, google_oauth
from sandbox.faults import TOKEN_PATHS, request_key
from sandbox.marketing_world import GOOGLE_ACCOUNT, GOOGLE_MANAGER_ID
from sandbox.protocol import Request, Response
from sandbox.server import SandboxApp
from tests.conftest import TEST_WORLD

CUSTOMER = GOOGLE_ACCOUNT.account_id
STREAM = f"/v21/customers/{CUSTOMER}/googleAds:searchStream"
SEARCH = f"/v21/customers/{CUSTOMER}/googleAds:search"
STATS = (
    "SELECT campaign.id, ad_group.id, segments.date, metrics.cost_micros, metrics.impressions, metrics.clicks, "
    "metrics.conversions, metrics.conversions_value FROM ad_group WHERE segments.date BETWEEN '{}' AND '{}'"
)


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    return SandboxApp(TEST_WORLD, rate_limits="off")


def token_form(client_id: str, secret: str, refresh: str | None, grant: str = "refresh_token") -> bytes:
    form = {"grant_type": grant, "client_id": client_id, "client_secret": secret}
    if refresh is not None:
        form["refresh_token"] = refresh
    return urlencode(form).encode()


def exchange(app: SandboxApp, body: bytes) -> Response:
    return app.handle(Request("POST", "/token", {}, {"content-type": "application/x-www-form-urlencoded"}, body))


def ads_token(app: SandboxApp) -> str:
    body = token_form(google_oauth.ADS_CLIENT_ID, google_oauth.ADS_CLIENT_SECRET, google_oauth.ADS_REFRESH_TOKEN)
    return exchange(app, body).body["access_token"]


def headers(app: SandboxApp, **override: str | None) -> dict[str, str]:
    base: dict[str, str | None] = {
        "authorization": f"Bearer {ads_token(app)}",
        "developer-token": google_ads_api.DEMO_DEVELOPER_TOKEN,
        "login-customer-id": GOOGLE_MANAGER_ID,
        "content-type": "application/json",
    }
    base.update(override)
    return {k: v for k, v in base.items() if v is not None}


def post(app: SandboxApp, path: str, body: dict[str, Any], hdrs: dict[str, str] | None = None) -> Response:
    return app.handle(Request("POST", path, {}, hdrs if hdrs is not None else headers(app), json.dumps(body).encode()))


def stream(app: SandboxApp, query: str, path: str = STREAM) -> list[dict[str, Any]]:
    response = post(app, path, {"query": query})
    assert response.status == 200, response.body
    return json.loads(response.encode(), parse_float=Decimal)  # as a client reads it: doubles as Decimal


def ads_failure(response: Response, code: int, status: str, kind: str, reason: str) -> dict[str, Any]:
    """The GoogleAdsFailure error of a Google error body, after checking its envelope."""
    assert response.status == code, response.body
    error = response.body["error"]
    assert (error["code"], error["status"]) == (code, status)
    (detail,) = error["details"]
    assert detail["@type"].startswith("type.googleapis.com/google.ads.googleads.v")
    assert detail["@type"].endswith(".errors.GoogleAdsFailure") and len(detail["requestId"]) == 22
    (failure,) = detail["errors"]
    assert failure["errorCode"] == {kind: reason}, failure
    return failure


# --- OAuth -----------------------------------------------------------------------------------------------------


def test_token_exchange_gives_an_hour_long_bearer_token(app: SandboxApp) -> None:
    body = token_form(google_oauth.ADS_CLIENT_ID, google_oauth.ADS_CLIENT_SECRET, google_oauth.ADS_REFRESH_TOKEN)
    response = exchange(app, body)
    assert response.status == 200
    assert set(response.body) == {"access_token", "expires_in", "scope", "token_type"}
    assert response.body["access_token"].startswith("ya29.")
    assert (response.body["expires_in"], response.body["token_type"]) == (3599, "Bearer")
    assert response.body["scope"] == google_oauth.ADS_SCOPE
    assert TOKEN_PATHS.fullmatch("/token")  # faulted as a token endpoint: light rate, token kinds only


def test_token_errors_are_googles(app: SandboxApp) -> None:
    o = google_oauth
    cases = [
        (token_form("nobody.apps.googleusercontent.com", "x", o.ADS_REFRESH_TOKEN), 401, "invalid_client"),
        (token_form(o.ADS_CLIENT_ID, "wrong", o.ADS_REFRESH_TOKEN), 401, "invalid_client"),
        (token_form(o.ADS_CLIENT_ID, o.ADS_CLIENT_SECRET, "1//0g-revoked"), 400, "invalid_grant"),
        # a refresh token of the other client is not this client's grant
        (token_form(o.ADS_CLIENT_ID, o.ADS_CLIENT_SECRET, o.ANALYTICS_REFRESH_TOKEN), 400, "invalid_grant"),
        (token_form(o.ADS_CLIENT_ID, o.ADS_CLIENT_SECRET, None), 400, "invalid_request"),
        (
            token_form(o.ADS_CLIENT_ID, o.ADS_CLIENT_SECRET, o.ADS_REFRESH_TOKEN, "password"),
            400,
            "unsupported_grant_type",
        ),
    ]
    for body, status, error in cases:
        response = exchange(app, body)
        assert (response.status, response.body["error"]) == (status, error), (body, response.body)
        assert set(response.body) == {"error", "error_description"}
        assert o.ADS_CLIENT_SECRET not in json.dumps(response.body)
    assert exchange(app, token_form(o.ADS_CLIENT_ID, "wrong", o.ADS_REFRESH_TOKEN)).body["error_description"] == (
        "Unauthorized"
    )
    assert exchange(app, token_form(o.ADS_CLIENT_ID, o.ADS_CLIENT_SECRET, "x")).body == {
        "error": "invalid_grant",
        "error_description": "Bad Request",
    }


def test_expired_and_wrong_scope_tokens_are_refused(app: SandboxApp, monkeypatch: pytest.MonkeyPatch) -> None:
    query = {"query": "SELECT customer.id FROM customer"}
    token = ads_token(app)
    assert post(app, STREAM, query, headers(app, authorization=f"Bearer {token}")).status == 200
    issued = google_oauth.CLOCK()
    monkeypatch.setattr(google_oauth, "CLOCK", lambda: issued + google_oauth.TOKEN_TTL_S + 1)
    expired = post(app, STREAM, query, headers(app, authorization=f"Bearer {token}"))
    ads_failure(expired, 401, "UNAUTHENTICATED", "authenticationError", "OAUTH_TOKEN_EXPIRED")
    monkeypatch.undo()
    analytics = exchange(
        app,
        token_form(
            google_oauth.ANALYTICS_CLIENT_ID, google_oauth.ANALYTICS_CLIENT_SECRET, google_oauth.ANALYTICS_REFRESH_TOKEN
        ),
    ).body
    assert analytics["scope"] == google_oauth.ANALYTICS_SCOPE
    denied = post(app, STREAM, query, headers(app, authorization=f"Bearer {analytics['access_token']}"))
    assert denied.status == 403 and denied.body["error"]["status"] == "PERMISSION_DENIED"
    assert denied.body["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
    ads_failure(
        post(app, STREAM, query, headers(app, authorization=f"Bearer {forged}")),
        401,
        "UNAUTHENTICATED",
        "authenticationError",
        "OAUTH_TOKEN_INVALID",
    )
    ads_failure(
        post(app, STREAM, query, headers(app, authorization=None)),
        401,
        "UNAUTHENTICATED",
        "authenticationError",
        "OAUTH_TOKEN_HEADER_INVALID",
    )


# --- developer token, customers, versions ------------------------------------------------------------------------


def test_developer_token_and_login_customer_id_checks(app: SandboxApp) -> None:
    query = {"query": "SELECT customer.id, customer.descriptive_name FROM customer"}
    for token in (None, "not-a-developer-token"):
        ads_failure(
            post(app, STREAM, query, headers(app, **{"developer-token": token})),
            401,
            "UNAUTHENTICATED",
            "authenticationError",
            "DEVELOPER_TOKEN_INVALID",
        )
    not_approved = post(
        app, STREAM, query, headers(app, **{"developer-token": google_ads_api.DEMO_TEST_ONLY_DEVELOPER_TOKEN})
    )
    assert (
        "test accounts"
        in ads_failure(not_approved, 403, "PERMISSION_DENIED", "authorizationError", "DEVELOPER_TOKEN_NOT_APPROVED")[
            "message"
        ]
    )
    for login in ("9998887776", "111-222-3334"):
        ads_failure(
            post(app, STREAM, query, headers(app, **{"login-customer-id": login})),
            403,
            "PERMISSION_DENIED",
            "authorizationError",
            "USER_PERMISSION_DENIED",
        )
    for login in (GOOGLE_MANAGER_ID, CUSTOMER, None):  # through the manager, the account itself, or directly
        assert post(app, STREAM, query, headers(app, **{"login-customer-id": login})).status == 200
    ads_failure(
        post(app, "/v21/customers/1231231234/googleAds:searchStream", query),
        403,
        "PERMISSION_DENIED",
        "authorizationError",
        "USER_PERMISSION_DENIED",
    )
    ads_failure(
        post(app, "/v21/customers/456-123-7890/googleAds:searchStream", query),
        400,
        "INVALID_ARGUMENT",
        "authenticationError",
        "CLIENT_CUSTOMER_ID_INVALID",
    )


def test_supported_versions_and_an_unsupported_one(app: SandboxApp) -> None:
    query = {"query": "SELECT customer.id FROM customer"}
    for version in google_ads_api.SUPPORTED_VERSIONS:
        ok = post(app, f"/{version}/customers/{CUSTOMER}/googleAds:searchStream", query)
        assert ok.status == 200
        assert ok.body[0]["results"] == [{"customer": {"resourceName": f"customers/{CUSTOMER}", "id": CUSTOMER}}]
    for path in (f"/v15/customers/{CUSTOMER}/googleAds:searchStream", f"/v21/customers/{CUSTOMER}/campaigns"):
        gone = post(app, path, query)
        assert gone.status == 404 and gone.body["error"]["status"] == "NOT_FOUND", gone.body
    error = post(app, f"/v20/customers/{CUSTOMER}/googleAds:searchStream", {"query": "SELECT nope.x FROM customer"})
    assert ".googleads.v20.errors." in error.body["error"]["details"][0]["@type"]


# --- GAQL ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("SELECT campaign.foo FROM campaign", "UNRECOGNIZED_FIELD"),
        ("SELECT ad_group.id FROM campaign", "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"),
        ("SELECT campaign.id FROM customer", "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"),
        ("SELECT campaign.id, segments.date, metrics.clicks FROM campaign", "EXPECTED_FILTERS_ON_DATE_RANGE"),
        (
            "SELECT segments.date, metrics.clicks FROM campaign WHERE segments.date >= '2026-01-01'",
            "EXPECTED_FILTERS_ON_DATE_RANGE",
        ),
        ("SELECT campaign.id FROM campaigns", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        ("SELECT campaign.id FROM keyword_view", "PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        (
            "SELECT segments.date, metrics.clicks FROM campaign WHERE segments.date BETWEEN '2026-13-01' AND "
            "'2026-06-30'",
            "INVALID_DATE_FORMAT",
        ),
        ("SELECT campaign.id FROM campaign WHERE campaign.status = 'LIVE'", "BAD_ENUM_CONSTANT"),
        ("SELECT campaign.id FROM campaign WHERE campaign.status LIKE 'E%'", "BAD_OPERATOR"),
        ("campaign.id FROM campaign", "EXPECTED_SELECT"),
        ("SELECT campaign.id campaign", "EXPECTED_FROM"),
        ("SELECT campaign.id FROM campaign WHERE", "UNEXPECTED_END_OF_QUERY"),
        ("SELECT campaign.id FROM campaign LIMIT 0", "LIMIT_VALUE_TOO_LOW"),
        ("SELECT campaign.id FROM campaign WHERE campaign.name = 'open", "STRING_NOT_TERMINATED"),
    ],
)
def test_a_bad_query_is_a_400_google_ads_failure(app: SandboxApp, query: str, reason: str) -> None:
    failure = ads_failure(post(app, STREAM, {"query": query}), 400, "INVALID_ARGUMENT", "queryError", reason)
    assert failure["message"]


def test_metrics_of_the_manager_account_are_refused(app: SandboxApp) -> None:
    path = f"/v21/customers/{GOOGLE_MANAGER_ID}/googleAds:searchStream"
    manager = post(app, path, {"query": "SELECT customer.id, customer.manager FROM customer"})
    assert manager.status == 200 and manager.body[0]["results"][0]["customer"]["manager"] is True
    query = STATS.format("2026-06-01", "2026-06-30").replace("FROM ad_group", "FROM customer")
    query = query.replace("campaign.id, ad_group.id, ", "")
    ads_failure(
        post(app, path, {"query": query}), 400, "INVALID_ARGUMENT", "queryError", "REQUESTED_METRICS_FOR_MANAGER"
    )


def test_where_order_by_limit_and_during(app: SandboxApp) -> None:
    as_of = TEST_WORLD.as_of
    rows = stream(
        app,
        "SELECT campaign.id, campaign.status, ad_group.id, segments.date, metrics.clicks FROM ad_group "
        "WHERE segments.date DURING LAST_7_DAYS AND campaign.status != 'REMOVED' AND ad_group.status IN ('ENABLED', "
        "'PAUSED') AND metrics.clicks > 0 ORDER BY metrics.clicks DESC, segments.date LIMIT 5",
    )[0]["results"]
    assert len(rows) == 5
    clicks = [int(r["metrics"]["clicks"]) for r in rows]
    assert clicks == sorted(clicks, reverse=True) and min(clicks) > 0
    # DURING LAST_7_DAYS: the 7 days before today (the world's as_of), today excluded
    assert all(1 <= (as_of - date.fromisoformat(r["segments"]["date"])).days <= 7 for r in rows)
    brand = stream(
        app,
        "SELECT campaign.id, campaign.name, campaign.advertising_channel_type FROM campaign "
        "WHERE campaign.advertising_channel_type = 'SHOPPING' ORDER BY campaign.name",
    )[0]["results"]
    names = [r["campaign"]["name"] for r in brand]
    assert names == sorted(names) and names and all("Shopping" in n for n in names)


# --- rows, batches, pages ---------------------------------------------------------------------------------------


def test_ad_groups_sum_exactly_to_the_reported_campaign_day(app: SandboxApp) -> None:
    world = app.world
    as_of = world.config.as_of
    batches = stream(app, STATS.format("2023-01-01", as_of.isoformat()))
    got: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 5)
    groups: dict[tuple[str, str], int] = defaultdict(int)
    for batch in batches:
        for row in batch["results"]:
            m = row["metrics"]
            key = (row["campaign"]["id"], row["segments"]["date"])
            groups[key] += 1
            for i, value in enumerate(
                (
                    Decimal(m["costMicros"]) / 1_000_000,
                    Decimal(m["impressions"]),
                    Decimal(m["clicks"]),
                    m["conversions"],
                    m["conversionsValue"],
                )
            ):
                got[key][i] += value
    expected = {}
    for ad in world.marketing.ad_days:
        if ad.campaign.platform != "google_ads":
            continue
        spend, conversions, value = ad.reported(as_of)
        expected[(ad.campaign.campaign_id, ad.day.isoformat())] = [spend, ad.impressions, ad.clicks, conversions, value]
        assert groups[(ad.campaign.campaign_id, ad.day.isoformat())] == len(ad.campaign.ad_group_ids)
    assert set(got) == set(expected) and len(expected) > 1000
    for key, values in expected.items():
        assert got[key] == values, key
    # the restated recent days differ from the final figures, and the sandbox serves the restated ones
    recent = [ad for ad in world.marketing.ad_days if ad.campaign.platform == "google_ads" and ad.day == as_of]
    assert any(ad.reported(as_of)[0] != ad.spend for ad in recent)
    assert all(got[(ad.campaign.campaign_id, as_of.isoformat())][0] == ad.reported(as_of)[0] for ad in recent)


def test_rows_are_rest_json_camel_case_with_int64_as_strings(app: SandboxApp) -> None:
    response = post(app, STREAM, {"query": STATS.format("2026-06-01", "2026-06-30")})
    batch = response.body[0]
    assert set(batch) == {"results", "fieldMask", "requestId", "queryResourceConsumption"}
    assert batch["fieldMask"] == (
        "campaign.id,adGroup.id,segments.date,metrics.costMicros,metrics.impressions,metrics.clicks,"
        "metrics.conversions,metrics.conversionsValue"
    )
    row = batch["results"][0]
    assert set(row) == {"adGroup", "campaign", "segments", "metrics"}
    assert row["adGroup"]["resourceName"] == f"customers/{CUSTOMER}/adGroups/{row['adGroup']['id']}"
    m = row["metrics"]
    assert all(isinstance(m[k], str) and m[k].isdigit() for k in ("costMicros", "impressions", "clicks"))
    assert all(isinstance(m[k], float) for k in ("conversions", "conversionsValue"))
    assert int(m["costMicros"]) % 10_000 == 0  # whole cents
    campaigns = stream(
        app,
        "SELECT campaign.id, campaign.status, campaign.start_date, campaign.end_date, campaign_budget.amount_micros "
        "FROM campaign",
    )[0]["results"]
    running = [c for c in campaigns if c["campaign"]["endDate"] == google_ads_api.NO_END_DATE]
    assert running and all(c["campaign"]["status"] == "ENABLED" for c in campaigns)
    assert all(c["campaignBudget"]["amountMicros"].isdigit() for c in campaigns)
    empty = post(app, STREAM, {"query": STATS.format("2020-01-01", "2020-01-31")})
    assert empty.status == 200 and len(empty.body) == 1 and "results" not in empty.body[0]


def test_search_stream_batches_and_search_pages(app: SandboxApp, monkeypatch: pytest.MonkeyPatch) -> None:
    query = STATS.format("2024-01-01", "2026-06-30")
    whole = [r for b in stream(app, query) for r in b["results"]]
    monkeypatch.setattr(google_ads_api, "BATCH_ROWS", 1000)
    batches = stream(app, query)
    assert [len(b["results"]) for b in batches[:-1]] == [1000] * (len(batches) - 1)
    assert 0 < len(batches[-1]["results"]) <= 1000 and len(batches) == -(-len(whole) // 1000)
    assert all(b["requestId"] == batches[0]["requestId"] and b["fieldMask"] for b in batches)
    assert "queryResourceConsumption" in batches[-1] and "queryResourceConsumption" not in batches[0]
    assert [r for b in batches for r in b["results"]] == whole
    paged, token = [], None
    while True:
        body = {"query": query, **({"pageToken": token} if token else {})}
        page = post(app, SEARCH, body)
        assert page.status == 200, page.body
        paged += json.loads(page.encode(), parse_float=Decimal)["results"]
        token = page.body.get("nextPageToken")
        if not token:
            break
    assert paged == whole
    too_big = post(app, SEARCH, {"query": query, "pageSize": 100})
    assert too_big.status == 400 and 'Unknown name "pageSize"' in too_big.body["error"]["message"]
    bad_token = post(app, SEARCH, {"query": query, "pageToken": "garbage"})
    ads_failure(bad_token, 400, "INVALID_ARGUMENT", "requestError", "INVALID_PAGE_TOKEN")


# --- quotas and faults ----------------------------------------------------------------------------------------------


def _quota_details(response: Response, reason: str) -> dict[str, str]:
    failure = ads_failure(response, 429, "RESOURCE_EXHAUSTED", "quotaError", reason)
    details = failure["details"]["quotaErrorDetails"]
    assert details["retryDelay"].endswith("s") and int(details["retryDelay"][:-1]) >= 1
    assert not response.headers  # Google sends no rate-limit headers
    return details


def test_daily_operations_and_the_request_rate_give_quota_errors() -> None:
    real = SandboxApp(TEST_WORLD, rate_limits="real")
    assert real.limiter.limits["google_ads"]["real"][0] == 15_000
    query = {"query": "SELECT customer.id FROM customer"}
    hdrs = headers(real)
    statuses = [post(real, STREAM, query, hdrs).status for _ in range(12)]  # 10 of burst at 2/s
    assert statuses[:10] == [200] * 10 and 429 in statuses[10:]
    limited = next(r for r in (post(real, STREAM, query, hdrs) for _ in range(3)) if r.status == 429)
    assert _quota_details(limited, "RESOURCE_TEMPORARILY_EXHAUSTED")["rateScope"] == "ACCOUNT"
    daily = SandboxApp(TEST_WORLD, rate_limits="real")
    daily.limiter.bucket("google_ads").drain()  # 15,000 operations used today
    exhausted = post(daily, STREAM, query, headers(daily))
    details = _quota_details(exhausted, "RESOURCE_EXHAUSTED")
    assert details["rateScope"] == "DEVELOPER" and "basic access" in details["rateName"]
    assert int(details["retryDelay"][:-1]) > 3600  # a day's window: not worth retrying soon
    off = SandboxApp(TEST_WORLD, rate_limits="off")
    hdrs = headers(off)
    assert {post(off, STREAM, query, hdrs).status for _ in range(300)} == {200}


def test_injected_faults_are_googles_bodies() -> None:
    app = SandboxApp(TEST_WORLD, rate_limits="off", faults="heavy")
    assert app.faults is not None
    hdrs = headers(app)
    seen: dict[str, Response] = {}
    for i in range(3000):
        req = Request(
            "POST", STREAM, {}, hdrs, json.dumps({"query": f"SELECT customer.id FROM customer LIMIT {i + 1}"}).encode()
        )
        fault = app.faults.plan(request_key(req), 0)
        if fault is not None and fault.status and fault.kind not in seen:
            seen[fault.kind] = app.handle(req)
        if len(seen) == 4:
            break
    assert set(seen) == {"rate_limited", "http_500", "http_502", "http_503"}
    ads_failure(seen["rate_limited"], 429, "RESOURCE_EXHAUSTED", "quotaError", "RESOURCE_TEMPORARILY_EXHAUSTED")
    assert seen["http_503"].body["error"]["status"] == "UNAVAILABLE"
    assert seen["http_500"].body["error"] == {
        "code": 500,
        "message": "Internal error encountered.",
        "status": "INTERNAL",
    }
