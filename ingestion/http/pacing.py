"""Client-side pacing: use the rate a vendor allows without tripping its 429s.

A pacer is a token bucket on our side. It starts from the vendor's published limit and then follows
what the vendor's response headers announce (bucket size, refill rate, and for Shopify/HubSpot the
requests already counted against us), so the same code runs at the real limits, at the sandbox's
demo limits, or unthrottled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# What a vendor's headers tell: capacity, refill per second, and tokens left (None when unknown). Each vendor's
# reader lives with its source (ingestion/sources/<vendor>/settings.py: rate_limit_reading).
Reading = tuple[float | None, float | None, float | None]


def no_reading(headers: Mapping[str, str]) -> Reading:
    return None, None, None


@dataclass
class Pacer:
    """Waits before each request until the bucket has a token; learns the bucket from response headers.

    Until the vendor has shown a rate-limit header or a 429 the pacer does not hold requests back (an
    unthrottled endpoint runs at full speed); from then on it paces at the announced (or published) rate.
    ``eager``: pace at the published rate from the first request, for a vendor that announces its limits in no
    header (only a 429 would tell, and the goal is to never get one).
    """

    capacity: float
    refill_per_s: float
    read_headers: Callable[[Mapping[str, str]], Reading] = no_reading
    safety: float = 1.0  # tokens kept in reserve (others may share the account's bucket)
    eager: bool = False

    def __post_init__(self) -> None:
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self.lock = threading.Lock()
        self.waited_s = 0.0
        self.active = self.eager

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.refill_per_s)
        self.stamp = now

    def wait(self) -> None:
        if not self.active:
            return
        with self.lock:
            self._refill(time.monotonic())
            need = 1 + self.safety - self.tokens
            delay = need / self.refill_per_s if need > 0 and 0 < self.refill_per_s < float("inf") else 0.0
            if delay > 0:
                time.sleep(delay)
                self.waited_s += delay
                self._refill(time.monotonic())
            self.tokens -= 1

    def delay(self) -> float:
        """Seconds until :meth:`wait` would let a request through at once (0: now), without taking a token."""
        if not self.active:
            return 0.0
        with self.lock:
            self._refill(time.monotonic())
            need = 1 + self.safety - self.tokens
            return need / self.refill_per_s if need > 0 and 0 < self.refill_per_s < float("inf") else 0.0

    def observe(self, headers: Mapping[str, str]) -> None:
        capacity, rate, left = self.read_headers(headers)
        if capacity is None and rate is None and left is None:
            return
        with self.lock:
            if not self.active:
                self.active, self.stamp = True, time.monotonic()
            if capacity:
                self.capacity = capacity
            if rate:
                self.refill_per_s = rate
            if left is not None:  # the vendor's count wins: it includes requests we did not see
                self.tokens = min(self.tokens, left)

    def throttled(self) -> None:
        """A 429 means the bucket is empty whatever we believed."""
        with self.lock:
            self.active = True
            self.tokens = min(self.tokens, 0.0)
            self.stamp = time.monotonic()


def unlimited() -> Pacer:
    return Pacer(capacity=float("inf"), refill_per_s=float("inf"))


class CostPacer:
    """Pacing for a calculated-cost API (Shopify GraphQL): waits until the bucket holds a query's cost.

    The vendor reports its bucket in every response (``maximumAvailable``, ``currentlyAvailable``, ``restoreRate``);
    between responses the pacer restores points at the announced rate. ``reserve``: points left untouched (another
    app's share never counts against ours on Shopify, but a concurrent client of the same app does).
    """

    def __init__(self, capacity: float = 2000.0, restore_per_s: float = 100.0, reserve: float = 0.0) -> None:
        self.capacity, self.restore_per_s, self.reserve = capacity, restore_per_s, reserve
        self.available = capacity
        self.stamp = time.monotonic()
        self.lock = threading.Lock()
        self.waited_s = 0.0
        self.known = False  # the vendor has reported its bucket

    def _level(self, now: float) -> float:
        return min(self.capacity, self.available + (now - self.stamp) * self.restore_per_s)

    def wait(self, cost: float) -> None:
        """Before a query expected to cost ``cost`` points (its requested cost: what the bucket must hold)."""
        with self.lock:
            now = time.monotonic()
            need = min(cost, self.capacity) + self.reserve - self._level(now)
            if need > 0 and self.restore_per_s > 0:
                delay = need / self.restore_per_s
                time.sleep(delay)
                self.waited_s += delay
            now = time.monotonic()
            self.available, self.stamp = self._level(now) - cost, now

    def observe(self, status: Mapping[str, float] | None) -> None:
        """The ``throttleStatus`` of a response: the vendor's count wins."""
        if not status:
            return
        with self.lock:
            self.capacity = float(status.get("maximumAvailable") or self.capacity)
            self.restore_per_s = float(status.get("restoreRate") or self.restore_per_s)
            if status.get("currentlyAvailable") is not None:
                self.available, self.stamp = float(status["currentlyAvailable"]), time.monotonic()
            self.known = True
