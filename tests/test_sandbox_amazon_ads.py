"""The Amazon Ads API contract the sandbox serves (sandbox/amazon_ads_api.py): Login with Amazon for the Ads app, the
ClientId and Scope headers and Amazon's auth errors, /v2/profiles, the Sponsored Products v3 report lifecycle
(PENDING → PROCESSING → COMPLETED, a pre-signed expiring URL, a gzipped JSON file whose rows are the world's
figures as reported at as_of), validation errors, 425 duplicates, S3's answers to an expired or tampered URL,
and the reporting throttles."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from sandbox import amazon_ads_api as ads
from sandbox import amazon_api
from sandbox.marketing_world import AMAZON_PROFILES
from sandbox.protocol import Request, Response
from sandbox.server import SandboxApp
from sandbox.world import build_world
from tests.conftest import TEST_WORLD

US, UK, DE = (p.account_id for p in AMAZON_PROFILES)
COLUMNS = list(ads.COLUMNS_DAILY)


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    return SandboxApp(TEST_WORLD, rate_limits="off")


def login(app: SandboxApp, client_id: str = ads.DEMO_CLIENT_ID, secret: str = ads.DEMO_CLIENT_SECRET) -> Response:
    form = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "client_secret": secret,
        "refresh_token": ads.DEMO_REFRESH_TOKEN if client_id == ads.DEMO_CLIENT_ID else amazon_api.DEMO_REFRESH_TOKEN,
    }
    return app.handle(Request("POST", "/auth/o2/token", {}, {}, urlencode(form).encode()))


def headers(app: SandboxApp, profile: str | None = US, token: str | None = None) -> dict[str, str]:
    out = {
        "authorization": f"Bearer {token or login(app).body['access_token']}",
        "amazon-advertising-api-clientid": ads.DEMO_CLIENT_ID,
    }
    if profile is not None:
        out["amazon-advertising-api-scope"] = profile
    return out


def request_body(start: str, end: str, **config: Any) -> dict[str, Any]:
    cfg = {
        "adProduct": "SPONSORED_PRODUCTS",
        "groupBy": ["campaign"],
        "columns": COLUMNS,
        "reportTypeId": "spCampaigns",
        "timeUnit": "DAILY",
        "format": "GZIP_JSON",
        **config,
    }
    return {"name": f"test {start}..{end}", "startDate": start, "endDate": end, "configuration": cfg}


def create(app: SandboxApp, body: dict[str, Any], profile: str = US, content_type: str | None = None) -> Response:
    h = {**headers(app, profile), "content-type": content_type or ads.CREATE_CONTENT_TYPE}
    return app.handle(Request("POST", "/reporting/reports", {}, h, json.dumps(body).encode()))


def poll(app: SandboxApp, report_id: str, profile: str = US) -> Response:
    return app.handle(Request("GET", f"/reporting/reports/{report_id}", {}, headers(app, profile)))


def completed(app: SandboxApp, body: dict[str, Any], profile: str = US) -> dict[str, Any]:
    created = create(app, body, profile)
    assert created.status == 200, created.body
    for _ in range(10):
        report = poll(app, created.body["reportId"], profile).body
        if report["status"] == "COMPLETED":
            return report
    raise AssertionError(report)


def fetch(app: SandboxApp, url: str, extra: dict[str, str] | None = None) -> Response:
    parts = urlsplit(url)
    query, pairs = Request.parse_query(parts.query)
    return app.handle(Request("GET", parts.path, query, dict(extra or {}), pairs=pairs))


def rows_of(app: SandboxApp, report: dict[str, Any]) -> list[dict[str, Any]]:
    response = fetch(app, report["url"])
    assert response.status == 200 and response.headers["Content-Type"] == "application/octet-stream"
    assert len(response.body) == report["fileSize"]
    return json.loads(gzip.decompress(response.body), parse_float=Decimal)


def test_the_ads_app_logs_in_with_its_own_lwa_client(app: SandboxApp) -> None:
    token = login(app)
    assert token.status == 200 and token.body["token_type"] == "bearer" and token.body["expires_in"] == 3600
    assert token.body["refresh_token"] == ads.DEMO_REFRESH_TOKEN
    wrong = login(app, secret="nope")
    assert (wrong.status, wrong.body["error"]) == (401, "invalid_client")
    assert login(app, amazon_api.DEMO_CLIENT_ID, amazon_api.DEMO_CLIENT_SECRET).status == 200  # SP-API unchanged


def test_auth_and_scope_errors_carry_amazons_bodies(app: SandboxApp) -> None:
    def profiles(h: dict[str, str]) -> Response:
        return app.handle(Request("GET", "/v2/profiles", {}, h))

    ok = headers(app, profile=None)
    assert profiles(ok).status == 200
    missing = profiles({"amazon-advertising-api-clientid": ads.DEMO_CLIENT_ID})
    assert (missing.status, missing.body["code"]) == (401, "UNAUTHORIZED") and "access token" in missing.body["details"]
    no_client = profiles({"authorization": ok["authorization"]})
    assert (no_client.status, no_client.body["code"]) == (401, "UNAUTHORIZED")
    assert "ClientId" in no_client.body["details"]
    sp_token = login(app, amazon_api.DEMO_CLIENT_ID, amazon_api.DEMO_CLIENT_SECRET).body["access_token"]
    foreign = profiles({**ok, "authorization": f"Bearer {sp_token}"})  # a token of the SP-API app
    assert foreign.status == 401 and "not issued to this client" in foreign.body["details"]
    no_scope = poll(app, "00000000-0000-0000-0000-000000000000", profile="")
    assert (no_scope.status, no_scope.body["code"]) == (400, "INVALID_ARGUMENT")
    assert "Amazon-Advertising-API-Scope" in no_scope.body["details"]
    stranger = poll(app, "00000000-0000-0000-0000-000000000000", profile="3609999999999999")
    assert stranger.status == 401 and stranger.body == {
        "code": "UNAUTHORIZED",
        "details": "Not authorized to access this advertiser",
    }
    unknown = poll(app, "00000000-0000-0000-0000-000000000000")
    assert (unknown.status, unknown.body["code"]) == (404, "404")


def test_an_expired_access_token_is_refused(app: SandboxApp) -> None:
    token = login(app).body["access_token"]
    app.tokens.issued[token] -= 3601  # issued more than an hour ago
    response = app.handle(Request("GET", "/v2/profiles", {}, headers(app, None, token)))
    assert response.status == 401 and "expired" in response.body["details"]


def test_profiles_are_the_worlds_three_seller_profiles(app: SandboxApp) -> None:
    body = app.handle(Request("GET", "/v2/profiles", {}, headers(app, None))).body
    assert [p["profileId"] for p in body] == [int(p.account_id) for p in AMAZON_PROFILES]
    for served, world in zip(body, AMAZON_PROFILES):
        assert (served["countryCode"], served["currencyCode"], served["timezone"]) == (
            world.country_code,
            world.currency,
            world.time_zone,
        )
        info = served["accountInfo"]
        assert (info["marketplaceStringId"], info["type"], info["name"]) == (world.marketplace_id, "seller", world.name)
        assert info["id"]


def test_a_report_goes_pending_processing_completed(app: SandboxApp) -> None:
    created = create(app, request_body("2026-05-01", "2026-05-31"))
    assert created.status == 200
    report = created.body
    assert report["status"] == "PENDING" and report["url"] is None and report["fileSize"] is None
    assert report["configuration"]["reportTypeId"] == "spCampaigns"
    seen = [report["status"]]
    for _ in range(10):
        report = poll(app, created.body["reportId"]).body
        if report["status"] != seen[-1]:
            seen.append(report["status"])
        if report["status"] == "COMPLETED":
            break
    assert seen == ["PENDING", "PROCESSING", "COMPLETED"]
    url = urlsplit(report["url"])
    assert url.path.startswith(f"/{ads.BUCKET}/") and url.path.endswith(".json.gz")
    assert {"X-Amz-Algorithm", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature"} <= set(
        Request.parse_query(url.query)[0]
    )
    assert report["urlExpiresAt"] > report["createdAt"] and report["failureReason"] is None
    assert len(rows_of(app, report)) == sum(
        1
        for ad in build_world(TEST_WORLD).marketing.ad_days
        if ad.campaign.account.account_id == US and date(2026, 5, 1) <= ad.day <= date(2026, 5, 31)
    )
    other = poll(app, report["reportId"], profile=UK)  # another profile's scope does not see it
    assert other.status == 404


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (request_body("2026-01-01", "2026-02-01"), "31 days or less"),
        (request_body("2026-02-10", "2026-02-01"), "startDate must be before or equal to endDate"),
        (request_body("2026-02-01", "2026-2-10"), "endDate must be a date in the format YYYY-MM-DD"),
        (request_body("2026-02-01", "2026-02-10", columns=["cost", "roas"]), "columns includes invalid values: (roas)"),
        (request_body("2026-02-01", "2026-02-10", columns=["startDate", "cost"]), "invalid values: (startDate)"),
        (request_body("2026-02-01", "2026-02-10", reportTypeId="spKeywords"), "reportTypeId"),
        (request_body("2026-02-01", "2026-02-10", format="CSV"), "format"),
        ({"startDate": "2026-02-01", "endDate": "2026-02-02"}, "configuration is required"),
    ],
)
def test_invalid_requests_are_400_with_amazons_body(app: SandboxApp, body: dict[str, Any], detail: str) -> None:
    response = create(app, body)
    assert (response.status, response.body["code"]) == (400, "400")
    assert detail in response.body["detail"], response.body


def test_the_v3_content_type_is_required(app: SandboxApp) -> None:
    response = create(app, request_body("2026-03-01", "2026-03-02"), content_type="application/json")
    assert (response.status, response.body["code"]) == (415, "415")


def test_a_duplicate_while_pending_is_425_naming_the_report(app: SandboxApp) -> None:
    body = request_body("2026-04-01", "2026-04-30")
    first = create(app, body, profile=DE).body
    again = create(app, {**body, "name": "another name"}, profile=DE)
    assert again.status == 425
    assert again.body == {"code": "425", "detail": f"The Request is a duplicate of : {first['reportId']}"}
    assert create(app, body, profile=UK).status == 200  # another profile's report is no duplicate
    while poll(app, first["reportId"], DE).body["status"] != "COMPLETED":
        pass
    fresh = create(app, body, profile=DE)  # once done, the same request makes a new report
    assert fresh.status == 200 and fresh.body["reportId"] != first["reportId"]


def test_the_url_expires_and_is_an_s3_url(app: SandboxApp) -> None:
    report = completed(app, request_body("2026-03-01", "2026-03-31"), UK)
    assert fetch(app, report["url"]).status == 200
    with_auth = fetch(app, report["url"], {"authorization": "Bearer x"})  # S3 takes one auth mechanism
    assert with_auth.status == 400 and b"<Code>InvalidArgument</Code>" in with_auth.body
    tampered = fetch(app, report["url"].replace("X-Amz-Expires=3600", "X-Amz-Expires=999999"))
    assert tampered.status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in tampered.body
    store = ads.store_for(app)
    real_clock = store.clock
    try:
        store.clock = lambda: real_clock() + ads.URL_TTL_S + 5
        expired = fetch(app, report["url"])
        assert expired.status == 403 and expired.headers["Content-Type"] == "application/xml"
        assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in expired.body
        renewed = poll(app, report["reportId"], UK).body  # every poll signs a fresh URL
        assert renewed["url"] != report["url"] and fetch(app, renewed["url"]).status == 200
    finally:
        store.clock = real_clock


def _reported(profile: str, start: date, end: date) -> dict[str, dict[str, Any]]:
    world = build_world(TEST_WORLD)
    out: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(Decimal))
    for ad in world.marketing.ad_days:
        if ad.campaign.account.account_id != profile or not start <= ad.day <= end:
            continue
        cost, conversions, value = ad.reported(TEST_WORLD.as_of)
        row = out[ad.campaign.campaign_id]
        row["cost"] += cost
        row["sales14d"] += value
        row["purchases14d"] += conversions.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        row["impressions"] += ad.impressions
        row["clicks"] += ad.clicks
        row["days"] += 1
    return out


@pytest.mark.parametrize("profile", [US, UK, DE])
def test_the_file_sums_to_the_worlds_reported_figures(app: SandboxApp, profile: str) -> None:
    """The last 31 days (recent days restated: spend before credits, conversions still arriving) and a settled window."""
    as_of = TEST_WORLD.as_of
    for start, end in ((as_of - timedelta(days=30), as_of), (date(2025, 11, 10), date(2025, 12, 10))):
        rows = rows_of(app, completed(app, request_body(start.isoformat(), end.isoformat()), profile))
        got: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(Decimal))
        for r in rows:
            assert (
                set(r) == set(COLUMNS)
                and r["campaignBudgetCurrencyCode"] == ads._profile(build_world(TEST_WORLD), profile).currency
            )
            assert isinstance(r["cost"], Decimal | int) and isinstance(r["purchases14d"], int)
            g = got[str(r["campaignId"])]
            for k in ("cost", "sales14d", "purchases14d", "impressions", "clicks"):
                g[k] += r[k]
            g["days"] += 1
        expected = _reported(profile, start, end)
        assert expected and {k: dict(v) for k, v in got.items()} == {k: dict(v) for k, v in expected.items()}


def test_recent_days_are_restated_as_the_world_advances() -> None:
    """The last two weeks' figures change as the world advances (credits, late conversions); each file is the world's
    figures as reported at the sandbox's as_of at the time the report is created."""
    later = SandboxApp(TEST_WORLD, rate_limits="off")
    start, end = TEST_WORLD.as_of - timedelta(days=13), TEST_WORLD.as_of
    body = request_body(start.isoformat(), end.isoformat())

    def totals(rows: list[dict[str, Any]]) -> tuple[Decimal, Decimal, int]:
        return sum(r["cost"] for r in rows), sum(r["sales14d"] for r in rows), sum(r["purchases14d"] for r in rows)

    def truth(as_of: date) -> tuple[Decimal, Decimal, int]:
        world = build_world(replace(TEST_WORLD, as_of=as_of))
        figures = [
            ad.reported(as_of)
            for ad in world.marketing.ad_days
            if ad.campaign.account.account_id == US and start <= ad.day <= end
        ]
        return (
            sum(f[0] for f in figures),
            sum(f[2] for f in figures),
            sum(int(f[1].quantize(Decimal(1), rounding=ROUND_HALF_UP)) for f in figures),
        )

    before = totals(rows_of(later, completed(later, body)))
    later.advance(20)
    after = totals(rows_of(later, completed(later, body)))
    assert before == truth(TEST_WORLD.as_of) and after == truth(TEST_WORLD.as_of + timedelta(days=20))
    assert after != before and after[1] >= before[1]


def test_a_summary_report_totals_the_daily_rows(app: SandboxApp) -> None:
    daily = rows_of(app, completed(app, request_body("2025-06-01", "2025-06-30")))
    columns = ["campaignId", "startDate", "endDate", "cost", "clicks", "purchases14d"]
    summary = rows_of(
        app, completed(app, request_body("2025-06-01", "2025-06-30", timeUnit="SUMMARY", columns=columns))
    )
    for row in summary:
        days = [r for r in daily if r["campaignId"] == row["campaignId"]]
        assert (row["startDate"], row["endDate"]) == ("2025-06-01", "2025-06-30")
        assert row["cost"] == sum(r["cost"] for r in days) and row["clicks"] == sum(r["clicks"] for r in days)


def test_real_limits_throttle_report_creation_with_retry_after() -> None:
    app = SandboxApp(TEST_WORLD, rate_limits="real")
    burst, _ = ads.LIMITS["amazon_ads.createReport"]["real"]
    answers = [create(app, request_body(f"2026-0{m}-01", f"2026-0{m}-02")) for m in range(1, int(burst) + 2)]
    assert [a.status for a in answers[: int(burst)]] == [200] * int(burst)
    throttled = answers[-1]
    assert throttled.status == 429 and throttled.body == {"code": "429", "details": "Too Many Requests"}
    assert int(throttled.headers["Retry-After"]) >= 1
    assert not any(k.lower().startswith("x-amzn-ratelimit") for k in throttled.headers)  # Amazon Ads sends none
    off = SandboxApp(TEST_WORLD, rate_limits="off")
    assert all(create(off, request_body("2026-01-01", f"2026-01-{d:02d}")).status == 200 for d in range(1, 12))
