"""Rows/s and peak memory of our Shopify ingestion next to a bare baseline, rate limits off.

Both page every order of the same sandbox world (``status=any``, ``updated_at_min`` = the source's start,
same page size) over loopback HTTP, each in its own subprocess (peak RSS from ``os.wait4``'s rusage):

- ours: ``run_source("shopify", tmp)``: the resilient session and pacer, record contracts, dlt extract,
  normalize (orders and all their nested tables: line items, discount allocations, shipping lines,
  refunds, ...) and load into DuckDB.
- baseline: ``requests`` + ``response.json()`` + DuckDB: each page's orders and line items (their scalar
  fields) become two Arrow tables that are inserted into DuckDB. No checks, no nested tables beyond line
  items, no state: the simplest fast honest way to land the same pages.

The ratio ours ÷ baseline is on orders/s (both read the same orders); total rows/s is shown for each,
but ours writes more tables per order than the baseline does.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

START_DATE = "2025-01-01T00:00:00Z"  # shopify_source's default start_date: a full load reads from here


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# --- children ----------------------------------------------------------------------------------

def child_ours(url: str, page_size: int, db: Path) -> dict[str, Any]:
    from ingestion.pipelines import run_source
    from ingestion.sandbox.connect import sandbox_env

    os.environ.update({**sandbox_env(url), "SOURCES__SHOPIFY__PAGE_SIZE": str(page_size)})
    imported_mb = _rss_mb()
    t = time.perf_counter()
    info = run_source("shopify", db)
    seconds = time.perf_counter() - t
    trace = info.pipeline.last_trace
    counts = {k: v for k, v in trace.last_normalize_info.row_counts.items() if not k.startswith("_dlt")}
    steps = {s.step: (s.finished_at - s.started_at).total_seconds() for s in trace.steps}
    return {"seconds": seconds, "orders": counts.get("orders", 0), "rows": sum(counts.values()),
            "tables": len(counts), "extract_s": steps.get("extract", 0.0), "imported_mb": imported_mb}


def _scalars(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not isinstance(v, (dict, list))}


def child_baseline(url: str, page_size: int, db: Path) -> dict[str, Any]:
    import duckdb
    import pyarrow as pa
    import requests

    from ingestion.sandbox import shopify_api

    imported_mb = _rss_mb()
    t = time.perf_counter()
    schemas: dict[str, pa.Schema] = {}
    kinds = {bool: pa.bool_(), int: pa.int64(), float: pa.float64(), str: pa.string()}

    def insert(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        create = name not in schemas
        if create:  # the first page fixes the columns and their types (null-only columns: text)
            fields = []
            for key in rows[0]:
                sample = next((r[key] for r in rows if r.get(key) is not None), None)
                fields.append(pa.field(key, kinds.get(type(sample), pa.string())))
            schemas[name] = pa.schema(fields)
        schema = schemas[name]
        frame = pa.Table.from_pydict({f.name: [r.get(f.name) for r in rows] for f in schema}, schema=schema)
        con.register("frame", frame)
        con.execute(f"create table {name} as select * from frame" if create else
                    f"insert into {name} select * from frame")
        con.unregister("frame")

    orders = rows = 0
    with duckdb.connect(str(db)) as con, requests.Session() as s:
        s.headers["X-Shopify-Access-Token"] = shopify_api.DEMO_ACCESS_TOKEN
        next_url: str | None = f"{url}{shopify_api.PREFIX}/orders.json"
        params: dict[str, Any] | None = {"status": "any", "limit": page_size, "updated_at_min": START_DATE}
        while next_url:
            r = s.get(next_url, params=params)
            r.raise_for_status()
            page = r.json()["orders"]
            lines = [{**_scalars(li), "order_id": o["id"]} for o in page for li in o["line_items"]]
            insert(con, "orders", [_scalars(o) for o in page])
            insert(con, "line_items", lines)
            orders, rows = orders + len(page), rows + len(page) + len(lines)
            next_url, params = r.links.get("next", {}).get("url"), None
    return {"seconds": time.perf_counter() - t, "orders": orders, "rows": rows, "tables": 2,
            "extract_s": None, "imported_mb": imported_mb}


# --- parent ------------------------------------------------------------------------------------

def run_child(kind: str, url: str, page_size: int, db: Path) -> dict[str, Any]:
    """One child run; its peak RSS from the kernel's rusage of that very child (``os.wait4``)."""
    cmd = [sys.executable, __file__, "--child", kind, "--url", url, "--page-size", str(page_size), "--db", str(db)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env)
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"{kind} child failed ({proc.returncode}):\n{err.read().decode()[-3000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=0.5, help="world scale (0.5: ~20k orders)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 10, 31))
    p.add_argument("--page-size", type=int, default=250)
    p.add_argument("--repeat", type=int, default=1, help="runs of each (alternating); ratios from the best")
    p.add_argument("--child", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        fn = child_ours if args.child == "ours" else child_baseline
        print(json.dumps(fn(args.url, args.page_size, args.db)))
        return

    import requests

    from ingestion.sandbox import shopify_api
    from ingestion.sandbox.server import SandboxApp, SandboxServer
    from ingestion.sandbox.world import WorldConfig

    config = WorldConfig(seed=args.seed, scale=args.scale, as_of=args.as_of)
    started = time.perf_counter()
    app = SandboxApp(config, rate_limits="off")
    print(f"world seed={config.seed} scale={config.scale} as_of={config.as_of}: "
          f"{len(app.world.shopify_orders)} Shopify orders, built in {time.perf_counter() - started:.1f}s; "
          f"page size {args.page_size}, rate limits off")
    results: dict[str, list[dict[str, Any]]] = {"baseline": [], "ours": []}
    with SandboxServer(app, port=0) as server, tempfile.TemporaryDirectory(prefix="bench_tp_") as tmp:
        # warm the sandbox's per-filter id index, so neither side pays for building it
        requests.get(f"{server.url}{shopify_api.PREFIX}/orders.json",
                     params={"status": "any", "limit": args.page_size, "updated_at_min": START_DATE},
                     headers={"X-Shopify-Access-Token": shopify_api.DEMO_ACCESS_TOKEN}).raise_for_status()
        for i in range(args.repeat):
            for kind in ("baseline", "ours"):
                results[kind].append(run_child(kind, server.url, args.page_size, Path(tmp) / f"{kind}{i}.duckdb"))

    print()
    print(f"{'pipeline':<10}{'seconds':>9}{'extract s':>10}{'orders':>8}{'orders/s':>10}{'tables':>8}{'rows':>9}"
          f"{'rows/s':>9}{'RSS after imports MB':>22}{'peak RSS MB':>13}")
    for kind in ("baseline", "ours"):
        for r in results[kind]:
            extract = f"{r['extract_s']:.1f}" if r["extract_s"] is not None else "-"
            print(f"{kind:<10}{r['seconds']:>9.1f}{extract:>10}{r['orders']:>8}{r['orders'] / r['seconds']:>10.0f}"
                  f"{r['tables']:>8}{r['rows']:>9}{r['rows'] / r['seconds']:>9.0f}{r['imported_mb']:>22.0f}"
                  f"{r['peak_mb']:>13.0f}")
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in results.items()}
    peak = {k: max(r["peak_mb"] for r in v) for k, v in results.items()}
    ours, base = best["ours"], best["baseline"]
    print()
    print(f"{'ratio (ours / baseline)':<44}{'value':>8}")
    print(f"{'orders/s':<44}{(ours['orders'] / ours['seconds']) / (base['orders'] / base['seconds']):>8.2f}")
    print(f"{'orders/s, extract step only (ours)':<44}"
          f"{(ours['orders'] / ours['extract_s']) / (base['orders'] / base['seconds']):>8.2f}")
    print(f"{'rows/s (ours writes more tables)':<44}{(ours['rows'] / ours['seconds']) / (base['rows'] / base['seconds']):>8.2f}")
    print(f"{'peak RSS':<44}{peak['ours'] / peak['baseline']:>8.2f}")
    print(f"{'peak RSS above RSS after imports':<44}"
          f"{(peak['ours'] - ours['imported_mb']) / max(peak['baseline'] - base['imported_mb'], 1):>8.2f}")
    print()
    print("command: cd /work/main && PYTHONPATH=. .venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
