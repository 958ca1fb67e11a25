"""How close the Shopify REST source gets to the REST Admin API's real rate limit without tripping it.

This measures the REST source (``ingestion/sources/shopify/rest.py``, kept one release for comparison);
``load("shopify")`` now reads the GraphQL Admin API, whose bulk operations and cost bucket
``bench/shopify_graphql.py`` measures (it also times this REST load next to the GraphQL one).

Starts a sandbox with ``rate_limits="real"`` (Shopify's REST Admin leaky bucket: 40 requests, leaks 2/s,
one bucket per shop shared by every endpoint) and runs ``load("shopify", duckdb_path=tmp,
source=shopify_rest_source(...))``, the production path (pacer, retries, dlt), as a full load. The sandbox records every Shopify request it answers, with
its endpoint, status and arrival time (server side, so a 429 the client never reports is still counted);
the client's ``ResilientSession.stats`` are read alongside.

Measured side by side in one run:

- efficiency = theoretical minimum time ÷ actual time, both from the first to the last Shopify request
  the server saw. The minimum for N pages with a full bucket is (N − 40) / 2 s: 40 requests at once,
  then one per leak. Goal ≥ 0.9.
- 429s received (server side). Goal 0.
- requests made ÷ minimum pages needed: Σ over the endpoints the source read of ceil(records / page
  size), where a full load reads every record of the world (orders since the history start, all
  customers, all products, all abandoned checkouts). Goal ≤ 1.02.

The default world (scale 1.0, page size 250) is ~250 pages: ~105 s of paging at the limit.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

import ingestion.http.client
from bench.recording import RecordingApp
from ingestion.http.session import ResilientSession
from ingestion.pipelines import load
from ingestion.sources.shopify.rest import shopify_rest_source
from sandbox import shopify_api
from sandbox.connect import sandbox_env
from sandbox.server import SandboxServer
from sandbox.world import WorldConfig

# The sandbox's Shopify list endpoints by name; a full load reads every record of each it reads
RESOURCES = {
    r.name: r for r in (shopify_api.ORDERS, shopify_api.CUSTOMERS, shopify_api.PRODUCTS, shopify_api.CHECKOUTS)
}


SESSIONS: list[ResilientSession] = []


class RecordingSession(ResilientSession):
    """``ResilientSession`` that registers itself, so the bench can read its stats and pacer afterwards."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        SESSIONS.append(self)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0, help="world scale (1.0: ~40k orders, ~22k customers)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 10, 31))
    p.add_argument("--page-size", type=int, default=250, help="the REST source's page_size (1..250)")
    args = p.parse_args()

    config = WorldConfig(seed=args.seed, scale=args.scale, as_of=args.as_of)
    started = time.perf_counter()
    app = RecordingApp(config, rate_limits="real")
    capacity, leak = shopify_api.LIMITS["shopify"]["real"]
    records = {name: len(res.rows(app.world)) for name, res in RESOURCES.items()}
    print(
        f"world seed={config.seed} scale={config.scale} as_of={config.as_of}: "
        f"{', '.join(f'{n} {name}' for name, n in records.items())}; built in {time.perf_counter() - started:.1f}s"
    )

    ingestion.http.client.ResilientSession = RecordingSession  # type: ignore[misc]  # bench-only hook on the client
    with SandboxServer(app, port=0) as server, tempfile.TemporaryDirectory(prefix="bench_rl_") as tmp:
        os.environ.update(sandbox_env(server.url))
        source = shopify_rest_source(
            shop_url=server.url, access_token=shopify_api.DEMO_ACCESS_TOKEN, page_size=args.page_size
        )
        t = time.perf_counter()
        info = load("shopify", Path(tmp) / "wh.duckdb", source=source)
        run_s = time.perf_counter() - t
    ingestion.http.client.ResilientSession = ResilientSession  # type: ignore[misc]

    prefix = shopify_api.PREFIX + "/"  # (arrival, endpoint, status) of every Shopify request
    seen = sorted(
        (s.arrived, s.path[len(prefix) :].removesuffix(".json"), s.status)
        for s in app.seen
        if s.path.startswith(prefix)
    )
    hit = {e for _, e, _ in seen}
    endpoints = [e for e in RESOURCES if e in hit] + sorted(hit - set(RESOURCES))
    needed = {e: max(1, math.ceil(records[e] / args.page_size)) if e in RESOURCES else 0 for e in endpoints}
    min_pages = sum(needed.values())
    min_span = max(0.0, (min_pages - capacity) / leak)
    statuses = Counter(status for _, _, status in seen)
    requests_made = len(seen)
    span = seen[-1][0] - seen[0][0] if len(seen) > 1 else 0.0
    paced = [b[0] - a[0] for a, b in zip(seen[int(capacity) :], seen[int(capacity) + 1 :])]
    client: Counter[str] = Counter()
    for s in SESSIONS:
        client.update(s.stats)
    waited = sum({id(s.pacer): s.pacer.waited_s for s in SESSIONS}.values())  # the resources share one pacer
    rows = dict(info.pipeline.last_trace.last_normalize_info.row_counts)
    rows["checkouts"] = rows.get("abandoned_checkouts", 0)  # the endpoint's table has the resource's name
    steps = {s.step: (s.finished_at - s.started_at).total_seconds() for s in info.pipeline.last_trace.steps}

    print(
        f"the REST source (shopify_rest_source, kept one release); limit: real leaky bucket {int(capacity)} "
        f"requests, leaks {leak:g}/s; page size {args.page_size}"
    )
    print()
    print(
        f"{'endpoint':<12}{'records':>9}{'loaded':>9}{'pages needed':>14}{'requests':>10}{'200':>6}{'429':>6}"
        f"{'other':>7}"
    )
    for e in endpoints:
        mine = Counter(status for _, end, status in seen if end == e)
        other = sum(n for st, n in mine.items() if st not in (200, 429))
        print(
            f"{e:<12}{records.get(e, 0):>9}{rows.get(e, 0):>9}{needed[e]:>14}{sum(mine.values()):>10}"
            f"{mine.get(200, 0):>6}{mine.get(429, 0):>6}{other:>7}"
        )
    others = sum(n for st, n in statuses.items() if st not in (200, 429))
    print(
        f"{'all':<12}{sum(records[e] for e in endpoints if e in records):>9}"
        f"{sum(rows.get(e, 0) for e in endpoints):>9}{min_pages:>14}{requests_made:>10}{statuses.get(200, 0):>6}"
        f"{statuses.get(429, 0):>6}{others:>7}"
    )

    efficiency = min_span / span if span > 0 else float("nan")
    achieved = (requests_made - capacity) / span if span > 0 else float("nan")
    print()
    print(f"{'measure':<44}{'value':>16}{'goal':>10}")
    seen_by_client = f"{client['requests']}/{client['retries']}/{client['throttled']}"
    print(f"{'client: requests / retries / 429s seen':<44}{seen_by_client:>16}{'':>10}")
    print(f"{'client: time the pacer held requests (s)':<44}{waited:>16.1f}{'':>10}")
    print(f"{'paging time, first to last request (s)':<44}{span:>16.1f}{'':>10}")
    print(f"{f'minimum paging time ({min_pages} - {int(capacity)}) / {leak:g} (s)':<44}{min_span:>16.1f}{'':>10}")
    if len(paced) > 1:
        q = statistics.quantiles(paced, n=20, method="inclusive")
        gaps = f"{statistics.median(paced):.2f}/{q[-1]:.2f}/{max(paced):.2f}"
        print(f"{'gap after the burst p50 / p95 / max (s)':<44}{gaps:>16}{f'{1 / leak:.2f}':>10}")
    print(f"{'achieved rate after the burst (req/s)':<44}{achieved:>16.2f}{leak:>10.2f}")
    print(f"{'whole load (s)':<44}{run_s:>16.1f}{'':>10}")
    split = f"{steps.get('extract', 0):.0f}/{steps.get('normalize', 0):.0f}/{steps.get('load', 0):.0f}"
    print(f"{'  extract / normalize / load (s)':<44}{split:>16}{'':>10}")
    print()
    print(f"{'ratio':<44}{'value':>16}{'goal':>10}")
    verdict = lambda ok: "ok" if ok else "MISSED"
    print(
        f"{'efficiency: minimum time / actual time':<44}{efficiency:>16.3f}{'>= 0.9':>10}"
        f"{verdict(efficiency >= 0.9):>8}"
    )
    print(
        f"{'achieved rate / allowed rate':<44}{achieved / leak:>16.3f}{'>= 0.9':>10}"
        f"{verdict(achieved / leak >= 0.9):>8}"
    )
    print(
        f"{'429s received (server side)':<44}{statuses.get(429, 0):>16}{'0':>10}{verdict(statuses.get(429, 0) == 0):>8}"
    )
    ratio = requests_made / min_pages
    print(f"{'requests made / minimum pages':<44}{ratio:>16.3f}{'<= 1.02':>10}{verdict(ratio <= 1.02):>8}")
    print()
    print("command: cd /work/main && PYTHONPATH=. .venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
