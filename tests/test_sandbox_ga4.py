"""The GA4 Data API contract the sandbox serves (sandbox/ga4_api.py): runReport's request validation and Google's
error bodies, rows aggregated from the world's session days, offset paging by rowCount, the property quota in the
body and its 429, OAuth bearer auth, injected faults with Google's bodies."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from sandbox import ga4_api, sheets_api
from sandbox.faults import request_key
from sandbox.protocol import Request, Response
from sandbox.server import SandboxApp
from sandbox.world import build_world
from tests.conftest import TEST_WORLD

BEARER = {"authorization": f"Bearer {ga4_api.DEMO_ACCESS_TOKEN}"}
PATH = f"/v1beta/properties/{ga4_api.DEMO_PROPERTY_ID}:runReport"
ALL = "2024-01-01"
AS_OF = TEST_WORLD.as_of


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    return SandboxApp(TEST_WORLD, rate_limits="off")


def post(app: SandboxApp, body: Any, headers: dict[str, str] | None = None, path: str = PATH) -> Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return app.handle(Request("POST", path, {}, dict(BEARER if headers is None else headers), raw))


def report(dims: list[str], metrics: list[str], start: str = ALL, end: str = "today", **extra: Any) -> dict[str, Any]:
    return {
        "dateRanges": [{"startDate": start, "endDate": end}],
        "dimensions": [{"name": d} for d in dims],
        "metrics": [{"name": m} for m in metrics],
        **extra,
    }


def ok(app: SandboxApp, body: dict[str, Any]) -> dict[str, Any]:
    response = post(app, body)
    assert response.status == 200, response.body
    return response.body


def assert_google_error(response: Response, code: int, status: str, message: str) -> None:
    assert response.status == code, response.body
    error = response.body["error"]
    assert (error["code"], error["status"]) == (code, status)
    assert message in error["message"], error["message"]


def test_rows_aggregate_the_worlds_session_days_as_reported(app: SandboxApp) -> None:
    metrics = ["sessions", "engagedSessions", "ecommercePurchases", "purchaseRevenue"]
    body = ok(app, report(["date", "sessionDefaultChannelGroup"], metrics, limit=250_000))
    assert body["kind"] == "analyticsData#runReport"
    assert body["dimensionHeaders"] == [{"name": "date"}, {"name": "sessionDefaultChannelGroup"}]
    assert [h["type"] for h in body["metricHeaders"]] == ["TYPE_INTEGER"] * 3 + ["TYPE_CURRENCY"]
    assert body["metadata"] == {"currencyCode": "USD", "timeZone": ga4_api.TIME_ZONE}
    served = {
        tuple(v["value"] for v in r["dimensionValues"]): [v["value"] for v in r["metricValues"]] for r in body["rows"]
    }
    assert body["rowCount"] == len(served) == len(body["rows"])
    expected: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, 0, 0, Decimal("0.00")])
    for sd in build_world(TEST_WORLD).marketing.session_days:
        sessions, engaged = sd.reported(AS_OF)
        row = expected[(sd.day.strftime("%Y%m%d"), sd.source.channel_group)]
        for i, v in enumerate((sessions, engaged, sd.purchases, sd.purchase_revenue)):
            row[i] += v
    expected_served = {k: [str(v) for v in row] for k, row in expected.items() if any(row)}
    assert served == expected_served  # numbers as strings, revenue to the cent; all-zero rows left out
    last = AS_OF.strftime("%Y%m%d")
    partial = [sd for sd in build_world(TEST_WORLD).marketing.session_days if sd.day == AS_OF]
    assert sum(int(v[0]) for k, v in served.items() if k[0] == last) < sum(sd.sessions for sd in partial)


def test_traffic_source_dimensions_follow_the_world_facts(app: SandboxApp) -> None:
    dims = ["sessionDefaultChannelGroup", "sessionSource", "sessionMedium", "sessionCampaignName", "sessionCampaignId"]
    rows = ok(app, report([*dims, "sessionSourceMedium"], ["sessions"]))["rows"]
    world = build_world(TEST_WORLD)
    seen = {tuple(v["value"] for v in r["dimensionValues"]) for r in rows}
    for group, source, medium, campaign, campaign_id, source_medium in seen:
        assert source_medium == f"{source} / {medium}"
        if group.startswith("Paid"):
            c = world.marketing.campaigns_by_id[campaign_id]
            assert (c.channel_group, c.utm_campaign) == (group, campaign)
            assert (source, medium) in (("google", "cpc"), ("facebook", "paid_social"), ("instagram", "paid_social"))
        else:
            assert campaign_id == "(not set)"
    groups = {s[0] for s in seen}
    assert {"Paid Search", "Paid Shopping", "Paid Social", "Organic Search", "Direct", "Email"} <= groups
    assert ("Direct", "(direct)", "(none)", "(direct)", "(not set)") in {s[:5] for s in seen}
    assert ("Organic Search", "google", "organic", "(organic)", "(not set)") in {s[:5] for s in seen}


def test_relative_dates_and_date_ranges(app: SandboxApp) -> None:
    def days(start: str, end: str) -> list[str]:
        return sorted(
            r["dimensionValues"][0]["value"] for r in ok(app, report(["date"], ["sessions"], start, end))["rows"]
        )

    fmt = "%Y%m%d"
    assert days("today", "today") == [AS_OF.strftime(fmt)]
    assert days("yesterday", "yesterday") == [(AS_OF - timedelta(days=1)).strftime(fmt)]
    assert days("6daysAgo", "today") == [(AS_OF - timedelta(days=n)).strftime(fmt) for n in range(6, -1, -1)]
    assert days("2026-06-01", "2026-06-03") == ["20260601", "20260602", "20260603"]
    future = ok(app, report(["date"], ["sessions"], "2030-01-01", "2030-01-31"))
    assert "rows" not in future and "rowCount" not in future  # an empty report, as proto3 JSON writes it
    two = ok(
        app,
        {
            **report(["sessionDefaultChannelGroup"], ["sessions"]),
            "dateRanges": [
                {"startDate": "2026-05-01", "endDate": "2026-05-31", "name": "may"},
                {"startDate": "2026-06-01", "endDate": "2026-06-30"},
            ],
        },
    )
    assert two["dimensionHeaders"][-1] == {"name": "dateRange"}
    assert {r["dimensionValues"][-1]["value"] for r in two["rows"]} == {"may", "date_range_1"}


def test_offset_paging_by_row_count_serves_every_row_once(app: SandboxApp) -> None:
    dims = ["date", "sessionDefaultChannelGroup", "sessionSource", "sessionCampaignName"]
    order = [{"dimension": {"dimensionName": d}} for d in dims]
    whole = ok(app, report(dims, ["sessions"], "2026-04-01", "2026-06-30", orderBys=order))
    pages, offset = [], 0
    while True:
        body = ok(app, report(dims, ["sessions"], "2026-04-01", "2026-06-30", orderBys=order, limit=97, offset=offset))
        assert body["rowCount"] == whole["rowCount"] > 300
        if "rows" not in body:
            break
        assert len(body["rows"]) <= 97
        pages += body["rows"]
        offset += len(body["rows"])
    assert pages == whole["rows"]
    keys = [tuple(v["value"] for v in r["dimensionValues"]) for r in pages]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert ok(app, report(dims, ["sessions"], limit=300_000))["rowCount"] == len(
        ok(app, report(dims, ["sessions"], limit=300_000))["rows"]
    )  # a limit past 250,000 is served as 250,000, not refused
    assert (
        ok(app, report(dims, ["sessions"], limit="40"))["rows"][:40] == ok(app, report(dims, ["sessions"]))["rows"][:40]
    )


def test_order_bys_and_empty_rows(app: SandboxApp) -> None:
    by_sessions = ok(app, report(["date"], ["sessions"], "2026-06-01", "2026-06-30"))[
        "rows"
    ]  # default: 1st metric desc
    values = [int(r["metricValues"][0]["value"]) for r in by_sessions]
    assert values == sorted(values, reverse=True)
    desc = {"dimension": {"dimensionName": "date"}, "desc": True}
    by_date = ok(app, report(["date"], ["sessions"], "2026-06-01", "2026-06-30", orderBys=[desc]))["rows"]
    assert [r["dimensionValues"][0]["value"] for r in by_date] == [f"202606{d:02d}" for d in range(30, 0, -1)]
    numeric = {"dimension": {"dimensionName": "sessionCampaignId", "orderType": "NUMERIC"}}
    ids = ok(app, report(["sessionCampaignId"], ["sessions"], orderBys=[numeric]))["rows"]
    numbers = [r["dimensionValues"][0]["value"] for r in ids if r["dimensionValues"][0]["value"].isdigit()]
    assert numbers == sorted(numbers, key=int)
    purchases = report(["date", "sessionSource"], ["ecommercePurchases"], "2026-06-01", "2026-06-30")
    without = ok(app, purchases)
    with_empty = ok(app, {**purchases, "keepEmptyRows": True})
    assert all(r["metricValues"][0]["value"] != "0" for r in without["rows"])
    assert with_empty["rowCount"] > without["rowCount"]


def test_invalid_requests_get_googles_400(app: SandboxApp) -> None:
    assert_google_error(
        post(app, report(["pagePath"], ["sessions"])),
        400,
        "INVALID_ARGUMENT",
        "Field pagePath is not a valid dimension",
    )
    assert_google_error(
        post(app, report(["date"], ["totalUsers"])), 400, "INVALID_ARGUMENT", "Field totalUsers is not a valid metric"
    )
    for bad in ("2026-13-01", "2026/06/01", "tomorrow", "3daysago"):
        assert_google_error(
            post(app, report(["date"], ["sessions"], bad, "today")), 400, "INVALID_ARGUMENT", "dateRanges[0].startDate"
        )
    assert_google_error(
        post(app, report(["date"], ["sessions"], "today", "7daysAgo")), 400, "INVALID_ARGUMENT", "on or before endDate"
    )
    assert_google_error(post(app, report(["date"], ["sessions"], "2015-01-01")), 400, "INVALID_ARGUMENT", "2015-08-14")
    assert_google_error(
        post(app, {"dimensions": [{"name": "date"}], "metrics": [{"name": "sessions"}]}), 400, "INVALID_ARGUMENT", ""
    )
    assert_google_error(post(app, report(["date", "date"], ["sessions"])), 400, "INVALID_ARGUMENT", "Duplicate")
    assert_google_error(post(app, report(["date"], ["sessions"], limit=-1)), 400, "INVALID_ARGUMENT", "limit")
    assert_google_error(post(app, report(["date"], ["sessions"], foo=1)), 400, "INVALID_ARGUMENT", 'Unknown name "foo"')
    order = [{"metric": {"metricName": "engagedSessions"}}]
    assert_google_error(post(app, report(["date"], ["sessions"], orderBys=order)), 400, "INVALID_ARGUMENT", "orderBys")
    assert_google_error(post(app, b"{not json"), 400, "INVALID_ARGUMENT", "Invalid JSON payload")
    assert_google_error(
        post(app, report(["date"], ["sessions"], dimensionFilter={"filter": {}})), 400, "INVALID_ARGUMENT", "sandbox"
    )


def test_auth_and_property_errors(app: SandboxApp) -> None:
    body = report(["date"], ["sessions"], "today", "today")
    assert_google_error(post(app, body, headers={}), 401, "UNAUTHENTICATED", "missing required authentication")
    assert_google_error(
        post(app, body, headers={"authorization": "Bearer ya29.wrong"}),
        401,
        "UNAUTHENTICATED",
        "invalid authentication",
    )
    keyed = app.handle(Request("POST", PATH, {"key": sheets_api.DEMO_API_KEY}, {}, json.dumps(body).encode()))
    assert_google_error(keyed, 401, "UNAUTHENTICATED", "API keys are not supported")
    scoped = post(app, body, headers={"authorization": f"Bearer {sheets_api.DEMO_ACCESS_TOKEN}"})
    assert_google_error(scoped, 403, "PERMISSION_DENIED", "insufficient authentication scopes")
    assert scoped.body["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    other = post(app, body, path="/v1beta/properties/123456789:runReport")
    assert_google_error(other, 403, "PERMISSION_DENIED", "sufficient permissions for this property")
    assert_google_error(post(app, body, path="/v1beta/properties/abc:runReport"), 400, "INVALID_ARGUMENT", "numeric")
    assert post(app, body, path="/v1beta/properties/1:runRealtime").body["error"]["status"] == "NOT_FOUND"


def test_property_quota_in_the_body_counts_tokens_as_published() -> None:
    real = SandboxApp(TEST_WORLD, rate_limits="real")
    assert "propertyQuota" not in ok(real, report(["date"], ["sessions"], "today", "today"))
    dims = ["date", "sessionSource"]
    first = ok(real, report(dims, ["sessions"], ALL, "today", returnPropertyQuota=True))
    span = (AS_OF - date(2024, 1, 1)).days + 1
    cost = ga4_api.request_tokens(span, first["rowCount"])
    assert cost == 1 + (span - 1) // 30 + first["rowCount"] // 250 > 30
    quota = first["propertyQuota"]
    small = ga4_api.request_tokens(1, 1)  # the report without returnPropertyQuota cost tokens too
    assert quota["tokensPerDay"] == {"consumed": cost, "remaining": 200_000 - cost - small}
    assert quota["tokensPerHour"] == {"consumed": cost, "remaining": 40_000 - cost - small}
    assert quota["tokensPerProjectPerHour"] == {"consumed": cost, "remaining": 14_000 - cost - small}
    assert quota["concurrentRequests"] == {"remaining": 10}
    assert quota["serverErrorsPerProjectPerHour"] == {"remaining": 10}
    assert quota["potentiallyThresholdedRequestsPerHour"] == {"remaining": 120}
    second = ok(real, report(dims, ["sessions"], ALL, "today", returnPropertyQuota=True, limit=5, offset=100))
    assert second["propertyQuota"]["tokensPerProjectPerHour"]["remaining"] == 14_000 - 2 * cost - small  # per report
    off = SandboxApp(TEST_WORLD, rate_limits="off")
    assert ok(off, report(dims, ["sessions"], returnPropertyQuota=True))["propertyQuota"]["tokensPerHour"] == {
        "consumed": cost,
        "remaining": 40_000,
    }


def test_exhausted_tokens_are_429_resource_exhausted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        ga4_api.QUOTAS,
        "real",
        {**ga4_api.STANDARD_QUOTAS, "tokensPerProjectPerHour": (100, 3_600.0)},
    )
    real = SandboxApp(TEST_WORLD, rate_limits="real")
    body = report(["date", "sessionSource"], ["sessions"], returnPropertyQuota=True)
    statuses = [post(real, body) for _ in range(4)]
    span = (AS_OF - date(2024, 1, 1)).days + 1
    assert 50 <= ga4_api.request_tokens(span, statuses[0].body["rowCount"]) < 100
    assert [r.status for r in statuses[:2]] == [200, 200]  # a request runs while tokens remain: the second overdraws
    assert statuses[1].body["propertyQuota"]["tokensPerProjectPerHour"]["remaining"] == 0
    assert_google_error(statuses[2], 429, "RESOURCE_EXHAUSTED", "Exhausted property tokens per hour for a project")
    assert statuses[3].status == 429
    off = SandboxApp(TEST_WORLD, rate_limits="off")
    assert all(post(off, body).status == 200 for _ in range(4))  # off: never exhausted


def test_demo_windows_are_sixty_times_shorter_and_tokens_return() -> None:
    clock = [0.0]
    quota = ga4_api.PropertyQuota("demo", clock=lambda: clock[0])
    budget, window_s = ga4_api.QUOTAS["demo"]["tokensPerProjectPerHour"]
    assert (budget, window_s) == (14_000, 60.0)
    assert quota.enter() is None
    assert quota.leave(budget)["tokensPerProjectPerHour"] == {"consumed": budget, "remaining": 0}
    assert quota.enter() == "tokensPerProjectPerHour"
    clock[0] += 60.0
    assert quota.enter() is None  # the minute has passed: the tokens are back
    assert quota.leave(1)["tokensPerHour"]["remaining"] == 40_000 - 1
    held = [quota.enter() for _ in range(ga4_api.CONCURRENT_REQUESTS)]
    assert held == [None] * 10 and quota.enter() == "concurrentRequests"


def test_injected_faults_have_googles_bodies() -> None:
    app = SandboxApp(TEST_WORLD, rate_limits="off", faults="heavy")
    assert app.faults is not None
    found: dict[str, Response] = {}
    for offset in range(5_000):
        req = Request(
            "POST", PATH, {}, dict(BEARER), json.dumps(report(["date"], ["sessions"], offset=offset)).encode()
        )
        fault = app.faults.plan(request_key(req), 0)
        if fault is not None and fault.kind in ("rate_limited", "http_503", "http_500") and fault.kind not in found:
            found[fault.kind] = app.handle(req)
        if len(found) == 3:
            break
    assert_google_error(found["rate_limited"], 429, "RESOURCE_EXHAUSTED", "Exhausted property tokens")
    assert_google_error(found["http_503"], 503, "UNAVAILABLE", "currently unavailable")
    assert_google_error(found["http_500"], 500, "INTERNAL", "Internal error")
