"""The Meta Marketing API Ads Insights contract the sandbox serves (sandbox/meta_api.py): cursor paging with full next
URLs, Graph's string values and the triple-listed purchase, async report runs, the too-much-data and auth errors,
the Business Use Case usage headers and the 80000 error at 100 %."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from sandbox import meta_api
from sandbox.marketing_world import META_EU, META_US
from sandbox.protocol import Request, Response
from sandbox.ratelimit import RateLimiter
from sandbox.server import SandboxApp
from sandbox.world import build_world
from tests.conftest import TEST_WORLD

BEARER = {"authorization": f"Bearer {meta_api.DEMO_ACCESS_TOKEN}"}
US = f"/v24.0/act_{META_US.account_id}/insights"
FIELDS = ",".join(meta_api.FIELDS)


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    return SandboxApp(TEST_WORLD, rate_limits="off")


def call(
    app: SandboxApp, path: str, query: dict[str, str] | None = None, method: str = "GET", headers: Any = None
) -> Response:
    return app.handle(Request(method, path, dict(query or {}), dict(BEARER if headers is None else headers)))


def daily(since: str, until: str, **extra: str) -> dict[str, str]:
    return {
        "level": "campaign",
        "time_increment": "1",
        "time_range": json.dumps({"since": since, "until": until}),
        "fields": FIELDS,
        **extra,
    }


def follow(app: SandboxApp, path: str, query: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    """Every row of a listing, following paging.next (a full URL): (rows, pages)."""
    rows, pages = [], 0
    while True:
        response = call(app, path, query)
        assert response.status == 200, response.body
        pages += 1
        rows += response.body["data"]
        nxt = response.body.get("paging", {}).get("next")
        if not nxt:
            return rows, pages
        parts = urlsplit(nxt)
        path, query = parts.path, dict(parse_qsl(parts.query))


def expected(account_id: str, since: str, until: str) -> list[tuple[str, str, Decimal]]:
    world = build_world(TEST_WORLD)
    return [
        (ad.day.isoformat(), ad.campaign.campaign_id, ad.reported(TEST_WORLD.as_of)[0])
        for ad in world.marketing.ad_days
        if ad.campaign.platform == "meta"
        and ad.campaign.account.account_id == account_id
        and since <= ad.day.isoformat() <= until
    ]


def test_paging_follows_full_next_urls_to_every_row(app: SandboxApp) -> None:
    rows, pages = follow(app, US, daily("2026-05-01", "2026-06-30", limit="40"))
    want = expected(META_US.account_id, "2026-05-01", "2026-06-30")
    assert pages == -(-len(want) // 40) and pages > 1
    assert [(r["date_start"], r["campaign_id"], Decimal(r["spend"])) for r in rows] == want
    first = call(app, US, daily("2026-05-01", "2026-06-30", limit="40")).body
    assert set(first["paging"]["cursors"]) == {"before", "after"}
    assert first["paging"]["next"].startswith("http") and "after=" in first["paging"]["next"]
    last = call(
        app, US, {**daily("2026-05-01", "2026-06-30", limit="40"), "after": first["paging"]["cursors"]["after"]}
    )
    assert last.body["data"][0] == rows[40]
    # the last page has no next
    final = call(app, US, daily("2026-06-30", "2026-06-30", limit="40")).body
    assert "next" not in final["paging"] and len(final["data"]) == 3


def test_values_are_strings_and_the_purchase_is_listed_three_times(app: SandboxApp) -> None:
    rows, _ = follow(app, US, daily("2026-04-02", "2026-06-30", limit="500"))
    assert all(isinstance(r[k], str) for r in rows for k in ("spend", "impressions", "clicks"))
    assert {r["account_currency"] for r in rows} == {"USD"}
    converting = [r for r in rows if "action_values" in r]
    assert converting, "the test world has Meta purchases in the quarter"
    world = build_world(TEST_WORLD)
    by_key = {(a.day.isoformat(), a.campaign.campaign_id): a for a in world.marketing.ad_days}
    for r in converting:
        actions = {a["action_type"]: a["value"] for a in r["actions"]}
        values = {a["action_type"]: a["value"] for a in r["action_values"]}
        _, conversions, value = by_key[(r["date_start"], r["campaign_id"])].reported(TEST_WORLD.as_of)
        assert {actions[t] for t in meta_api.PURCHASE_TYPES} == {meta_api._count(conversions)}
        assert {Decimal(values[t]) for t in meta_api.PURCHASE_TYPES} == {value}
        assert int(actions["link_click"]) == int(r["clicks"])
    eu = call(app, f"/v23.0/act_{META_EU.account_id}/insights", daily("2026-06-01", "2026-06-02")).body["data"]
    assert {r["account_currency"] for r in eu} == {"EUR"}


def test_a_long_synchronous_range_is_too_much_data(app: SandboxApp) -> None:
    response = call(app, US, daily("2026-01-01", "2026-06-30"))
    assert response.status == 500
    error = response.body["error"]
    assert (error["code"], error["error_subcode"], error["is_transient"]) == (1, 99, False)
    assert "reduce the amount of data" in error["message"]
    assert call(app, US, daily("2026-04-02", "2026-06-30")).status == 200  # 90 days is fine
    # a range into the future asks for the days so far only
    assert call(app, US, daily("2026-06-01", "2027-06-01")).status == 200


def test_an_async_report_run_advances_over_polls_to_the_rows(app: SandboxApp) -> None:
    params = daily("2024-01-01", "2026-06-30")
    posted = call(app, US, params, method="POST")
    assert posted.status == 200 and set(posted.body) == {"report_run_id"}
    run_id = posted.body["report_run_id"]
    early = call(app, f"/v24.0/{run_id}/insights")
    assert early.status == 400 and early.body["error"]["code"] == 2601
    statuses = []
    while not statuses or statuses[-1][0] != "Job Completed":
        body = call(app, f"/v24.0/{run_id}").body
        assert body["id"] == run_id and body["account_id"] == META_US.account_id
        statuses.append((body["async_status"], body["async_percent_completion"]))
        assert len(statuses) < 20
    names = [s for s, _ in statuses]
    assert names[:2] == ["Job Not Started", "Job Started"] and "Job Running" in names
    assert [p for _, p in statuses] == sorted(p for _, p in statuses) and statuses[-1][1] == 100
    rows, pages = follow(app, f"/v24.0/{run_id}/insights", {"limit": "1000"})
    assert pages > 1
    assert [(r["date_start"], r["campaign_id"], Decimal(r["spend"])) for r in rows] == expected(
        META_US.account_id, "2024-01-01", "2026-06-30"
    )
    assert call(app, "/v24.0/6129999999999999").body["error"]["error_subcode"] == 33


def test_auth_versions_and_unknown_accounts_answer_as_graph_does(app: SandboxApp) -> None:
    query = daily("2026-06-01", "2026-06-02")
    by_query = call(app, US, {**query, "access_token": meta_api.DEMO_ACCESS_TOKEN}, headers={})
    assert by_query.status == 200
    wrong = call(app, US, {**query, "access_token": "EAAwrong"}, headers={})
    assert wrong.status == 400
    assert wrong.body["error"]["code"] == 190 and wrong.body["error"]["type"] == "OAuthException"
    assert set(wrong.body["error"]) >= {"message", "type", "code", "fbtrace_id"}
    assert call(app, US, query, headers={"authorization": "Bearer nope"}).body["error"]["code"] == 190
    assert call(app, US, query, headers={}).body["error"]["code"] == 104
    assert call(app, US.replace("v24.0", "v19.0"), query).body["error"]["code"] == 2635
    unknown = call(app, "/v24.0/act_123/insights", query).body["error"]
    assert (unknown["code"], unknown["error_subcode"]) == (100, 33)
    assert call(app, US, {**query, "fields": "spend,reach_estimate"}).body["error"]["code"] == 100


def _buc(response: Response) -> dict[str, Any]:
    (entries,) = json.loads(response.headers["X-Business-Use-Case-Usage"]).values()
    (entry,) = entries
    return entry


def test_the_business_use_case_usage_rises_to_the_80000_error() -> None:
    app = SandboxApp(TEST_WORLD, rate_limits="real")
    capacity, _ = meta_api.LIMITS[meta_api.BUCKET]["real"]
    assert capacity == 600 + 400 * meta_api.ACTIVE_ADS  # the standard tier's hourly budget
    limits = {meta_api.BUCKET: {"real": (20, 20 / 3600), "policy": "rolling"}}
    app.limiter = RateLimiter("real", {**app.limiter.limits, **limits})
    query = daily("2026-06-01", "2026-06-01")
    seen = []
    for _ in range(20):
        response = call(app, US, query)
        assert response.status == 200
        seen.append(_buc(response)["call_count"])
    assert seen == sorted(seen) and seen[0] == 5 and seen[-1] == 100
    assert set(_buc(response)) == {
        "type",
        "call_count",
        "total_cputime",
        "total_time",
        "estimated_time_to_regain_access",
    }
    account = json.loads(response.headers["X-Ad-Account-Usage"])
    assert account["acc_id_util_pct"] == 100 and 3500 < account["reset_time_duration"] <= 3600
    refused = call(app, US, query)
    assert refused.status == 400
    error = refused.body["error"]
    assert (error["code"], error["error_subcode"], error["is_transient"]) == (80000, 2446079, True)
    assert _buc(refused)["estimated_time_to_regain_access"] == 60
    off = SandboxApp(TEST_WORLD, rate_limits="off")
    assert _buc(call(off, US, query))["call_count"] == 0
