"""Record contracts: what a resource's records must satisfy before they enter the raw layer.

A record that breaks its contract is not loaded as data: it goes, in the same dlt load (so it is never
lost and never loaded twice), to the dataset's ``quarantine`` table with source, resource, record id,
reason and the payload as received; ``raw_quarantine.records`` unions them. Harmless drift (a number
sent as a numeric string) is coerced and counted; new fields are absorbed by dlt and reported from the
load's schema update.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import dlt

log = logging.getLogger("salesdw.ingestion")

# ISO 4217 codes the business can meet; anything else is a broken record, never a currency to convert.
KNOWN_CURRENCIES = frozenset(
    {
        "USD",
        "EUR",
        "GBP",
        "CAD",
        "AUD",
        "CHF",
        "JPY",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "CZK",
        "MXN",
        "NZD",
    }
)
QUARANTINE_TABLE = "quarantine"

Check = Callable[[dict[str, Any]], str | None]  # a reason when the record breaks the rule


def lookup(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def currency_known(path: str) -> Check:
    def check(record: dict[str, Any]) -> str | None:
        code = lookup(record, path)
        if code is not None and code not in KNOWN_CURRENCIES:
            return f"unknown currency code {code!r} in {path}"
        return None

    return check


def amount_present(path: str, when: Callable[[dict[str, Any]], bool] = lambda r: True) -> Check:
    def check(record: dict[str, Any]) -> str | None:
        if when(record) and _decimal(lookup(record, path)) is None:
            return f"missing or non-numeric amount in {path}"
        return None

    return check


def each(items_path: str, *checks: Check) -> Check:
    """Apply checks to every element of a nested list (line items, order items)."""

    def check(record: dict[str, Any]) -> str | None:
        for index, item in enumerate(lookup(record, items_path) or []):
            for inner in checks:
                reason = inner(item)
                if reason:
                    return f"{items_path}[{index}]: {reason}"
        return None

    return check


def quantity_positive(path: str) -> Check:
    def check(record: dict[str, Any]) -> str | None:
        value = _decimal(lookup(record, path))
        if value is None or value < 1 or value != value.to_integral_value():
            return f"quantity {lookup(record, path)!r} in {path} is not a positive whole number"
        return None

    return check


@dataclass
class Contract:
    source: str
    resource: str
    id_path: str
    checks: Sequence[Check]
    integer_fields: Sequence[str] = ()  # "line_items.quantity": numeric strings are coerced (drift)
    drift: Counter[str] = field(default_factory=Counter)

    def _coerce(self, record: dict[str, Any], *, apply: bool = True) -> bool:
        """Numeric strings of the integer fields made integers (``apply``); whether there were any."""
        found = False
        for dotted in self.integer_fields:
            container_path, _, name = dotted.rpartition(".")
            containers = lookup(record, container_path) if container_path else record
            for item in containers if isinstance(containers, list) else [containers]:
                value = item.get(name) if isinstance(item, dict) else None
                if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                    found = True
                    if apply:
                        item[name] = int(value)
                        self.drift[f"{dotted} sent as a string"] += 1
        return found

    def split(self, records: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        good, bad = [], []
        for record in records:
            # the record as received, for quarantine: taken before coercion changes it (only when it would)
            received = json.dumps(record, default=str, sort_keys=True) if self._coerce(record, apply=False) else None
            self._coerce(record)
            reasons = [r for r in (check(record) for check in self.checks) if r]
            if reasons:
                bad.append(
                    {
                        "source": self.source,
                        "resource": self.resource,
                        "record_id": str(lookup(record, self.id_path)),
                        "reason": "; ".join(reasons),
                        "payload": received or json.dumps(record, default=str, sort_keys=True),
                        "detected_at": datetime.now(UTC),
                    }
                )
            else:
                good.append(record)
        if bad:
            log.warning(
                "%s/%s: %d record(s) quarantined, e.g. %s: %s",
                self.source,
                self.resource,
                len(bad),
                bad[0]["record_id"],
                bad[0]["reason"],
            )
        return good, bad


def quarantined(rows: list[dict[str, Any]]) -> Any:
    """Rows for the dataset's quarantine table, merged so a record seen again is not counted twice."""
    return dlt.mark.with_hints(
        rows,
        dlt.mark.make_hints(
            table_name=QUARANTINE_TABLE,
            write_disposition="merge",
            primary_key=("resource", "record_id", "reason"),
            columns={"payload": {"data_type": "text"}, "detected_at": {"data_type": "timestamp"}},
        ),
        create_table_variant=True,
    )


def checked(
    contract: Contract | None,
    page: list[dict[str, Any]],
    rows: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
    on_good: Callable[[list[dict[str, Any]]], Any] | None = None,
) -> Iterable[Any]:
    """What a resource yields for one page: the good records (shaped into rows by ``rows``, default as they are),
    then the quarantined ones (if any); without a contract every record is good. ``on_good`` sees the good
    records before they are shaped."""
    good, bad = contract.split(page) if contract is not None else (page, [])
    if on_good is not None:
        on_good(good)
    shaped = rows(good) if rows else good
    if shaped:
        yield shaped
    if bad:
        yield quarantined(bad)
