"""Rows/s and peak memory of the Shopify REST source next to a bare baseline, rate limits off.

This measures the REST source (``ingestion/sources/shopify/rest.py``, kept one release for comparison): the
baseline reads the same REST pages. ``load("shopify")`` now reads the GraphQL Admin API (bulk operations);
``bench/shopify_graphql.py`` compares its rows/s and peak RSS with this REST source's.

Both read the same pages of the same sandbox world over loopback HTTP (every Shopify endpoint the source
reads: orders of every status since the source's start date, and, where the source reads them, all
customers and products; same page size), each in its own subprocess (peak RSS from ``os.wait4``'s
rusage of that child):

- ours: ``load("shopify", duckdb_path=tmp, source=shopify_rest_source(...))``: the resilient session and pacer, record contracts, dlt extract,
  normalize (each record and its nested tables: line items, discount allocations, shipping lines,
  refunds, variants, ...) and load into DuckDB.
- baseline: ``requests`` + ``response.json()`` + DuckDB: each page's records (their scalar fields) and
  one level of nested lists (orders' line items, shipping lines, refunds, ...; products' variants) become
  Arrow tables that are inserted into DuckDB. No checks, no deeper nesting, no flattened sub-objects, no
  state: the simplest fast honest way to land the same pages.

The ratio ours ÷ baseline is on records/s (both read the same records: orders, customers, products);
rows/s is shown for each, but ours writes more tables and columns per record than the baseline does. Ours also
loads the abandoned checkouts (``checkouts.json``, open and closed), which the baseline does not read and the
records do not count: its time includes them, so its ratios are a lower bound.
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

START_DATE = "2023-11-01T00:00:00Z"  # shopify_rest_source's default start_date: a full load reads from here
# What a first (full) load of each endpoint asks for, as ingestion/sources/shopify/rest.py does; others: no filter.
FIRST_LOAD_PARAMS: dict[str, dict[str, str]] = {"orders": {"status": "any", "updated_at_min": START_DATE}}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# --- children ----------------------------------------------------------------------------------


def child_ours(url: str, page_size: int, db: Path, endpoints: list[str]) -> dict[str, Any]:
    from ingestion.pipelines import load
    from ingestion.sources.shopify.rest import shopify_rest_source
    from sandbox import shopify_api
    from sandbox.connect import sandbox_env

    os.environ.update(sandbox_env(url))
    source = shopify_rest_source(shop_url=url, access_token=shopify_api.DEMO_ACCESS_TOKEN, page_size=page_size)
    imported_mb = _rss_mb()
    t = time.perf_counter()
    info = load("shopify", duckdb_path=db, source=source)
    seconds = time.perf_counter() - t
    trace = info.pipeline.last_trace
    counts = {k: v for k, v in trace.last_normalize_info.row_counts.items() if not k.startswith("_dlt")}
    steps = {s.step: (s.finished_at - s.started_at).total_seconds() for s in trace.steps}
    return {
        "seconds": seconds,
        "records": sum(counts.get(e, 0) for e in endpoints),
        "orders": counts.get("orders", 0),
        "rows": sum(counts.values()),
        "tables": len(counts),
        "extract_s": steps.get("extract", 0.0),
        "imported_mb": imported_mb,
    }


def _scalars(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not isinstance(v, (dict, list))}


def child_baseline(url: str, page_size: int, db: Path, endpoints: list[str]) -> dict[str, Any]:
    import duckdb
    import pyarrow as pa
    import requests

    from sandbox import shopify_api

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
        con.execute(
            f"create table {name} as select * from frame" if create else f"insert into {name} select * from frame"
        )
        con.unregister("frame")

    records = orders = rows = 0
    with duckdb.connect(str(db)) as con, requests.Session() as s:
        s.headers["X-Shopify-Access-Token"] = shopify_api.DEMO_ACCESS_TOKEN
        for endpoint in endpoints:
            next_url: str | None = f"{url}{shopify_api.PREFIX}/{endpoint}.json"
            params: dict[str, Any] | None = {**FIRST_LOAD_PARAMS.get(endpoint, {}), "limit": page_size}
            while next_url:
                r = s.get(next_url, params=params)
                r.raise_for_status()
                page = r.json()[endpoint]
                nested: dict[str, list[dict[str, Any]]] = {}
                for record in page:
                    for key, value in record.items():
                        if isinstance(value, list) and value and isinstance(value[0], dict):
                            nested.setdefault(key, []).extend(
                                {**_scalars(item), "_parent_id": record["id"]} for item in value
                            )
                insert(con, endpoint, [_scalars(record) for record in page])
                for key, children in nested.items():
                    insert(con, f"{endpoint}__{key}", children)
                records += len(page)
                orders += len(page) if endpoint == "orders" else 0
                rows += len(page) + sum(len(c) for c in nested.values())
                next_url, params = r.links.get("next", {}).get("url"), None
    return {
        "seconds": time.perf_counter() - t,
        "records": records,
        "orders": orders,
        "rows": rows,
        "tables": len(schemas),
        "extract_s": None,
        "imported_mb": imported_mb,
    }


# --- parent ------------------------------------------------------------------------------------


def run_child(kind: str, url: str, page_size: int, db: Path, endpoints: list[str]) -> dict[str, Any]:
    """One child run; its peak RSS from the kernel's rusage of that very child (``os.wait4``)."""
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--url",
        url,
        "--page-size",
        str(page_size),
        "--db",
        str(db),
        "--endpoints",
        ",".join(endpoints),
    ]
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
    result["peak_mb"] = usage.ru_maxrss / 1024  # Linux: KiB
    return result


def serve(args: argparse.Namespace) -> None:
    """The sandbox in a process of its own (the parent stays small: a child's ru_maxrss starts from the RSS
    of the process that spawned it). Prints one JSON line (url, endpoints, record counts), serves until
    stdin closes."""
    import requests

    from ingestion.sources.shopify.rest import shopify_rest_source
    from sandbox import shopify_api
    from sandbox.server import SandboxApp, SandboxServer
    from sandbox.world import WorldConfig

    served = {r.name: r for r in (shopify_api.ORDERS, shopify_api.CUSTOMERS, shopify_api.PRODUCTS)}
    rest = shopify_rest_source(shop_url="http://unset", access_token="unset")
    endpoints = [name for name in rest.resources if name in served]  # what the REST source reads
    config = WorldConfig(seed=args.seed, scale=args.scale, as_of=args.as_of)
    started = time.perf_counter()
    app = SandboxApp(config, rate_limits="off")
    built_s = time.perf_counter() - started
    with SandboxServer(app, port=0) as server:
        # warm the sandbox's per-filter id indexes, so neither side pays for building them
        for e in endpoints:
            requests.get(
                f"{server.url}{shopify_api.PREFIX}/{e}.json",
                params={**FIRST_LOAD_PARAMS.get(e, {}), "limit": args.page_size},
                headers={"X-Shopify-Access-Token": shopify_api.DEMO_ACCESS_TOKEN},
            ).raise_for_status()
        print(
            json.dumps(
                {
                    "url": server.url,
                    "endpoints": endpoints,
                    "built_s": built_s,
                    "records": {e: len(served[e].rows(app.world)) for e in endpoints},
                }
            ),
            flush=True,
        )
        sys.stdin.read()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=0.5, help="world scale (0.5: ~20k orders, ~11k customers)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 10, 31))
    p.add_argument("--page-size", type=int, default=250)
    p.add_argument("--repeat", type=int, default=1, help="runs of each (alternating); ratios from the best")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--child", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--endpoints", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(args)
        return
    if args.child:
        fn = child_ours if args.child == "ours" else child_baseline
        print(json.dumps(fn(args.url, args.page_size, args.db, args.endpoints.split(","))))
        return

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--scale",
            str(args.scale),
            "--seed",
            str(args.seed),
            "--as-of",
            args.as_of.isoformat(),
            "--page-size",
            str(args.page_size),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert server.stdin is not None and server.stdout is not None
    try:
        line = server.stdout.readline()
        if not line:
            sys.exit("the sandbox process failed to start")
        sandbox = json.loads(line)
        endpoints = sandbox["endpoints"]
        print(
            f"world seed={args.seed} scale={args.scale} as_of={args.as_of}: "
            f"{', '.join(f'{n} {e}' for e, n in sandbox['records'].items())}; built in {sandbox['built_s']:.1f}s; "
            f"page size {args.page_size}, rate limits off; ours: the REST source (kept one release)"
        )
        results: dict[str, list[dict[str, Any]]] = {"baseline": [], "ours": []}
        with tempfile.TemporaryDirectory(prefix="bench_tp_") as tmp:
            for i in range(args.repeat):
                for kind in ("baseline", "ours"):
                    results[kind].append(
                        run_child(kind, sandbox["url"], args.page_size, Path(tmp) / f"{kind}{i}.duckdb", endpoints)
                    )
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    parent_mb = _rss_mb()

    print()
    print(
        f"{'pipeline':<10}{'seconds':>9}{'extract s':>10}{'records':>9}{'records/s':>11}{'orders/s':>10}"
        f"{'tables':>8}{'rows':>9}{'rows/s':>9}{'RSS after imports MB':>22}{'peak RSS MB':>13}"
    )
    for kind in ("baseline", "ours"):
        for r in results[kind]:
            extract = f"{r['extract_s']:.1f}" if r["extract_s"] is not None else "-"
            print(
                f"{kind:<10}{r['seconds']:>9.1f}{extract:>10}{r['records']:>9}{r['records'] / r['seconds']:>11.0f}"
                f"{r['orders'] / r['seconds']:>10.0f}{r['tables']:>8}{r['rows']:>9}{r['rows'] / r['seconds']:>9.0f}"
                f"{r['imported_mb']:>22.0f}{r['peak_mb']:>13.0f}"
            )
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in results.items()}
    peak = {k: max(r["peak_mb"] for r in v) for k, v in results.items()}
    ours, base = best["ours"], best["baseline"]
    if ours["records"] != base["records"]:
        print(f"WARNING: ours loaded {ours['records']} records, the baseline read {base['records']}")
    rate = lambda r, what, took: r[what] / r[took]
    print()
    print(f"{'ratio (ours / baseline)':<48}{'value':>8}")
    print(
        f"{'records/s (orders + customers + products)':<48}"
        f"{rate(ours, 'records', 'seconds') / rate(base, 'records', 'seconds'):>8.2f}"
    )
    print(
        f"{'records/s, our extract step only vs baseline':<48}"
        f"{rate(ours, 'records', 'extract_s') / rate(base, 'records', 'seconds'):>8.2f}"
    )
    print(
        f"{'rows/s (ours writes more tables)':<48}{rate(ours, 'rows', 'seconds') / rate(base, 'rows', 'seconds'):>8.2f}"
    )
    print(f"{'peak RSS':<48}{peak['ours'] / peak['baseline']:>8.2f}")
    print(
        f"{'peak RSS above RSS after imports':<48}"
        f"{(peak['ours'] - ours['imported_mb']) / max(peak['baseline'] - base['imported_mb'], 1):>8.2f}"
    )
    print(f"(peak RSS of this orchestrating process, a floor of its children's ru_maxrss: {parent_mb:.0f} MB)")
    print()
    print("command: cd /work/main && PYTHONPATH=. .venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
