"""Progress of a long load: pages, rows and rate per resource, logged every few seconds and at the end; with the
share done and an ETA where the total is known (a bulk operation's root objects, a search's total)."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("salesdw.ingestion")


def eta_text(rows: int, total: int | None, rate: float) -> str:
    """', 40% of 10,000, ETA 12s' when the total is known and the rate is measurable, else ''."""
    if not total or total <= 0:
        return ""
    share = min(rows / total, 1.0)
    eta = f", ETA {max(total - rows, 0) / rate:.0f}s" if rate > 0 and rows < total else ""
    return f", {share:.0%} of {total:,}{eta}"


class Progress:
    def __init__(self, source: str, resource: str, every_s: float = 5.0, total: int | None = None) -> None:
        self.name = f"{source}/{resource}"
        self.every_s = every_s
        self.total = total
        self.pages = self.rows = 0
        self.started = self.last = time.monotonic()

    def page(self, rows: int) -> None:
        self.pages += 1
        self.rows += rows
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            rate = self._rate(now)
            log.info(
                "%s: %d pages, %d rows, %.0f rows/s%s",
                self.name,
                self.pages,
                self.rows,
                rate,
                eta_text(self.rows, self.total, rate),
            )

    def done(self) -> None:
        now = time.monotonic()
        log.info(
            "%s: done, %d pages, %d rows in %.1fs (%.0f rows/s)",
            self.name,
            self.pages,
            self.rows,
            now - self.started,
            self._rate(now),
        )

    def _rate(self, now: float) -> float:
        return self.rows / max(now - self.started, 1e-9)
