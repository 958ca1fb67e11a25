"""Rate limiters for the sandbox's rate-limit modes (docs/architecture.md: API contracts: real, demo, off).

Two policies, both thread-safe (the server is a ``ThreadingHTTPServer``):

- ``token_bucket`` (Shopify's leaky bucket, Amazon SP-API's per-operation token buckets): ``capacity``
  requests of burst, refilled (leaked) at ``refill_per_s``.
- ``rolling`` (HubSpot's ``TEN_SECONDLY_ROLLING``): at most ``capacity`` requests in any window of
  ``capacity / refill_per_s`` seconds (100 requests per 10 s). A token bucket of the same size would
  let a client burst 100 and then keep going at 10/s, i.e. ~200 requests in the first 10 s, which the
  real HubSpot answers with 429s.

A client that stays under the published rate never gets a 429 from either; one that exceeds it does.
Both expose ``capacity``, ``refill_per_s`` and ``used`` (requests currently counted against the
client), which the vendor modules turn into their rate-limit headers.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

RATE_LIMIT_MODES = ("real", "demo", "off")
POLICIES = ("token_bucket", "rolling")

# A limit is (capacity, refill per second). Each vendor module declares LIMITS = {bucket: {"real": .., "demo": ..}}:
# real = the vendor's published limits; demo = the same buckets and headers, sized so a scale-1 world
# loads in minutes; off = limits that never bite (OFF_LIMIT, an Unlimited bucket), still announced in the headers
# as the real APIs always send them. An optional "policy" entry ("token_bucket" default, or "rolling")
# picks the limiter; the server also accepts a per-bucket policy mapping (see RateLimiter).
Limit = tuple[float, float]
Clock = Callable[[], float]
# "off": a bucket of 100,000 requests refilled at 100,000/s, never used: any realistic client pacing itself from
# the headers (Shopify "0/100000", HubSpot Max 100000 per 10 s, Amazon 100000/s) never waits.
OFF_LIMIT: Limit = (100_000, 100_000.0)


@dataclass
class TokenBucket:
    capacity: float
    refill_per_s: float
    clock: Clock = field(default=time.monotonic, repr=False)
    tokens: float = field(init=False)
    stamp: float = field(init=False)
    lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity
        self.stamp = self.clock()

    def _level(self, now: float) -> float:
        return min(self.capacity, self.tokens + (now - self.stamp) * self.refill_per_s)

    def take(self) -> tuple[bool, float]:
        """Take one token: (allowed, seconds until a token is available)."""
        with self.lock:
            now = self.clock()
            self.tokens = self._level(now)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True, 0.0
            return False, (1 - self.tokens) / self.refill_per_s if self.refill_per_s > 0 else math.inf

    def take_amount(self, amount: float) -> tuple[bool, float]:
        """Take ``amount`` tokens at once (a cost-based bucket: Shopify's GraphQL points), or none of them."""
        with self.lock:
            now = self.clock()
            self.tokens = self._level(now)
            self.stamp = now
            if self.tokens >= amount:
                self.tokens -= amount
                return True, 0.0
            return False, (amount - self.tokens) / self.refill_per_s if self.refill_per_s > 0 else math.inf

    def give(self, amount: float) -> None:
        """Give back tokens taken but not used (a query that cost less than it requested)."""
        with self.lock:
            self.tokens = min(self.capacity, self._level(self.clock()) + amount)
            self.stamp = self.clock()

    def level(self) -> float:
        with self.lock:
            return self._level(self.clock())

    def drain(self) -> None:
        """Empty the bucket (a synthetic exhausted state, e.g. for the headers of an injected 429)."""
        with self.lock:
            self.tokens, self.stamp = 0.0, self.clock()

    @property
    def used(self) -> int:
        """Requests currently in the bucket, as Shopify's ``n/40`` call-limit header reports it.

        Rounded up: a bucket with less than one token left is full (``40/40``), as on a real 429.
        """
        with self.lock:
            level = self._level(self.clock())
        return min(int(self.capacity), max(0, math.ceil(self.capacity - level - 1e-9)))


@dataclass
class RollingWindow:
    """At most ``capacity`` requests in any window of ``capacity / refill_per_s`` seconds."""

    capacity: float
    refill_per_s: float
    clock: Clock = field(default=time.monotonic, repr=False)
    stamps: deque[float] = field(init=False, default_factory=deque, repr=False)
    lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)

    @property
    def window_s(self) -> float:
        return self.capacity / self.refill_per_s

    def _expire(self, now: float) -> None:
        while self.stamps and self.stamps[0] <= now - self.window_s:
            self.stamps.popleft()

    def take(self) -> tuple[bool, float]:
        with self.lock:
            now = self.clock()
            self._expire(now)
            if len(self.stamps) < self.capacity:
                self.stamps.append(now)
                return True, 0.0
            return False, max(0.0, self.stamps[0] + self.window_s - now)

    def drain(self) -> None:
        with self.lock:
            now = self.clock()
            self.stamps = deque([now] * int(self.capacity))

    @property
    def used(self) -> int:
        with self.lock:
            self._expire(self.clock())
            return len(self.stamps)


@dataclass
class Unlimited:
    """The ``off`` mode's limiter: every request allowed, nothing ever counted (``used`` is 0)."""

    capacity: float = OFF_LIMIT[0]
    refill_per_s: float = OFF_LIMIT[1]
    used: int = 0
    window_s: float = OFF_LIMIT[0] / OFF_LIMIT[1]

    def take(self) -> tuple[bool, float]:
        return True, 0.0

    def drain(self) -> None:
        """Never empty: "off" limits never bite."""


Limiter = TokenBucket | RollingWindow | Unlimited


def make_limiter(policy: str, capacity: float, refill_per_s: float, clock: Clock = time.monotonic) -> Limiter:
    if policy == "rolling":
        return RollingWindow(capacity, refill_per_s, clock)
    if policy == "token_bucket":
        return TokenBucket(capacity, refill_per_s, clock)
    raise ValueError(f"rate-limit policy must be one of {POLICIES}, not {policy!r}")


class RateLimiter:
    """One limiter per bucket for the chosen mode; ``policies`` maps bucket -> policy (default token bucket)."""

    def __init__(
        self,
        mode: str,
        limits: dict[str, dict[str, object]],
        policies: dict[str, str] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        if mode not in RATE_LIMIT_MODES:
            raise ValueError(f"rate-limit mode must be one of {RATE_LIMIT_MODES}, not {mode!r}")
        self.mode = mode
        self.limits = limits
        self.policies = {
            b: str(by_mode.get("policy") or (policies or {}).get(b) or "token_bucket") for b, by_mode in limits.items()
        }
        self.clock = clock
        self.buckets: dict[str, Limiter] = (
            {name: Unlimited() for name in limits}
            if mode == "off"
            else {
                name: make_limiter(self.policies[name], *by_mode[mode], clock=clock)  # type: ignore[misc]
                for name, by_mode in limits.items()
            }
        )

    def take(self, bucket: str) -> tuple[bool, float]:
        if self.mode == "off":
            return True, 0.0
        return self.buckets[bucket].take()

    def bucket(self, name: str) -> Limiter | None:
        return self.buckets.get(name)

    def exhausted(self, name: str) -> Limiter | None:
        """A fresh, empty limiter shaped like bucket ``name`` (headers of an injected 429); with limits off the
        bucket's never-empty Unlimited state (its headers are sent on every response); None for an unknown bucket."""
        if name not in self.limits:
            return None
        if self.mode == "off":
            return self.buckets[name]
        state = make_limiter(self.policies[name], *self.limits[name][self.mode], clock=self.clock)  # type: ignore[misc]
        state.drain()
        return state
