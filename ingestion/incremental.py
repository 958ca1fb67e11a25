"""Update-time cursors kept in dlt resource state: compared as instants, not strings, with a lookback.

Vendors write timestamps with different UTC offsets (Shopify: the shop's local offset), so a
lexicographic ``max`` over strings is wrong. The cursor is stored as UTC and committed by dlt
together with the load package, so a run killed mid-way resumes from the last committed load.
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
        self.state = dlt.current.resource_state(resource) if resource else dlt.current.resource_state()
        stored = self.state.get(key)
        self.previous = parse_instant(stored) if stored else None
        self.start = (self.previous - lookback) if self.previous else parse_instant(initial)
        self.max_seen = self.previous

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


def incremental_pages(
    cursor: UpdateCursor,
    pages: Iterable[list[dict[str, Any]]],
    changed_at: Callable[[dict[str, Any]], str | datetime | None],
    contract: Contract | None = None,
    rows: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> Iterator[Any]:
    """The incremental loop every source runs: each record of each page moves the cursor (``changed_at``),
    the page is checked against its contract (broken records go to quarantine in the same load), the good
    records are shaped into rows (``rows``, default as they are) and yielded; the cursor commits only after
    the last page, so a run that fails half-way re-reads its whole window next time."""
    for page in pages:
        if not page:  # a source waiting for the vendor (a bulk job) hands control back to dlt's round robin
            yield page
            continue
        for record in page:
            cursor.observe(changed_at(record))
        yield from checked(contract, page, rows)
    cursor.commit()
