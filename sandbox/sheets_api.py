"""Google Sheets API v4 (docs/architecture.md: The plan): the sales plan spreadsheet finance keeps (``sandbox/plan_world.py``).

- ``GET /v4/spreadsheets/{spreadsheetId}``: the Spreadsheet resource (``spreadsheetId``, ``properties``,
  ``sheets[].properties``, ``spreadsheetUrl``); ``ranges`` limits the sheets, ``includeGridData=true`` adds
  ``sheets[].data[].rowData[].values[]`` (``userEnteredValue``, ``effectiveValue``, ``formattedValue``).
- ``GET /v4/spreadsheets/{spreadsheetId}/values/{range}``: a ValueRange ``{range, majorDimension, values}``;
  ``majorDimension`` ROWS|COLUMNS, ``valueRenderOption`` FORMATTED_VALUE (default: numbers as their display
  strings, "$12,300.00") | UNFORMATTED_VALUE | FORMULA, ``dateTimeRenderOption`` SERIAL_NUMBER (default: days
  since 1899-12-30) | FORMATTED_STRING (ignored with FORMATTED_VALUE). Trailing empty cells and rows are left
  out, as Google does; an empty range has no ``values`` at all.
- Both take ``fields`` (a field mask: ``sheets.properties(title,sheetId),spreadsheetId``).

Auth: ``Authorization: Bearer <OAuth token>`` or ``?key=<API key>`` (the plan sheet is shared "anyone with the
link can view", so a key reads it). No credentials: 403 PERMISSION_DENIED "The request is missing a valid API
key."; a wrong bearer token: 401 UNAUTHENTICATED; a token without a Sheets/Drive scope: 403 PERMISSION_DENIED
(ACCESS_TOKEN_SCOPE_INSUFFICIENT); a wrong key: 400 INVALID_ARGUMENT (API_KEY_INVALID), as Google answers.
Quota: read requests per minute per user (``real``: Google's published 60; ``demo``: scaled up; ``off``: none),
429 RESOURCE_EXHAUSTED. Errors carry Google's body ``{"error": {"code", "message", "status", "details"?}}``.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from sandbox.plan_world import (
    ASSUMPTIONS_SHEET,
    HEADER,
    PLAN_SHEET,
    SPREADSHEET_ID,
    SPREADSHEET_TITLE,
    Cell,
    assumptions_rows,
    build_plan,
)
from sandbox.protocol import Request, Response, route
from sandbox.ratelimit import TokenBucket
from sandbox.world import World, WorldConfig

DEMO_ACCESS_TOKEN = "ya29.a0-sandbox-pastapro-sheets-readonly"  # an OAuth token with spreadsheets.readonly
DEMO_API_KEY = "AIzaSy-sandbox-PastaPro-plan-key-000000"
DEMO_NO_SCOPE_TOKEN = "ya29.a0-sandbox-pastapro-no-sheets-scope"  # a valid token, granted only userinfo.email
SERIAL_EPOCH = date(1899, 12, 30)  # Sheets' date serial 0
SHEET_IDS = {PLAN_SHEET: 0, ASSUMPTIONS_SHEET: 1_764_003_212}
MONTH_COLUMN, PUBLISHED_COLUMN = HEADER.index("Month"), HEADER.index("Published")
SERVICE = "sheets.googleapis.com"
VALUE_RENDER = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATETIME_RENDER = ("SERIAL_NUMBER", "FORMATTED_STRING")
DIMENSIONS = ("ROWS", "COLUMNS")


def error(code: int, status: str, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        body["details"] = details
    return Response(code, {"error": body})


def _info(reason: str, **metadata: str) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": SERVICE, **metadata},
    }


# --------------------------------------------------------------------------- the sheets' cells


def _grid(config: WorldConfig) -> dict[str, list[list[Cell]]]:
    """Each tab's cells by row (trailing empty cells already left out)."""
    plan = build_plan(config)
    return {
        PLAN_SHEET: [list(HEADER), *[list(r.cells) for r in plan.rows]],
        ASSUMPTIONS_SHEET: assumptions_rows(config),
    }


def _grid_size(rows: list[list[Cell]]) -> tuple[int, int]:
    """(rowCount, columnCount): the data plus the blank rows a sheet keeps below it (at least 1000 × 26)."""
    return max(1000, (len(rows) // 500 + 1) * 500), 26


def _number_format(sheet: str, column: int) -> str | None:
    """The display format of a cell by where it is (what finance set on the column)."""
    if sheet == PLAN_SHEET:
        return {MONTH_COLUMN: "yyyy-mm", PUBLISHED_COLUMN: "yyyy-mm-dd"}.get(column, "$#,##0.00")
    return "0.00" if column == 2 else "$#,##0.00"


def _formatted(value: Cell, fmt: str | None) -> str:
    if isinstance(value, date):
        return value.strftime("%Y-%m" if fmt == "yyyy-mm" else "%Y-%m-%d")
    if isinstance(value, Decimal):
        if fmt == "0.00":
            return f"{value:.2f}"
        sign = "-" if value < 0 else ""
        return f"{sign}${abs(value):,.2f}"
    return value


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def render(value: Cell, fmt: str | None, value_render: str, datetime_render: str) -> Any:
    """A cell as the values endpoint returns it."""
    if isinstance(value, str):
        return value
    if value_render == "FORMATTED_VALUE":
        return _formatted(value, fmt)
    if isinstance(value, date):
        if datetime_render == "FORMATTED_STRING":
            return _formatted(value, fmt)
        return (value - SERIAL_EPOCH).days
    return _number(value)


# --------------------------------------------------------------------------- A1 ranges

_CELL = re.compile(r"(?P<c>[A-Za-z]{1,3})(?P<r>[0-9]+)")
_SPAN = re.compile(r"(?P<c1>[A-Za-z]{0,3})(?P<r1>[0-9]*):(?P<c2>[A-Za-z]{0,3})(?P<r2>[0-9]*)")


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _column_letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _quote(sheet: str) -> str:
    return sheet if re.fullmatch(r"[A-Za-z0-9_]+", sheet) else "'" + sheet.replace("'", "''") + "'"


def parse_range(text: str, sheets: list[str]) -> tuple[str, int, int, int | None, int | None] | None:
    """(sheet, first row, first column, last row, last column) of an A1 range (1-based; None: to the grid's
    end), or None when it does not parse or names no sheet of the spreadsheet. Forms: ``Plan``, ``'Plan'``,
    ``Plan!A1:G2000``, ``Plan!A:G``, ``Plan!A2:G`` (to the last row), ``Plan!1:5``, ``Plan!B3``, and ``A1:G9``
    (the first sheet)."""
    sheet, bang, cells = text.rpartition("!")
    if not bang:
        unquoted = text[1:-1].replace("''", "'") if len(text) > 1 and text[0] == text[-1] == "'" else text
        sheet, cells = (unquoted, "") if unquoted in sheets else (sheets[0], text)
    elif len(sheet) > 1 and sheet[0] == sheet[-1] == "'":
        sheet = sheet[1:-1].replace("''", "'")
    if sheet not in sheets:
        return None
    if not cells:
        return sheet, 1, 1, None, None
    if m := _CELL.fullmatch(cells):
        col, row = _column_number(m["c"]), int(m["r"])
        return sheet, row, col, row, col
    m = _SPAN.fullmatch(cells)
    if not m:
        return None
    c1, r1, c2, r2 = m["c1"], m["r1"], m["c2"], m["r2"]
    if not ((c1 and c2) or (r1 and r2 and not c1 and not c2)):
        return None
    rows = (int(r1) if r1 else 1, int(r2) if r2 else None)
    cols = (_column_number(c1) if c1 else 1, _column_number(c2) if c2 else None)
    if rows[1] is not None and rows[1] < rows[0]:
        rows = (rows[1], rows[0])
    if cols[1] is not None and cols[1] < cols[0]:
        cols = (cols[1], cols[0])
    return sheet, rows[0], cols[0], rows[1], cols[1]


def _trim(values: list[list[Any]]) -> list[list[Any]]:
    """Trailing empty cells of each row, then trailing empty rows, left out."""
    out = []
    for row in values:
        while row and row[-1] in ("", None):
            row = row[:-1]
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


# --------------------------------------------------------------------------- field masks


def _parse_mask(text: str) -> dict[str, Any]:
    """``a.b(c,d),e`` -> {"a": {"b": {"c": {}, "d": {}}}, "e": {}} ({} = the whole field)."""
    tree: dict[str, Any] = {}
    pos = 0

    def parse(into: dict[str, Any]) -> None:
        nonlocal pos
        while pos < len(text):
            m = re.compile(r"\s*([A-Za-z0-9_@]+(?:\.[A-Za-z0-9_@]+)*)\s*").match(text, pos)
            if not m:
                raise ValueError(text)
            pos = m.end()
            node = into
            for part in m.group(1).split("."):
                node = node.setdefault(part, {})
            if pos < len(text) and text[pos] == "(":
                pos += 1
                parse(node)
                if pos >= len(text) or text[pos] != ")":
                    raise ValueError(text)
                pos += 1
            if pos < len(text) and text[pos] == ",":
                pos += 1
                continue
            return

    parse(tree)
    if pos != len(text):
        raise ValueError(text)
    return tree


def _apply_mask(value: Any, mask: dict[str, Any]) -> Any:
    if not mask:
        return value
    if isinstance(value, list):
        return [_apply_mask(v, mask) for v in value]
    if isinstance(value, dict):
        return {k: _apply_mask(value[k], sub) for k, sub in mask.items() if k in value}
    return value


def _masked(req: Request, body: dict[str, Any]) -> Response:
    fields = req.query.get("fields")
    if not fields:
        return Response(200, body)
    try:
        mask = _parse_mask(fields)
    except ValueError:
        return error(
            400, "INVALID_ARGUMENT", f"Invalid FieldMask '{fields}'. Map keys should be represented as [\"some_key\"]."
        )
    return Response(200, _apply_mask(body, mask))


# --------------------------------------------------------------------------- endpoints


def _known(spreadsheet_id: str) -> bool:
    return spreadsheet_id == SPREADSHEET_ID


def _not_found() -> Response:
    return error(404, "NOT_FOUND", "Requested entity was not found.")


def _enum(req: Request, name: str, field_name: str, type_name: str, allowed: tuple[str, ...]) -> str | Response:
    value = req.query.get(name, allowed[0])
    if value not in allowed:
        return error(
            400,
            "INVALID_ARGUMENT",
            f"Invalid value at '{field_name}' (type.googleapis.com/google.apps.sheets.v4.{type_name}), \"{value}\"",
            [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [
                        {"field": field_name, "description": f"Invalid value at '{field_name}', \"{value}\""}
                    ],
                }
            ],
        )
    return value


def get_values(req: Request, world: World, spreadsheet_id: str, a1: str) -> Response:
    if not _known(spreadsheet_id):
        return _not_found()
    options = []
    for name, field_name, type_name, allowed in (
        ("majorDimension", "major_dimension", "Dimension", DIMENSIONS),
        ("valueRenderOption", "value_render_option", "ValueRenderOption", VALUE_RENDER),
        ("dateTimeRenderOption", "date_time_render_option", "DateTimeRenderOption", DATETIME_RENDER),
    ):
        picked = _enum(req, name, field_name, type_name, allowed)
        if isinstance(picked, Response):
            return picked
        options.append(picked)
    dimension, value_render, datetime_render = options
    grid = _grid(world.config)
    text = unquote(a1)
    parsed = parse_range(text, list(grid))
    if parsed is None:
        return error(400, "INVALID_ARGUMENT", f"Unable to parse range: {text}")
    sheet, r1, c1, r2, c2 = parsed
    rows = grid[sheet]
    row_count, col_count = _grid_size(rows)
    if r1 > row_count or c1 > col_count:
        return error(
            400,
            "INVALID_ARGUMENT",
            f"Range ('{sheet}'!{_column_letters(c1)}{r1}) exceeds grid limits. Max rows: {row_count}, max columns: {col_count}",
        )
    r2 = min(r2 or row_count, row_count)
    c2 = min(c2 or col_count, col_count)
    values = []
    for r in range_rows(r1, r2, len(rows)):
        cells = rows[r - 1]
        values.append(
            [
                render(cells[c - 1], _number_format(sheet, c - 1), value_render, datetime_render)
                if c - 1 < len(cells)
                else ""
                for c in range_rows(c1, c2, len(cells))
            ]
        )
    values = _trim(values)
    if dimension == "COLUMNS":
        width = max((len(v) for v in values), default=0)
        values = _trim([[row[c] if c < len(row) else "" for row in values] for c in range(width)])
    body: dict[str, Any] = {
        "range": f"{_quote(sheet)}!{_column_letters(c1)}{r1}:{_column_letters(c2)}{r2}",
        "majorDimension": dimension,
    }
    if values:
        body["values"] = values
    return _masked(req, body)


def range_rows(first: int, last: int, available: int) -> list[int]:
    """1-based indices ``first..last`` that hold data (at most ``available``)."""
    return list(range(first, min(last, available) + 1))


def _cell_data(value: Cell, fmt: str | None) -> dict[str, Any]:
    if isinstance(value, str):
        typed = {"stringValue": value}
    elif isinstance(value, date):
        typed = {"numberValue": (value - SERIAL_EPOCH).days}
    else:
        typed = {"numberValue": _number(value)}
    cell: dict[str, Any] = {
        "userEnteredValue": typed,
        "effectiveValue": typed,
        "formattedValue": _formatted(value, fmt),
    }
    if fmt is not None and not isinstance(value, str):
        kind = "DATE" if isinstance(value, date) else ("NUMBER" if fmt == "0.00" else "CURRENCY")
        cell["effectiveFormat"] = {"numberFormat": {"type": kind, "pattern": fmt}}
    return cell


def get_spreadsheet(req: Request, world: World, spreadsheet_id: str) -> Response:
    if not _known(spreadsheet_id):
        return _not_found()
    grid = _grid(world.config)
    wanted: dict[str, tuple[int, int, int | None, int | None] | None] = {}
    for text in req.values("ranges", comma=False) or []:
        parsed = parse_range(unquote(text), list(grid))
        if parsed is None:
            return error(400, "INVALID_ARGUMENT", f"Unable to parse range: {text}")
        wanted[parsed[0]] = parsed[1:]
    include = req.query.get("includeGridData", "false").lower() == "true"
    sheets = []
    for index, (title, rows) in enumerate(grid.items()):
        if wanted and title not in wanted:
            continue
        row_count, col_count = _grid_size(rows)
        sheet: dict[str, Any] = {
            "properties": {
                "sheetId": SHEET_IDS[title],
                "title": title,
                "index": index,
                "sheetType": "GRID",
                "gridProperties": {"rowCount": row_count, "columnCount": col_count, "frozenRowCount": 1},
            }
        }
        if include:
            r1, c1, r2, c2 = wanted.get(title) or (1, 1, None, None)
            data: dict[str, Any] = {
                "rowData": [
                    {
                        "values": [
                            _cell_data(rows[r - 1][c - 1], _number_format(title, c - 1))
                            for c in range_rows(c1, c2 or col_count, len(rows[r - 1]))
                        ]
                    }
                    for r in range_rows(r1, r2 or row_count, len(rows))
                ]
            }
            if r1 > 1:
                data["startRow"] = r1 - 1
            if c1 > 1:
                data["startColumn"] = c1 - 1
            sheet["data"] = [data]
        sheets.append(sheet)
    body = {
        "spreadsheetId": spreadsheet_id,
        "properties": {
            "title": SPREADSHEET_TITLE,
            "locale": "en_US",
            "autoRecalc": "ON_CHANGE",
            "timeZone": "Etc/GMT",
            "defaultFormat": {"verticalAlignment": "BOTTOM", "wrapStrategy": "OVERFLOW_CELL"},
        },
        "sheets": sheets,
        "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{spreadsheet_id}/edit",
    }
    return _masked(req, body)


def csv_export(config: WorldConfig, sheet: str = PLAN_SHEET) -> str:
    """The tab as File → Download → Comma-separated values gives it: formatted values, one line per row."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in _grid(config)[sheet]:
        writer.writerow([_formatted(cell, _number_format(sheet, c)) for c, cell in enumerate(row)])
    return out.getvalue()


# --- vendor wiring: routes, auth, rate limits (the server is generic) ---
NAME = "sheets"
LIST_PARAMS = {"sheets": ("ranges",)}  # repeated (ranges=A&ranges=B), as Google's clients send it
PATH_PREFIXES = ("/v4/",)
# Google's published quota: 60 read requests per minute per user per project (300 per project), refilled each
# minute: a rolling window of 60 per 60 s. demo: the same shape, 100 a second.
LIMITS = {"sheets": {"real": (60, 1.0), "demo": (6000, 100.0), "policy": "rolling"}}


def authorize(app: object, req: Request) -> Response | None:
    scheme, _, token = req.headers.get("authorization", "").partition(" ")
    token = token.strip()
    key = req.query.get("key")
    if scheme.lower() == "bearer" and token:
        if token == DEMO_NO_SCOPE_TOKEN:
            return error(
                403,
                "PERMISSION_DENIED",
                "Request had insufficient authentication scopes.",
                [
                    _info(
                        "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                        method="google.apps.sheets.v4.SpreadsheetsService.GetValues",
                    )
                ],
            )
        if token != DEMO_ACCESS_TOKEN:
            return error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                "other valid authentication credential. See "
                "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                [_info("ACCESS_TOKEN_TYPE_UNSUPPORTED")],
            )
        return None
    if key is not None:
        if key != DEMO_API_KEY:
            return error(
                400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [_info("API_KEY_INVALID")]
            )
        return None
    return error(403, "PERMISSION_DENIED", "The request is missing a valid API key.", [_info("CREDENTIALS_MISSING")])


def throttled(bucket: str, wait_s: float) -> Response:
    return error(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service "
        f"'{SERVICE}' for consumer 'project_number:482910375516'.",
        [
            _info(
                "RATE_LIMIT_EXCEEDED",
                quota_metric=f"{SERVICE}/read_requests",
                quota_limit="ReadRequestsPerMinutePerUser",
                quota_limit_value="60",
                consumer="projects/482910375516",
                quota_location="global",
            ),
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Request a higher quota limit.",
                        "url": "https://cloud.google.com/docs/quotas/help/request_increase",
                    }
                ],
            },
        ],
    )


def limit_headers(bucket: str, state: TokenBucket) -> dict[str, str]:
    return {}  # Google announces no quota headers; a client backs off exponentially on a 429


def server_error(status: int) -> Response:
    if status == 503:
        return error(503, "UNAVAILABLE", "The service is currently unavailable.")
    return error(status, "INTERNAL", "Internal error encountered.")


def not_found(req: Request) -> Response:
    return error(404, "NOT_FOUND", f"Method not found: {req.method} {req.path}")


ROUTES = [
    route("GET", r"/v4/spreadsheets/(?P<spreadsheet_id>[A-Za-z0-9_-]+)", "sheets", get_spreadsheet),
    route("GET", r"/v4/spreadsheets/(?P<spreadsheet_id>[A-Za-z0-9_-]+)/values/(?P<a1>[^/]+)", "sheets", get_values),
]
