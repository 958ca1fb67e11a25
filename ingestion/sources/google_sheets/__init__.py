"""The sales plan (Google Sheets API v4, or a CSV export of the same tab) into ``raw_plan.targets``.

Finance keeps the plan in a spreadsheet: one row per version × month × channel (× territory for b2b). The
source reads the tab (``sheet_range``, default the whole ``Plan`` tab) with ``valueRenderOption=UNFORMATTED_VALUE``
and ``dateTimeRenderOption=FORMATTED_STRING`` (numbers as JSON numbers, parsed as Decimal; dates as the sheet
shows them), maps the header row's names to columns (a missing or renamed column is an error), and merges
the rows on version × month × channel × territory (``row_key``), so a re-run never duplicates; a sheet without
any valid row is an error, not an empty plan. Rows that break
the plan's rules (``contracts.py``) go to ``raw_plan.quarantine`` with the reason, in the same load.

Config (dlt section ``plan``: ``.dlt/config.toml`` ``[sources.plan]`` or ``SOURCES__PLAN__*``):
``spreadsheet_id`` and a credential, ``access_token`` (OAuth bearer, scope spreadsheets.readonly) or
``api_key`` (for a sheet shared by link); ``base_url`` (default Google's); ``sheet_range`` (an A1 range, default the ``Plan`` tab).
Without Sheets: export the tab (File → Download → Comma-separated values) and set ``csv_path``
(``SOURCES__PLAN__CSV_PATH=/path/plan.csv``) instead of ``spreadsheet_id``: the same header, the same rules,
the same raw rows (a CSV's formatted amounts such as "$12,300.00" are read as numbers).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dlt

from ingestion.contracts import quarantined
from ingestion.http.client import rest_client
from ingestion.http.pacing import Pacer
from ingestion.sources.google_sheets.contracts import PlanSheetError, column_map, split_rows
from ingestion.sources.google_sheets.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_RANGE,
    READS_PER_MINUTE,
    SPREADSHEET_PATH,
    VALUES_PATH,
)

__all__ = ["NESTED_TABLES", "PlanSheetError", "plan_source", "read_csv"]
NESTED_TABLES: tuple[str, ...] = ()


def _table(rows: list[list[Any]], where: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if not rows:
        raise PlanSheetError(f"{where}: the plan has no header row (the range is empty)")
    columns = column_map(rows[0])
    return split_rows(((i + 2, r) for i, r in enumerate(rows[1:])), columns, where)


def read_csv(path: str | Path) -> list[list[str]]:
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        return [row for row in csv.reader(handle)]


def _sheet_rows(
    base_url: str, spreadsheet_id: str, a1: str, access_token: str | None, api_key: str | None
) -> tuple[list[list[Any]], str]:
    """The tab's rows as the API returns them, and the sheet prefix of a cell reference (``Plan!A``)."""
    if not (access_token or api_key):
        raise PlanSheetError("plan: set sources.plan.access_token or sources.plan.api_key (or csv_path)")
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else None
    auth_params = {} if access_token else {"key": api_key}
    client = rest_client(
        "plan",
        "targets",
        base_url,
        headers=headers,
        pacer=Pacer(capacity=READS_PER_MINUTE, refill_per_s=READS_PER_MINUTE / 60),
    )
    meta = json.loads(
        client.get(
            SPREADSHEET_PATH.format(spreadsheet_id=spreadsheet_id),
            params={**auth_params, "fields": "spreadsheetId,properties.title,sheets.properties.title"},
        ).content
    )
    tab = a1.rpartition("!")[0].strip("'") or a1.strip("'")
    tabs = [s["properties"]["title"] for s in meta.get("sheets", [])]
    if tab not in tabs:
        raise PlanSheetError(f"plan: spreadsheet {meta['properties']['title']!r} has no tab {tab!r} (tabs: {tabs})")
    response = client.get(
        VALUES_PATH.format(spreadsheet_id=spreadsheet_id, range=quote(a1, safe="")),
        params={
            **auth_params,
            "majorDimension": "ROWS",
            "valueRenderOption": "UNFORMATTED_VALUE",
            "dateTimeRenderOption": "FORMATTED_STRING",
        },
    )
    body = json.loads(response.content, parse_float=Decimal)  # money never passes through a float
    return body.get("values", []), f"{tab}!A"


@dlt.source(name="plan", section="plan")
def plan_source(
    spreadsheet_id: str | None = None,
    access_token: str | None = dlt.secrets.value,
    api_key: str | None = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    sheet_range: str = DEFAULT_RANGE,
    csv_path: str | None = None,
) -> Any:
    """The plan's targets from the spreadsheet ``spreadsheet_id``, or from the CSV file at ``csv_path``."""
    if not (csv_path or spreadsheet_id):
        raise PlanSheetError("plan: set sources.plan.spreadsheet_id (Google Sheets) or sources.plan.csv_path (CSV)")

    @dlt.resource(
        name="targets",
        primary_key="row_key",
        write_disposition="merge",
        columns={
            "net_revenue_usd": {"data_type": "decimal", "precision": 18, "scale": 2},
            "month": {"data_type": "date"},
            "published_date": {"data_type": "date"},
            "territory": {"data_type": "text", "nullable": True},
            "notes": {"data_type": "text", "nullable": True},
            "sheet_row": {"data_type": "bigint"},
        },
    )
    def targets() -> Iterator[Any]:
        if csv_path:
            rows: Sequence[list[Any]] = read_csv(csv_path)
            where = f"{Path(csv_path).name}:"
        else:
            rows, where = _sheet_rows(base_url, spreadsheet_id or "", sheet_range, access_token, api_key)
        good, bad = _table(list(rows), where)
        if not good:  # never a silently empty plan: the newest load always carries the current sheet
            example = f", e.g. {bad[0]['record_id']}: {bad[0]['reason']}" if bad else ""
            raise PlanSheetError(f"{where}: no valid plan row ({len(bad)} quarantined{example})")
        yield good
        if bad:
            yield quarantined(bad)

    return targets
