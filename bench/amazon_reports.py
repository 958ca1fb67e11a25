"""Amazon orders' first load at the published (real) rate limits, through the order report: requests per
SP-API operation, wall time, and the published-limit minimum of those requests.

For each operation bucket (burst, rate): max(0, (n − burst) / rate) seconds; the minimum is the max over buckets
plus one report's processing (REAL_QUEUE_S + its rows ÷ REAL_ROWS_PER_S, an assumption of the sandbox). The
orders resource alone (``amazon_source(...).with_resources("orders")``), a world of ``--scale`` at the default
as_of, history from 2024-01-01 (the part older than the reports' 730 days comes through getOrders + getOrderItems).

    PYTHONPATH=. .venv/bin/python bench/amazon_reports.py --scale 0.05
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from ingestion.pipelines import load
from ingestion.sources.amazon import amazon_source
from sandbox import amazon_api, amazon_reports
from sandbox.connect import sandbox_env
from sandbox.server import SandboxApp, SandboxServer
from sandbox.world import WorldConfig
from tests.helpers import environment


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--via", default="auto", choices=("auto", "reports", "orders_api"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("salesdw.sandbox").setLevel(logging.WARNING)
    app = SandboxApp(WorldConfig(scale=args.scale), rate_limits="real")
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    dispatch = app.dispatch

    def counted(req):  # type: ignore[no-untyped-def]
        for _, r in app.routes:
            if r.method == req.method and r.pattern.fullmatch(req.path):
                with lock:
                    counts[r.bucket] += 1
                break
        return dispatch(req)

    app.dispatch = counted  # type: ignore[method-assign]
    with SandboxServer(app, port=0) as server, tempfile.TemporaryDirectory() as tmp:
        with environment({**sandbox_env(server.url), "SOURCES__AMAZON__ORDERS_VIA": args.via}):
            started = time.monotonic()
            result = load(
                "amazon", duckdb_path=Path(tmp) / "wh.duckdb", source=amazon_source().with_resources("orders")
            )
            wall = time.monotonic() - started
        reports = amazon_reports.state(app).reports.values()
        rows = max((r.rows for r in reports), default=0)
    minimum, lines = 0.0, []
    for bucket, n in sorted(counts.items()):
        limit = amazon_api.LIMITS.get(bucket, {}).get("real")
        floor = max(0.0, (n - limit[0]) / limit[1]) if limit else 0.0
        minimum = max(minimum, floor)
        lines.append(f"  {bucket:28} {n:6d} requests  burst {limit[0] if limit else '-':>3}  floor {floor:8.1f} s")
    processing = (amazon_reports.REAL_QUEUE_S + rows / amazon_reports.REAL_ROWS_PER_S) if reports else 0.0
    print(f"scale {args.scale}, orders via {args.via}: {result.rows_loaded if hasattr(result, 'rows_loaded') else ''}")
    print("\n".join(lines))
    print(f"reports: {len(list(reports))}, largest {rows} rows; processing of one: {processing:.1f} s")
    print(
        f"minimum = max over buckets + processing = {minimum + processing:.1f} s; wall {wall:.1f} s; "
        f"ratio {wall / max(minimum + processing, 1e-9):.3f}"
    )


if __name__ == "__main__":
    main()
