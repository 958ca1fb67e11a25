"""What a plan row must satisfy before it enters ``raw_plan.targets`` (else: quarantine, with the reason).

A row is a list of cell values under the header (from the Sheets API with ``UNFORMATTED_VALUE`` and
``dateTimeRenderOption=FORMATTED_STRING``, or from a CSV file: strings). Rules:

- ``plan_version``: ``budget_YYYY`` or ``reforecast_YYYY_qN``;
- ``month``: ``YYYY-MM`` (or ``YYYY-MM-01``, or a Sheets date serial number): "Sept 2025" or "2025-13" do not parse;
- ``channel``: one of shopify, amazon, ebay, b2b; ``territory``: one of the four for b2b, empty otherwise;
- ``net_revenue_usd``: a number (read as Decimal, never float; "$12,300.00" as exported is accepted), not negative;
- ``published_date``: ``YYYY-MM-DD`` (or a serial number);
- the key (version × month × channel × territory) once: a second occurrence is quarantined, the first kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ingestion.sources.google_sheets.settings import (
    CHANNELS,
    HEADER_COLUMNS,
    KEY_COLUMNS,
    REQUIRED_COLUMNS,
    TERRITORIES,
)

SERIAL_EPOCH = date(1899, 12, 30)
VERSION = re.compile(r"budget_\d{4}|reforecast_\d{4}_q[1-4]")
MONTH = re.compile(r"(\d{4})-(\d{2})(?:-01)?")
CENT = Decimal("0.01")


class PlanSheetError(ValueError):
    """The sheet cannot be read as a plan at all (a missing or renamed header column, no header)."""


def column_map(header: Sequence[Any]) -> dict[str, int]:
    """Raw column -> position, from the header row; a missing required column is an error naming it."""
    positions: dict[str, int] = {}
    for i, cell in enumerate(header):
        name = " ".join(str(cell).split()).lower()
        column = HEADER_COLUMNS.get(name) or (name if name in HEADER_COLUMNS.values() else None)
        if column is not None and column not in positions:
            positions[column] = i
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        expected = {v: k for k, v in HEADER_COLUMNS.items()}
        raise PlanSheetError(
            "the plan sheet's header lacks "
            + ", ".join(f"'{expected[c].title()}' ({c})" for c in missing)
            + f"; header found: {[str(c) for c in header]}"
        )
    return positions


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _serial(value: Any) -> date | None:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return SERIAL_EPOCH + timedelta(days=int(value))
    return None


def parse_month(value: Any) -> date | None:
    if (serial := _serial(value)) is not None:
        return serial.replace(day=1) if serial.day == 1 else None
    m = MONTH.fullmatch(_text(value))
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return date(int(m.group(1)), int(m.group(2)), 1)


def parse_date(value: Any) -> date | None:
    if (serial := _serial(value)) is not None:
        return serial
    try:
        return date.fromisoformat(_text(value))
    except ValueError:
        return None


def parse_amount(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    text = _text(value).replace(",", "").replace("$", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def shape(cells: Sequence[Any], columns: dict[str, int], sheet_row: int) -> tuple[dict[str, Any], list[str]]:
    """The raw row of one sheet row, and the reasons it breaks the plan's rules (none: a good row)."""
    cell = {c: (cells[i] if i < len(cells) else None) for c, i in columns.items()}
    reasons: list[str] = []
    version = _text(cell["plan_version"])
    if not VERSION.fullmatch(version):
        reasons.append(f"plan_version {version!r} is not budget_YYYY or reforecast_YYYY_qN")
    month = parse_month(cell["month"])
    if month is None:
        reasons.append(f"month {cell['month']!r} does not parse (expected YYYY-MM)")
    channel = _text(cell["channel"]).lower()
    if channel not in CHANNELS:
        reasons.append(f"unknown channel {cell['channel']!r} (expected one of {', '.join(CHANNELS)})")
    territory = _text(cell["territory"]) or None
    if channel == "b2b" and territory not in TERRITORIES:
        reasons.append(f"b2b row with territory {territory!r} (expected one of {', '.join(TERRITORIES)})")
    elif channel in CHANNELS and channel != "b2b" and territory is not None:
        reasons.append(f"{channel} row with a territory ({territory!r}): only b2b is planned by territory")
    amount = parse_amount(cell["net_revenue_usd"])
    if amount is None:
        reasons.append(f"net_revenue_usd {cell['net_revenue_usd']!r} is not a number")
    elif amount < 0:
        reasons.append(f"net_revenue_usd {amount} is negative")
    published = parse_date(cell["published_date"])
    if published is None:
        reasons.append(f"published_date {cell['published_date']!r} does not parse (expected YYYY-MM-DD)")
    row = {
        "plan_version": version,
        "month": month,
        "channel": channel,
        "territory": territory,
        "net_revenue_usd": amount.quantize(CENT) if amount is not None else None,
        "published_date": published,
        "notes": _text(cell.get("notes")) or None,
        "sheet_row": sheet_row,
    }
    row["row_key"] = "|".join(str(row[k] or "") for k in KEY_COLUMNS)
    return row, reasons


def split_rows(
    rows: Iterable[tuple[int, Sequence[Any]]], columns: dict[str, int], where: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Good raw rows and quarantine records of (sheet row number, cells) pairs; blank rows are skipped."""
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    first_seen: dict[str, int] = {}
    now = datetime.now(UTC)
    for number, cells in rows:
        if not any(_text(c) for c in cells):
            continue
        row, reasons = shape(cells, columns, number)
        if not reasons and row["row_key"] in first_seen:
            reasons.append(
                f"duplicate key (plan_version, month, channel, territory) = {row['row_key']!r} of row "
                f"{first_seen[row['row_key']]}: the first occurrence is kept"
            )
        if reasons:
            payload = {name: cells[i] if i < len(cells) else None for name, i in columns.items()}
            bad.append(
                {
                    "source": "plan",
                    "resource": "targets",
                    "record_id": f"{where}{number}",
                    "reason": "; ".join(reasons),
                    "payload": json.dumps(payload, default=str, sort_keys=True),
                    "detected_at": now,
                }
            )
        else:
            first_seen[row["row_key"]] = number
            good.append(row)
    return good, bad
