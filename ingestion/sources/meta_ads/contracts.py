"""What a Meta insights row must satisfy before it enters ``raw_meta.campaign_insights`` (else: quarantine).

Checked on the row as Graph sends it (numbers as strings): a known ``account_currency``; ``spend`` a number in whole
cents, not negative; ``impressions`` and ``clicks`` whole numbers, not negative; every ``actions`` /
``action_values`` value a number; the key (account, campaign, day) present.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ingestion.contracts import Contract, currency_known

CENT = Decimal("0.01")


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _key_present(row: dict[str, Any]) -> str | None:
    missing = [k for k in ("account_id", "campaign_id", "date_start") if not row.get(k)]
    return f"missing {', '.join(missing)}" if missing else None


def _currency_present(row: dict[str, Any]) -> str | None:
    return None if row.get("account_currency") else "missing account_currency"


def _spend_valid(row: dict[str, Any]) -> str | None:
    spend = _number(row.get("spend"))
    if spend is None:
        return f"missing or non-numeric spend {row.get('spend')!r}"
    if spend < 0:
        return f"negative spend {row.get('spend')}"
    if spend != spend.quantize(CENT) or abs(spend) >= Decimal(10) ** 16:
        return f"spend {row.get('spend')} does not fit DECIMAL(18,2)"
    return None


def _counts_valid(row: dict[str, Any]) -> str | None:
    for name in ("impressions", "clicks"):
        value = _number(row.get(name, "0"))
        if value is None or value < 0 or value != value.to_integral_value():
            return f"{name} {row.get(name)!r} is not a whole number >= 0"
    return None


def _actions_valid(row: dict[str, Any]) -> str | None:
    for name in ("actions", "action_values"):
        for i, action in enumerate(row.get(name) or []):
            value = _number(action.get("value"))
            if not action.get("action_type") or value is None or value < 0:
                return f"{name}[{i}]: {action!r} is not an action type with a number >= 0"
    return None


def insights_contract() -> Contract:
    return Contract(
        "meta_ads",
        "campaign_insights",
        "insight_key",
        checks=(
            _key_present,
            _currency_present,
            currency_known("account_currency"),
            _spend_valid,
            _counts_valid,
            _actions_valid,
        ),
    )
