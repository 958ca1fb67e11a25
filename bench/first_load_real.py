"""A first load of every source at the vendors' published rate limits, extrapolated to the default world.

For each of two small worlds (``--scales``, default 0.01 and 0.02), a sandbox runs with
``rate_limits="real"`` and records every request it answers, server side (``bench/recording.py``); the
sources are then loaded one after the other into an empty warehouse with ``load(key)``, the production path.
Per source the bench reports:

- requests made, per rate-limit bucket of the vendor (answers the limits refused, 429s, counted apart: a
  request refused is not a request the data needed);
- the minimum time the published limits allow for those requests. A token bucket of burst ``B`` refilling
  ``r`` a second serves ``n`` requests in no less than ``max(0, n − B) / r`` seconds; a rolling window of
  ``C`` requests per ``W`` seconds in ``max(0, ceil(n / C) − 1) · W``. The buckets of one vendor drain side by
  side, so the source's minimum is the largest of its buckets' minima. (Shopify's GraphQL cost bucket charges
  query points, not requests: its bulk operations are bound by the server's own work, so its minimum
  counts requests only and says so.)
- the request span (first to last request the server saw for the source) and the whole load's wall time.

Extrapolation to ``--target-scale`` (default 1.0, the default world), printed with its numbers: the
requests of each bucket are fitted as ``n(s) = a + b·s`` through the two measured scales (fixed requests,
such as one report per 30-day window or the token exchange, do not grow with the world; pages and items do),
evaluated at the target, and turned into that bucket's minimum as above. The estimated load time at the
target is ``max(T_fit, M_target · e)`` where ``T_fit`` is the wall time fitted the same way through the two
scales, ``M_target`` the source's minimum at the target and ``e = max(1, span / minimum)`` the efficiency
measured at the larger scale (1 when its minimum is under 10 s: too small to measure an efficiency on).

Runs at the published limits take real time (an Amazon ``getOrderItems`` call per order at 0.5/s makes the
first-wave source take ~8 minutes at scale 0.01); ``--sources`` picks a subset.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench.recording import RecordingApp
from ingestion.pipelines import SOURCES, load
from sandbox.connect import sandbox_env
from sandbox.server import VENDORS, SandboxServer
from sandbox.sim import DEFAULT_AS_OF
from sandbox.world import WorldConfig

# buckets whose limit is not a count of requests (the handler charges a cost itself)
COST_BUCKETS = {b for v in VENDORS for b in getattr(v, "SELF_LIMITED_BUCKETS", ())}
LIMITS = {b: lim for v in VENDORS for b, lim in v.LIMITS.items()}
POLICIES = {b: p for v in VENDORS for b, p in getattr(v, "LIMIT_POLICIES", {}).items()}
MIN_EFFICIENCY_BASE_S = 10.0


def bucket_minimum(bucket: str, n: float) -> float:
    """Seconds the published limit of ``bucket`` needs at least for ``n`` requests (0 for a cost bucket)."""
    if bucket in COST_BUCKETS or bucket not in LIMITS or n <= 0:
        return 0.0
    capacity, rate = LIMITS[bucket]["real"]  # type: ignore[misc]
    policy = LIMITS[bucket].get("policy") or POLICIES.get(bucket) or "token_bucket"
    if policy == "rolling":
        window_s = capacity / rate
        return max(0, math.ceil(n / capacity) - 1) * window_s
    return max(0.0, (n - capacity) / rate)


@dataclass
class Measured:
    source: str
    requests: Counter[str]  # bucket -> requests the server served (throttled answers not counted)
    throttled: int  # 429s (or a vendor's throttling body): requests the limits refused
    statuses: Counter[int]
    span_s: float
    wall_s: float
    rows: int

    @property
    def minimum_s(self) -> float:
        return max((bucket_minimum(b, n) for b, n in self.requests.items()), default=0.0)

    @property
    def limiting(self) -> str:
        return max(self.requests, key=lambda b: bucket_minimum(b, self.requests[b]), default="-")


def measure(config: WorldConfig, keys: list[str]) -> dict[str, Measured]:
    started = time.perf_counter()
    app = RecordingApp(config, rate_limits="real")
    print(
        f"\nworld seed={config.seed} scale={config.scale} as_of={config.as_of}: built in "
        f"{time.perf_counter() - started:.1f}s",
        flush=True,
    )
    out: dict[str, Measured] = {}
    with SandboxServer(app, port=0) as server, tempfile.TemporaryDirectory(prefix="bench_first_") as tmp:
        os.environ.update(sandbox_env(server.url))
        for key in keys:
            first = len(app.seen)
            t = time.perf_counter()
            result = load(key, duckdb_path=Path(tmp) / "wh.duckdb")
            wall = time.perf_counter() - t
            seen = app.seen[first:]
            span = seen[-1].arrived - seen[0].arrived if len(seen) > 1 else 0.0
            out[key] = Measured(
                key,
                Counter(s.bucket for s in seen if not s.throttled),
                sum(1 for s in seen if s.throttled),
                Counter(s.status for s in seen),
                span,
                wall,
                sum(result.rows_loaded.values()),
            )
            m = out[key]
            print(
                f"  {key:<17} {sum(m.requests.values()):>6} requests (+{m.throttled} throttled), {m.rows:>8} rows, span {span:8.1f}s, "
                f"wall {wall:8.1f}s, minimum {m.minimum_s:8.1f}s ({m.limiting})",
                flush=True,
            )
    return out


def fit(s1: float, y1: float, s2: float, y2: float, s: float) -> float:
    """The line through (s1, y1) and (s2, y2) at s, never below the larger measured value."""
    slope = (y2 - y1) / (s2 - s1)
    return max(y1 + slope * (s - s1), max(y1, y2) if s >= s2 else 0.0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scales", type=float, nargs=2, default=(0.01, 0.02), metavar=("S1", "S2"))
    p.add_argument("--target-scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF, help="default: the default world's")
    p.add_argument("--sources", nargs="*", default=list(SOURCES), choices=list(SOURCES))
    args = p.parse_args()
    s1, s2 = sorted(args.scales)
    target = args.target_scale

    runs = [measure(WorldConfig(seed=args.seed, scale=s, as_of=args.as_of), args.sources) for s in (s1, s2)]
    print()
    print(f"per source at scale {s2} (measured) and {target:g} (extrapolated)")
    header = (
        f"{'source':<17}{'requests':>9}{'minimum s':>10}{'span s':>9}{'wall s':>9}{'span/min':>9}  |"
        f"{'requests':>10}{'minimum h':>10}{'est. h':>8}  limiting bucket at target"
    )
    print(header)
    print("-" * len(header))
    total_est = total_min = 0.0
    verdicts = []
    for key in args.sources:
        a, b = runs[0][key], runs[1][key]
        buckets = set(a.requests) | set(b.requests)
        n_target = {k: fit(s1, a.requests[k], s2, b.requests[k], target) for k in buckets}
        min_target = max((bucket_minimum(k, n) for k, n in n_target.items()), default=0.0)
        limiting = max(n_target, key=lambda k: bucket_minimum(k, n_target[k]), default="-")
        efficiency = max(1.0, b.span_s / b.minimum_s) if b.minimum_s >= MIN_EFFICIENCY_BASE_S else 1.0
        wall_fit = fit(s1, a.wall_s, s2, b.wall_s, target)
        est = max(wall_fit, min_target * efficiency)
        total_est += est
        total_min += min_target
        ratio = f"{b.span_s / b.minimum_s:.2f}" if b.minimum_s >= MIN_EFFICIENCY_BASE_S else "-"
        cost = " (cost-limited: requests only)" if any(k in COST_BUCKETS for k in buckets) else ""
        print(
            f"{key:<17}{sum(b.requests.values()):>9}{b.minimum_s:>10.1f}{b.span_s:>9.1f}{b.wall_s:>9.1f}{ratio:>9}  |"
            f"{sum(n_target.values()):>10.0f}{min_target / 3600:>10.2f}{est / 3600:>8.2f}  {limiting}{cost}"
        )
        if b.minimum_s >= MIN_EFFICIENCY_BASE_S:
            verdicts.append((key, b.span_s / b.minimum_s))
        bad = {st: n for st, n in b.statuses.items() if st >= 400 and st != 429}
        if b.throttled:
            print(f"{'':<17}  throttled answers at scale {s2}: {b.throttled} (not counted in requests)")
        if bad:
            print(f"{'':<17}  error answers at scale {s2}: {dict(sorted(bad.items()))}")
    print("-" * len(header))
    print(f"{'all, one after another':<17}{'':>46}  |{'':>10}{total_min / 3600:>10.2f}{total_est / 3600:>8.2f}")
    print()
    print("formula: n_target = n1 + (n2 - n1) / (s2 - s1) * (target - s1) per bucket (never below n2);")
    print("         bucket minimum = max(0, n - burst) / rate (token bucket), (ceil(n / C) - 1) * W (rolling window);")
    print("         estimate = max(wall fitted the same way, max over buckets of the minimum * span/min at s2)")
    print(
        f"goal: all sources under 1 h in total at scale {target:g}: {'ok' if total_est < 3600 else 'MISSED'} "
        f"({total_est / 3600:.2f} h)"
    )
    for key, r in verdicts:
        print(f"goal: {key} request span within 1.2x of its minimum: {r:.2f} {'ok' if r <= 1.2 else 'MISSED'}")
    print()
    print("command: cd /work/main && PYTHONPATH=. .venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
