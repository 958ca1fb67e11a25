"""Token buckets for the sandbox's rate-limit modes (DESIGN §4: real, demo, off)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

RATE_LIMIT_MODES = ("real", "demo", "off")

# (capacity, refill per second) per vendor bucket as published; demo scales the rate up.
REAL_LIMITS = {
    "shopify": (40, 2.0),  # REST Admin API leaky bucket: 40 requests, leaks 2/s
    "hubspot": (100, 10.0),  # 100 requests per rolling 10 s
    "amazon.getOrders": (20, 0.0167),
    "amazon.getOrderItems": (30, 0.5),
    "fx": (1000, 100.0),
}
# demo: the same buckets and headers, sized so a scale-1 world loads in minutes, not days
DEMO_LIMITS = {
    "shopify": (400, 200.0),
    "hubspot": (1000, 100.0),
    "amazon.getOrders": (200, 100.0),
    "amazon.getOrderItems": (1000, 1000.0),
    "fx": (1000, 100.0),
}


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
    def __init__(self, mode: str) -> None:
        if mode not in RATE_LIMIT_MODES:
            raise ValueError(f"rate-limit mode must be one of {RATE_LIMIT_MODES}, not {mode!r}")
        self.mode = mode
        limits = DEMO_LIMITS if mode == "demo" else REAL_LIMITS
        self.buckets = {name: TokenBucket(cap, rate) for name, (cap, rate) in limits.items()}

    def take(self, bucket: str) -> tuple[bool, float]:
        if self.mode == "off":
            return True, 0.0
        return self.buckets[bucket].take()
