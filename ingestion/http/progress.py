"""Progress of a long load: pages, rows and rate per resource, logged every few seconds and at the end."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("salesdw.ingestion")


class Progress:
    def __init__(self, source: str, resource: str, every_s: float = 5.0) -> None:
        self.name = f"{source}/{resource}"
        self.every_s = every_s
        self.pages = self.rows = 0
        self.started = self.last = time.monotonic()

    def page(self, rows: int) -> None:
        self.pages += 1
        self.rows += rows
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            log.info("%s: %d pages, %d rows, %.0f rows/s", self.name, self.pages, self.rows, self._rate(now))

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
