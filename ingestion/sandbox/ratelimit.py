"""Token buckets for the sandbox's rate-limit modes (DESIGN §4: real, demo, off)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

RATE_LIMIT_MODES = ("real", "demo", "off")

# A limit is (capacity, refill per second). Each vendor module declares LIMITS = {bucket: {"real": .., "demo": ..}}:
# real = the vendor's published limits; demo = the same buckets and headers, sized so a scale-1 world
# loads in minutes; off = no limits.
Limit = tuple[float, float]


@dataclass
class TokenBucket:
    capacity: float
    refill_per_s: float
    tokens: float = field(init=False)
    stamp: float = field(init=False, default_factory=time.monotonic)
    lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    def take(self) -> tuple[bool, float]:
        """Take one token: (allowed, seconds until a token is available)."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.refill_per_s)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True, 0.0
            return False, (1 - self.tokens) / self.refill_per_s

    @property
    def used(self) -> int:
        """Requests currently in the bucket, as Shopify's ``n/40`` call-limit header reports it."""
        with self.lock:
            now = time.monotonic()
            tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.refill_per_s)
            return int(self.capacity - tokens)


class RateLimiter:
    def __init__(self, mode: str, limits: dict[str, dict[str, Limit]]) -> None:
        if mode not in RATE_LIMIT_MODES:
            raise ValueError(f"rate-limit mode must be one of {RATE_LIMIT_MODES}, not {mode!r}")
        self.mode = mode
        self.buckets = {name: TokenBucket(*by_mode[mode]) for name, by_mode in limits.items() if mode != "off"}

    def take(self, bucket: str) -> tuple[bool, float]:
        if self.mode == "off":
            return True, 0.0
        return self.buckets[bucket].take()

    def bucket(self, name: str) -> TokenBucket | None:
        return self.buckets.get(name)
