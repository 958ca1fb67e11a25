"""Update-time cursors kept in dlt resource state: compared as instants, not strings, with a lookback.

Vendors write timestamps with different UTC offsets (Shopify: the shop's local offset), so a
lexicographic ``max`` over strings is wrong. The cursor is stored as UTC and committed by dlt
together with the load package, so a run killed mid-way resumes from the last committed load.

The lookback re-reads the window's last minutes on every run (late writes with an older update time are not
missed). A source that names its records' ids also keeps the versions (id, update time) it loaded within the
lookback: a re-read record whose update time is the one already loaded is the same version and is not loaded
again, so a run that finds nothing new writes nothing (and a source that can read a record two ways, such as
Amazon's order report and getOrders, does not replace a loaded order with the same order read the other way).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt

from ingestion.contracts import Contract, checked


def parse_instant(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def utc_iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class UpdateCursor:
    """Start of the next incremental window and the highest update time seen in this one."""

    def __init__(
        self, initial: str | datetime, lookback: timedelta, key: str = "max_updated_at", resource: str | None = None
    ) -> None:
        """``resource``: the dlt resource whose state holds the cursor, when it must be named (read from another
        resource's generator, or from code that runs before dlt sets the current resource)."""
        self.key = key
        self.lookback = lookback
        self.state = dlt.current.resource_state(resource) if resource else dlt.current.resource_state()
        stored = self.state.get(key)
        self.previous = parse_instant(stored) if stored else None
        self.start = (self.previous - lookback) if self.previous else parse_instant(initial)
        self.max_seen = self.previous
        self.versions: dict[str, str] = dict(self.state.get(f"{key}__versions") or {})
        self.skipped = 0

    def is_loaded(self, record_id: str, value: str | datetime | None) -> bool:
        """Whether this version of the record (its update time) was loaded by an earlier run's window."""
        return value is not None and self.versions.get(record_id) == utc_iso(parse_instant(value))

    def unloaded(
        self,
        records: list[dict[str, Any]],
        record_id: Callable[[dict[str, Any]], str],
        changed_at: Callable[[dict[str, Any]], str | datetime | None],
    ) -> list[dict[str, Any]]:
        """The records not loaded in this version already (counted in ``skipped`` when left out)."""
        fresh = [r for r in records if not self.is_loaded(record_id(r), changed_at(r))]
        self.skipped += len(records) - len(fresh)
        return fresh

    def remember(self, record_id: str, value: str | datetime | None) -> None:
        if value is not None:
            self.versions[record_id] = utc_iso(parse_instant(value))

    def observe(self, value: str | datetime | None) -> None:
        if value is None:
            return
        at = parse_instant(value)
        if self.max_seen is None or at > self.max_seen:
            self.max_seen = at

    def commit(self) -> None:
        """Call after the last page: the window is only advanced once it was read completely."""
        if self.max_seen is not None:
            self.state[self.key] = utc_iso(self.max_seen)
            if self.versions:  # only the versions the next run's lookback re-reads
                floor = self.max_seen - self.lookback
                self.state[f"{self.key}__versions"] = {
                    k: v for k, v in self.versions.items() if parse_instant(v) >= floor
                }


def incremental_pages(
    cursor: UpdateCursor,
    pages: Iterable[list[dict[str, Any]]],
    changed_at: Callable[[dict[str, Any]], str | datetime | None],
    contract: Contract | None = None,
    rows: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
    record_id: Callable[[dict[str, Any]], str] | None = None,
) -> Iterator[Any]:
    """The incremental loop every source runs: each record of each page moves the cursor (``changed_at``),
    the page is checked against its contract (broken records go to quarantine in the same load), the good
    records are shaped into rows (``rows``, default as they are) and yielded; the cursor commits only after
    the last page, so a run that fails half-way re-reads its whole window next time. With ``record_id``, a
    record the lookback re-read in the version already loaded is left out (module docstring)."""
    for page in pages:
        if not page:  # a source waiting for the vendor (a bulk job) hands control back to dlt's round robin
            yield page
            continue
        for record in page:
            cursor.observe(changed_at(record))
        on_good = None
        if record_id is not None:
            page = cursor.unloaded(page, record_id, changed_at)
            if not page:
                continue

            def on_good(good: list[dict[str, Any]], key: Callable[[dict[str, Any]], str] = record_id) -> None:
                for r in good:  # a quarantined record is read again until it passes
                    cursor.remember(key(r), changed_at(r))

        yield from checked(contract, page, rows, on_good)
    cursor.commit()
