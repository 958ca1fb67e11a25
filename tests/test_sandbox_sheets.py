"""The Google Sheets API v4 contract the sandbox serves for the sales plan (sandbox/sheets_api.py): metadata, values
in every render option, A1 ranges, omitted trailing cells, Google's auth and error bodies, the read quota."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest

from sandbox import sheets_api
from sandbox.plan_world import HEADER, SPREADSHEET_ID, build_plan
from sandbox.protocol import Request, Response
from sandbox.server import SandboxApp
from sandbox.world import WorldConfig
from tests.conftest import TEST_WORLD

BEARER = {"authorization": f"Bearer {sheets_api.DEMO_ACCESS_TOKEN}"}
VALUES = f"/v4/spreadsheets/{SPREADSHEET_ID}/values/"


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    return SandboxApp(TEST_WORLD, rate_limits="off")


def get(
    app: SandboxApp, path: str, query: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> Response:
    return app.handle(Request("GET", path, dict(query or {}), dict(BEARER if headers is None else headers)))


def values(app: SandboxApp, a1: str, **query: str) -> dict[str, Any]:
    response = get(app, VALUES + quote(a1, safe=""), query)
    assert response.status == 200, response.body
    return response.body


def assert_google_error(response: Response, code: int, status: str, message: str) -> None:
    assert response.status == code
    error = response.body["error"]
    assert (error["code"], error["status"]) == (code, status)
    assert message in error["message"]
    for detail in error.get("details", []):
        assert detail["@type"].startswith("type.googleapis.com/google.rpc.")


def test_spreadsheet_metadata(app: SandboxApp) -> None:
    body = get(app, f"/v4/spreadsheets/{SPREADSHEET_ID}").body
    assert body["spreadsheetId"] == SPREADSHEET_ID
    assert {"title", "locale", "timeZone"} <= set(body["properties"])
    assert body["spreadsheetUrl"] == f"https://docs.google.com/spreadsheets/d/{SPREADSHEET_ID}/edit"
    plan, assumptions = (s["properties"] for s in body["sheets"])
    assert (plan["title"], plan["index"], plan["sheetType"], plan["sheetId"]) == ("Plan", 0, "GRID", 0)
    assert assumptions["index"] == 1
    grid = plan["gridProperties"]
    assert grid["rowCount"] > len(build_plan(TEST_WORLD).rows) and grid["columnCount"] == 26
    assert "data" not in body["sheets"][0]  # no grid data unless asked


def test_metadata_fields_mask_ranges_and_grid_data(app: SandboxApp) -> None:
    masked = get(app, f"/v4/spreadsheets/{SPREADSHEET_ID}", {"fields": "spreadsheetId,sheets.properties(title,index)"})
    assert masked.body == {
        "spreadsheetId": SPREADSHEET_ID,
        "sheets": [{"properties": {"title": "Plan", "index": 0}}, {"properties": {"title": "Assumptions", "index": 1}}],
    }
    grid = get(app, f"/v4/spreadsheets/{SPREADSHEET_ID}", {"includeGridData": "true", "ranges": "Plan!A1:E2"}).body
    assert [s["properties"]["title"] for s in grid["sheets"]] == ["Plan"]
    header, first = grid["sheets"][0]["data"][0]["rowData"]
    assert [c["formattedValue"] for c in header["values"]] == list(HEADER[:5])
    amount = first["values"][4]
    assert amount["effectiveValue"]["numberValue"] == int(build_plan(TEST_WORLD).targets[0].net_revenue_usd)
    assert amount["formattedValue"].startswith("$") and amount["effectiveFormat"]["numberFormat"]["type"] == "CURRENCY"


def test_formatted_unformatted_and_date_render_options(app: SandboxApp) -> None:
    first = build_plan(TEST_WORLD).targets[0]
    formatted = values(app, "Plan!A2:F2")["values"][0]  # FORMATTED_VALUE is the default
    assert formatted[1] == first.month.strftime("%Y-%m")
    assert formatted[4] == f"${first.net_revenue_usd:,.2f}"  # "$1,230.00": a string
    unformatted = values(app, "Plan!A2:F2", valueRenderOption="UNFORMATTED_VALUE")["values"][0]
    assert unformatted[4] == int(first.net_revenue_usd)  # a JSON number
    assert unformatted[1] == (first.month - date(1899, 12, 30)).days  # SERIAL_NUMBER is the default
    as_text = values(app, "Plan!A2:F2", valueRenderOption="UNFORMATTED_VALUE", dateTimeRenderOption="FORMATTED_STRING")
    assert as_text["values"][0][1] == first.month.strftime("%Y-%m") and as_text["values"][0][5] == str(
        first.published_date
    )
    assert values(app, "Plan!A2:F2", valueRenderOption="FORMULA")["values"][0][4] == int(first.net_revenue_usd)


def test_ranges_and_omitted_trailing_cells(app: SandboxApp) -> None:
    plan = build_plan(TEST_WORLD)
    whole = values(app, "Plan")
    assert whole["range"] == f"Plan!A1:Z{sheets_api._grid_size([[]] * (len(plan.rows) + 1))[0]}"
    assert whole["majorDimension"] == "ROWS"
    rows = whole["values"]
    assert len(rows) == len(plan.rows) + 1  # the empty rows below the data are left out
    assert rows[0] == list(HEADER)
    commerce = next(r for r in rows[1:] if r[2] == "shopify" and len(r) == 6)
    assert commerce[3] == ""  # an empty cell inside a row stays, as ""; the empty Notes cell is left out
    noted = [r for r in rows if len(r) == 7]
    assert noted and all(r[6] for r in noted)
    assert values(app, "Plan!A1:C3")["values"] == [r[:3] for r in rows[:3]]
    assert values(app, "'Plan'!B2")["values"] == [[rows[1][1]]]
    column = values(app, "Plan!C1:C4", majorDimension="COLUMNS")
    assert column["values"] == [[r[2] for r in rows[:4]]]
    assert values(app, "A1:A2")["values"] == [["Version"], [rows[1][0]]]  # no sheet: the first one
    beyond = values(app, "Plan!H1:J5")  # nothing there: no values at all
    assert "values" not in beyond and beyond["range"] == "Plan!H1:J5"


def test_errors_have_googles_body(app: SandboxApp) -> None:
    assert_google_error(
        get(app, "/v4/spreadsheets/nope/values/Plan"), 404, "NOT_FOUND", "Requested entity was not found."
    )
    assert_google_error(get(app, "/v4/spreadsheets/nope"), 404, "NOT_FOUND", "Requested entity was not found.")
    for bad in ("Budget!A1:B2", "Plan!A1:", "Plan!1A", "Plan!A:3"):
        assert_google_error(
            get(app, VALUES + quote(bad, safe="")), 400, "INVALID_ARGUMENT", f"Unable to parse range: {bad}"
        )
    assert_google_error(
        get(app, VALUES + "Plan", {"valueRenderOption": "RAW"}), 400, "INVALID_ARGUMENT", "value_render_option"
    )
    assert get(app, "/v4/unknown").body["error"]["status"] == "NOT_FOUND"


def test_auth_by_bearer_or_key_and_its_errors(app: SandboxApp) -> None:
    by_key = get(app, VALUES + "Plan!A1:B2", {"key": sheets_api.DEMO_API_KEY}, headers={})
    assert by_key.status == 200 and by_key.body == get(app, VALUES + "Plan!A1:B2").body
    assert_google_error(get(app, VALUES + "Plan", headers={}), 403, "PERMISSION_DENIED", "missing a valid API key")
    assert_google_error(
        get(app, VALUES + "Plan", headers={"authorization": "Bearer ya29.wrong"}),
        401,
        "UNAUTHENTICATED",
        "invalid authentication credentials",
    )
    no_scope = get(app, VALUES + "Plan", headers={"authorization": f"Bearer {sheets_api.DEMO_NO_SCOPE_TOKEN}"})
    assert_google_error(no_scope, 403, "PERMISSION_DENIED", "insufficient authentication scopes")
    assert no_scope.body["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    wrong_key = get(app, VALUES + "Plan", {"key": "AIza-wrong"}, headers={})
    assert_google_error(wrong_key, 400, "INVALID_ARGUMENT", "API key not valid")
    assert wrong_key.body["error"]["details"][0]["reason"] == "API_KEY_INVALID"


def test_real_read_quota_is_googles_60_per_minute() -> None:
    real = SandboxApp(WorldConfig(seed=11, scale=0.01, as_of=date(2025, 3, 31)), rate_limits="real")
    statuses = [get(real, VALUES + "Plan!A1:A1").status for _ in range(61)]
    assert statuses[:60] == [200] * 60
    throttled = get(real, VALUES + "Plan!A1:A1")
    assert_google_error(throttled, 429, "RESOURCE_EXHAUSTED", "Read requests per minute per user")
    assert throttled.body["error"]["details"][0]["metadata"]["quota_limit_value"] == "60"
    demo = SandboxApp(WorldConfig(seed=11, scale=0.01, as_of=date(2025, 3, 31)), rate_limits="demo")
    assert all(get(demo, VALUES + "Plan!A1:A1").status == 200 for _ in range(200))


def test_injected_server_errors_are_googles() -> None:
    assert_google_error(sheets_api.server_error(503), 503, "UNAVAILABLE", "currently unavailable")
    assert_google_error(sheets_api.server_error(500), 500, "INTERNAL", "Internal error")


def test_plan_is_a_pure_function_of_the_world_and_not_the_truth() -> None:
    plan = build_plan(TEST_WORLD)
    assert plan == build_plan(WorldConfig(seed=11, scale=0.02, as_of=date(2026, 6, 30)))
    assert [v.name for v in plan.versions][-2:] == ["budget_2026", "reforecast_2026_q2"]  # q3 is published on Jul 1
    assert all(v.published_date <= TEST_WORLD.as_of for v in plan.versions)
    assert {r.problem for _, r in plan.malformed} == {
        "text_in_number",
        "month_text",
        "month_out_of_range",
        "unknown_channel",
        "duplicate",
    }
    bigger = build_plan(WorldConfig(seed=11, scale=0.2, as_of=date(2026, 6, 30)))
    small = sum(t.net_revenue_usd for t in plan.targets if t.channel == "shopify")
    assert 8 < sum(t.net_revenue_usd for t in bigger.targets if t.channel == "shopify") / small < 12  # scales
    assert all(t.net_revenue_usd % 10 == 0 for t in plan.targets)  # rounded as planners round
    assert all(t.net_revenue_usd >= Decimal(0) for t in plan.targets)
