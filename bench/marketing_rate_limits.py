"""How the marketing sources use their vendors' real rate limits: a full load of each under ``rate_limits="real"``.

For each source (Google Ads, Meta, Amazon Ads, GA4) the sandbox is started with the vendors' published limits
(``real``) and the production path runs, ``load(key)`` into a temporary warehouse (pacer, retries, dlt), with the
source's own default pacing (the demo env's pacing overrides are removed). The sandbox records every request of the
source's vendor server side (arrival time, rate-limit bucket, status), so a 429 the client never reports still counts.

Measured side by side in one run, per source:

- the requests per bucket and the minimum time the real limits allow for them: per token bucket
  ``max(0, (requests − burst) / refill)``, the largest over the buckets (they refill at the same time);
- efficiency = that minimum ÷ the actual span (first to last request). Goal ≥ 0.9 where the limit binds. When the
  load needs no more requests than a burst allows (Google Ads: one stream per window; GA4's and Meta's quotas are
  budgets of tokens/calls per hour far above a full load), the limit never binds and the span is the vendor's own
  latency (report processing), not pacing: shown as "not rate-bound";
- 429s (and Meta's throttling answers, code 80000 / HTTP 400 with a throttle body) received. Goal 0.

The Shopify source (orders, customers, products and abandoned checkouts under one leaky bucket) has its own bench,
``bench/ingestion_rate_limits.py``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from types import ModuleType

from bench.recording import RecordingApp
from ingestion.pipelines import load
from sandbox import amazon_ads_api, ga4_api, meta_api
from sandbox.connect import sandbox_env
from sandbox.server import SandboxApp, SandboxServer
from sandbox.world import WorldConfig

try:  # the Google Ads sandbox (added with its source)
    from sandbox import google_ads_api
except ImportError:  # pragma: no cover
    google_ads_api = None  # type: ignore[assignment]

# source key -> the vendor module whose requests it makes
SOURCE_VENDORS: dict[str, ModuleType] = {
    "meta_ads": meta_api,
    "amazon_ads": amazon_ads_api,
    "google_analytics": ga4_api,
    **({"google_ads": google_ads_api} if google_ads_api is not None else {}),
}


def minimum_span(app: SandboxApp, requests: Counter[str]) -> tuple[float, list[str]]:
    """The least time the real token buckets allow for these requests per bucket, and how each bucket binds."""
    worst, notes = 0.0, []
    for bucket, n in sorted(requests.items()):
        state = app.limiter.bucket(bucket)
        if state is None or state.capacity >= 100_000:  # OFF_LIMIT: the vendor limits by a quota of its own
            notes.append(f"{bucket}: {n} requests, no request-count limit (a quota of its own)")
            continue
        capacity, refill = state.capacity, state.refill_per_s
        need = max(0.0, (n - capacity) / refill) if refill else 0.0
        worst = max(worst, need)
        notes.append(f"{bucket}: {n} requests, burst {capacity:g}, refill {refill:g}/s -> at least {need:.1f} s")
    return worst, notes


def bench_source(key: str, config: WorldConfig) -> dict[str, object]:
    vendor = SOURCE_VENDORS[key]
    app = RecordingApp(config, rate_limits="real")
    with SandboxServer(app, port=0) as server, tempfile.TemporaryDirectory(prefix=f"bench_{key}_") as tmp:
        env = sandbox_env(server.url)
        prefix = f"SOURCES__{key.upper()}__"
        # the source's own pacing (its defaults are the vendor's real tier), not the demo env's faster overrides
        env = {
            k: v
            for k, v in env.items()
            if not (k.startswith(prefix) and k.removeprefix(prefix).endswith(("_PER_S", "POLL_INTERVAL_S")))
        }
        env[f"{prefix}END_DATE"] = config.as_of.isoformat()
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            started = time.perf_counter()
            result = load(key, duckdb_path=Path(tmp) / "wh.duckdb")
            run_s = time.perf_counter() - started
        finally:
            os.environ.clear()
            os.environ.update(saved)
    mine = sorted(s for s in app.seen if s.vendor == vendor.NAME)
    per_bucket = Counter(s.bucket for s in mine)
    span = mine[-1].arrived - mine[0].arrived if len(mine) > 1 else 0.0
    need, notes = minimum_span(app, per_bucket)
    return {
        "source": key,
        "rows": sum(n for t, n in result.rows_loaded.items() if not t.startswith("_dlt")),
        "requests": len(mine),
        "statuses": Counter(s.status for s in mine),
        "throttled": sum(1 for s in mine if s.throttled),
        "span_s": span,
        "load_s": run_s,
        "minimum_s": need,
        "notes": notes,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 10, 31))
    p.add_argument("--sources", default=",".join(SOURCE_VENDORS), help="comma-separated source keys")
    args = p.parse_args()
    config = WorldConfig(seed=args.seed, scale=args.scale, as_of=args.as_of)
    print(f"world seed={config.seed} scale={config.scale} as_of={config.as_of}; rate limits: real")
    print()
    header = f"{'source':<18}{'rows':>8}{'requests':>10}{'429s':>6}{'span s':>9}{'minimum s':>11}{'efficiency':>12}"
    results = [bench_source(k.strip(), config) for k in args.sources.split(",") if k.strip()]
    print(header)
    verdicts = []
    for r in results:
        bound = r["minimum_s"] > 0
        eff = r["minimum_s"] / r["span_s"] if bound and r["span_s"] else None
        shown = f"{eff:.3f}" if eff is not None else "not bound"
        print(
            f"{r['source']:<18}{r['rows']:>8}{r['requests']:>10}{r['throttled']:>6}{r['span_s']:>9.1f}"
            f"{r['minimum_s']:>11.1f}{shown:>12}"
        )
        verdicts.append((r["source"], eff, r["throttled"]))
    print()
    for r in results:
        print(f"{r['source']}: load {r['load_s']:.1f} s; statuses {dict(r['statuses'])}")
        for note in r["notes"]:
            print(f"  {note}")
    print()
    for source, eff, throttled in verdicts:
        ok = (eff is None or eff >= 0.9) and throttled == 0
        print(
            f"{source:<18} efficiency {'n/a (limit never binds)' if eff is None else f'{eff:.3f}'} (goal >= 0.9), "
            f"429s {throttled} (goal 0): {'ok' if ok else 'MISSED'}"
        )
    print()
    print("command: cd /work/main && PYTHONPATH=. .venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
