"""What a GA4 report row must satisfy before it enters ``raw_ga4.traffic_daily`` (else: quarantine, with the reason).

A row is flattened from the report by header name (``flatten``): the dimension values and metric values as GA4
sends them (strings), the property and the report's currency. Rules:

- ``date`` is a ``YYYYMMDD`` calendar date;
- no dimension is empty or ``(other)`` (GA4's row for everything past a report's cardinality limit has no key);
- ``sessions``, ``engaged_sessions``, ``ecommerce_purchases`` are whole numbers, not negative, and engaged sessions
  are at most the sessions;
- ``purchase_revenue`` is a number (read as Decimal, never float);
- the report's currency is a known ISO code.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ingestion.contracts import Check, Contract, currency_known
from ingestion.sources.google_analytics.settings import (
    CURRENCY_METRICS,
    DIMENSIONS,
    INTEGER_METRICS,
    KEY_COLUMNS,
    OTHER_ROW,
)

CENT = Decimal("0.01")


def parse_date(value: Any) -> date | None:
    text = str(value or "")
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def whole(value: Any) -> int | None:
    text = str(value if value is not None else "").strip()
    return int(text) if text.isdigit() else None


def amount(value: Any) -> Decimal | None:
    try:
        parsed = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return parsed if parsed.is_finite() else None


def _date(row: dict[str, Any]) -> str | None:
    return None if parse_date(row.get("date")) else f"date {row.get('date')!r} is not a YYYYMMDD date"


def _dimensions(row: dict[str, Any]) -> str | None:
    for column in DIMENSIONS.values():
        value = row.get(column)
        if value is None or not str(value).strip():
            return f"dimension {column} is empty"
        if value == OTHER_ROW:
            return f"dimension {column} is {OTHER_ROW!r}: GA4 grouped rows past the report's cardinality limit"
    return None


def _integers(row: dict[str, Any]) -> str | None:
    bad = [
        f"{column} {row.get(column)!r} is not a non-negative whole number"
        for column in INTEGER_METRICS.values()
        if whole(row.get(column)) is None
    ]
    if bad:
        return "; ".join(bad)
    if whole(row["engaged_sessions"]) > whole(row["sessions"]):  # type: ignore[operator]
        return f"engaged_sessions {row['engaged_sessions']} exceed sessions {row['sessions']}"
    return None


def _revenue(row: dict[str, Any]) -> str | None:
    for column in CURRENCY_METRICS.values():
        if amount(row.get(column)) is None:
            return f"{column} {row.get(column)!r} is not a number"
    return None


CHECKS: tuple[Check, ...] = (_date, _dimensions, _integers, _revenue, currency_known("currency_code"))


def traffic_contract() -> Contract:
    return Contract("google_analytics", "traffic_daily", "row_key", CHECKS)


def row_key(row: dict[str, Any]) -> str:
    return "|".join(str(row.get(c)) for c in KEY_COLUMNS)


def typed(row: dict[str, Any]) -> dict[str, Any]:
    """A good row as loaded: the date a date, counts integers, revenue Decimal to the cent."""
    out = dict(row)
    out["date"] = parse_date(row["date"])
    for column in INTEGER_METRICS.values():
        out[column] = whole(row[column])
    for column in CURRENCY_METRICS.values():
        out[column] = amount(row[column]).quantize(CENT, rounding=ROUND_HALF_UP)  # type: ignore[union-attr]
    return out
