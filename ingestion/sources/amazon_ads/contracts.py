"""What a Sponsored Products report row must satisfy before it enters ``raw_amazon_ads.sp_campaign_days``.

A row (one campaign × day of a profile, as the gzipped report serves it, numbers parsed as Decimal) is checked with
the profile it was reported for: ``date`` an ISO date inside the report's window, ``campaignId`` a whole number,
``campaignBudgetCurrencyCode`` a known currency and the profile's own, ``cost`` and ``sales14d`` present, in whole
cents and not negative, ``impressions``, ``clicks``, ``purchases14d``, ``unitsSoldClicks14d`` whole numbers, not
negative. A broken row goes to ``raw_amazon_ads.quarantine`` (record id ``<profileId>:<campaignId>:<date>``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ingestion.contracts import Check, Contract, amount_present, currency_known

CENT = Decimal("0.01")
MONEY = ("cost", "sales14d")
COUNTS = ("impressions", "clicks", "purchases14d", "unitsSoldClicks14d")


def parse_day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def _date_in_window(row: dict[str, Any]) -> str | None:
    day = parse_day(row.get("date"))
    if day is None:
        return f"date {row.get('date')!r} is not an ISO date (YYYY-MM-DD)"
    start, end = parse_day(row.get("_windowStart")), parse_day(row.get("_windowEnd"))
    if start and end and not start <= day <= end:
        return f"date {day} is outside the report's window {start}..{end}"
    return None


def _campaign_id(row: dict[str, Any]) -> str | None:
    value = row.get("campaignId")
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        return f"campaignId {value!r} is not a whole number"
    return None


def _profile_currency(row: dict[str, Any]) -> str | None:
    code, expected = row.get("campaignBudgetCurrencyCode"), row.get("_profileCurrency")
    if code is None:
        return "missing campaignBudgetCurrencyCode"
    if expected and code != expected:
        return f"currency {code!r} is not the profile's currency {expected!r}"
    return None


def _money(name: str) -> Check:
    def check(row: dict[str, Any]) -> str | None:
        value = row.get(name)
        if not isinstance(value, int | Decimal) or isinstance(value, bool):
            return None  # amount_present reports it
        if value < 0:
            return f"{name} {value} is negative"
        if Decimal(value) != Decimal(value).quantize(CENT):
            return f"{name} {value} is not in whole cents"
        return None

    return check


def _count(name: str) -> Check:
    def check(row: dict[str, Any]) -> str | None:
        value = row.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"{name} {value!r} is not a whole number ≥ 0"
        return None

    return check


def sp_campaign_days_contract() -> Contract:
    return Contract(
        "amazon_ads",
        "sp_campaign_days",
        "_recordId",
        [
            _date_in_window,
            _campaign_id,
            currency_known("campaignBudgetCurrencyCode"),
            _profile_currency,
            *(amount_present(m) for m in MONEY),
            *(_money(m) for m in MONEY),
            *(_count(c) for c in COUNTS),
        ],
        integer_fields=COUNTS,
    )
