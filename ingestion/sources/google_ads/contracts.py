"""What Google Ads rows must satisfy before they enter ``raw_google_ads`` (else: quarantine, with the reason).

Checked on the ``GoogleAdsRow`` as the API sent it (lowerCamelCase JSON, int64 as strings, doubles parsed as
Decimal): the account's currency is a known ISO code; ids are numbers; ``costMicros``, ``impressions`` and
``clicks`` are whole numbers that are not negative; ``conversions`` and ``conversionsValue`` are numbers that are
not negative and fit DECIMAL(18,6); ``segments.date`` is a date. The record id is ``<customer>:<ad group>:<date>``
(ad group stats) or ``<customer>:<campaign>`` (campaigns), kept in the row's ``recordKey``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ingestion.contracts import Check, Contract, currency_known, lookup

MICRO = Decimal("0.000001")


def _whole(path: str) -> Check:
    def check(record: dict[str, Any]) -> str | None:
        value = lookup(record, path)
        text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else None
        if text is None or not text.lstrip("-").isdigit():
            return f"{path} {value!r} is not a whole number"
        if int(text) < 0:
            return f"{path} {value!r} is negative"
        return None

    return check


def _number(path: str) -> Check:
    def check(record: dict[str, Any]) -> str | None:
        value = lookup(record, path)
        try:
            amount = Decimal(str(value)) if value is not None and not isinstance(value, bool) else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite():
            return f"{path} {value!r} is not a number"
        if amount < 0:
            return f"{path} {value!r} is negative"
        if amount != amount.quantize(MICRO) or abs(amount) >= Decimal(10) ** 12:
            return f"{path} {value!r} does not fit DECIMAL(18,6)"
        return None

    return check


def _id(path: str) -> Check:
    def check(record: dict[str, Any]) -> str | None:
        value = lookup(record, path)
        if not isinstance(value, str) or not value.isdigit():
            return f"{path} {value!r} is not a Google Ads id"
        return None

    return check


def _date(path: str) -> Check:
    def check(record: dict[str, Any]) -> str | None:
        value = lookup(record, path)
        try:
            date.fromisoformat(str(value))
        except ValueError:
            return f"{path} {value!r} is not a date (YYYY-MM-DD)"
        return None

    return check


def _currency_present(record: dict[str, Any]) -> str | None:
    return None if lookup(record, "customer.currencyCode") else "missing customer.currencyCode"


def ad_group_stats_contract() -> Contract:
    return Contract(
        "google_ads",
        "ad_group_stats",
        "recordKey",
        checks=(
            _currency_present,
            currency_known("customer.currencyCode"),
            _id("customer.id"),
            _id("campaign.id"),
            _id("adGroup.id"),
            _date("segments.date"),
            _whole("metrics.costMicros"),
            _whole("metrics.impressions"),
            _whole("metrics.clicks"),
            _number("metrics.conversions"),
            _number("metrics.conversionsValue"),
        ),
    )


def campaigns_contract() -> Contract:
    return Contract(
        "google_ads",
        "campaigns",
        "recordKey",
        checks=(
            _currency_present,
            currency_known("customer.currencyCode"),
            _id("customer.id"),
            _id("campaign.id"),
            _date("campaign.startDate"),
            _whole("campaignBudget.amountMicros"),
        ),
    )
