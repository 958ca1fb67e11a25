"""Client-side pacing: use the rate a vendor allows without tripping its 429s.

A pacer is a token bucket on our side. It starts from the vendor's published limit and then follows
what the vendor's response headers announce (bucket size, refill rate, and for Shopify/HubSpot the
requests already counted against us), so the same code runs at the real limits, at the sandbox's
demo limits, or unthrottled.
"""

from __future__ import annotations

import threading
import time
from collections import deque
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


@dataclass
class RetryAfterPacer(Pacer):
    """A :class:`Pacer` that learns the rate from ``Retry-After``: for a vendor that announces no limits and answers
    an empty bucket with a 429 and ``Retry-After`` only (Amazon Ads reporting).

    Until its first 429 it paces at ``refill_per_s``, which may be far faster than the vendor's tier (the demo
    rates). A plain :class:`Pacer` forgets a 429 at once: it refills at that rate while the request waits out
    ``Retry-After`` and spends its whole burst again, each request of which the vendor refuses. This one asks
    whether its own pace explains the 429: replayed through a bucket of ``capacity`` refilling one token per
    ``Retry-After``, the requests served since the last 429 (whose bucket is taken as empty then) leave it empty
    now, and no replay of all the requests kept (from a full bucket) has that bucket refuse one that was served.
    If so, the vendor's rate is at most ``1 / Retry-After``, and the pacer keeps to it from then on (the slowest
    rate so learned, never faster than ``refill_per_s``), from an empty bucket. A 429 its pace cannot explain (the
    bucket still held tokens, or served more than that rate allows: a transient throttle, another client) only
    empties the bucket, as :class:`Pacer` does.
    """

    history: int = 1000  # served requests kept for the replay (older ones: the replay starts from a full bucket)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.events: deque[tuple[float, bool]] = deque()  # (sent at, served: False for a 429), oldest first
        self.since = self.stamp  # the replay starts here, from a full bucket
        self.learned: float | None = None  # the rate a 429 taught (requests per second)
        self.local = threading.local()  # the request of this thread: sent at, Retry-After of its answer

    def wait(self) -> None:
        super().wait()
        self.local.sent = time.monotonic()
        self.local.retry_after = None

    def observe(self, headers: Mapping[str, str]) -> None:
        from ingestion.http.session import parse_retry_after  # the session imports this module

        super().observe(headers)
        sent = getattr(self.local, "sent", None)
        self.local.retry_after = parse_retry_after(headers.get("Retry-After"))
        if sent is None:
            return
        with self.lock:  # served, unless throttled() says otherwise
            self.events.append((sent, True))
            if len(self.events) > self.history:
                self.since = self.events.popleft()[0]

    def explains(self, rate: float, at: float) -> bool:
        """Whether a bucket of ``capacity`` refilling at ``rate`` is empty at ``at`` given the requests kept."""
        full = since_429 = self.capacity  # from a full bucket; since the last 429: empty then
        t = self.since
        for sent, served in self.events:
            full = min(self.capacity, full + (sent - t) * rate)
            since_429 = min(self.capacity, since_429 + (sent - t) * rate)
            t = sent
            if served:
                full, since_429 = full - 1, since_429 - 1
                if full < -0.5:  # even a full bucket of that rate would have refused it: the vendor is faster
                    return False
            else:
                since_429 = min(since_429, 0.0)
        return min(self.capacity, since_429 + (at - t) * rate) < 1

    def throttled(self) -> None:
        sent = getattr(self.local, "sent", None)
        retry_after = getattr(self.local, "retry_after", None)
        with self.lock:
            if sent is not None and self.events and (sent, True) in self.events:
                self.events.remove((sent, True))  # refused, not served
            at = sent if sent is not None else time.monotonic()
            if retry_after and retry_after > 0 and self.explains(1.0 / retry_after, at):
                self.learned = min(self.learned or float("inf"), 1.0 / retry_after)
                self.refill_per_s = min(self.refill_per_s, self.learned)
            if sent is not None:
                self.events.append((sent, False))
        super().throttled()


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
