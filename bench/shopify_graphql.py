"""The Shopify source on the GraphQL Admin API next to the REST source it replaced, side by side in one run.

Three parts, each load in a subprocess of its own and each sandbox in another (a fresh one per load), so the
loader's peak RSS (``os.wait4``'s rusage of that child) is not the sandbox's and the two do not share a GIL:

1. ``--rate-limits real`` at ``--scale`` (default 1): a full load by the GraphQL source (``load("shopify")``,
   bulk operations) and by the REST source (``load("shopify", source=shopify_rest_source(...))``, kept one
   release), each against its own sandbox with the sandbox's real limits: REST a leaky bucket of 40 requests
   leaking 2/s; GraphQL 2,000 cost points restored at 100/s; a bulk operation starts after 1 s in the queue and
   writes ``REAL_OBJECTS_PER_S`` objects a second (sandbox/shopify_bulk.py; Shopify publishes no figure: an
   assumption). Wall time of each load, the Shopify requests the sandbox answered (``/admin/...``,
   ``/shopify-bulk/...``, counted server side), 429s and ``THROTTLED`` answers, bulk operations, rows loaded.
   Ratio REST time ÷ GraphQL time, goal ≥ 3.
2. rate limits off at the same scale: rows/s (rows loaded ÷ wall time of the load) and records/s (orders,
   customers, products, abandoned checkouts) of each; ratio GraphQL ÷ REST. The GraphQL shapes have more
   nested tables (discount applications, transactions, cart attributes), so rows/s favours it a little;
   records/s compares the same records.
3. peak RSS of the GraphQL load at ``--rss-scale`` (default 10), rate limits off. Goal < 1024 MB.

The sandbox process passes the loaders their environment (``sandbox_env(url)``), so a loader imports no
sandbox module. Rows loaded: the rows dlt normalized in the load (``LoadResult.rows_loaded``, every table);
table rows: rows in ``raw_shopify``'s tables afterwards (``LoadResult.table_rows``, dlt's own excluded).
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
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

# the parent imports nothing of the project: a child's ru_maxrss starts from the RSS of the process that spawned it
ROOT = Path(__file__).resolve().parent.parent
RECORDS = ("orders", "customers", "products", "abandoned_checkouts")  # the top-level tables, one row per record
KINDS = ("graphql", "rest")
LABEL = {"graphql": "GraphQL", "rest": "REST"}
PROGRESS_S = 15.0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _shopify_kind(path: str) -> str | None:
    """What a Shopify request was, by its path (None: not Shopify)."""
    if path.startswith("/shopify-bulk/"):
        return "bulk download"
    if not path.startswith("/admin/"):
        return None
    if path.endswith("/graphql.json"):
        return "graphql"
    if path.startswith("/admin/oauth/access_token"):
        return "token"
    return "rest"


# --- the sandbox process -----------------------------------------------------------------------


def serve(args: argparse.Namespace) -> None:
    """A recording sandbox: prints one JSON line (url, the loaders' env, world counts, limits), prints progress to
    stderr while requests arrive, and when stdin closes prints the requests it answered as one JSON line."""
    from collections import Counter

    from bench.recording import RecordingApp
    from sandbox import shopify_api, shopify_bulk
    from sandbox.connect import sandbox_env
    from sandbox.protocol import Request, Response
    from sandbox.server import SandboxServer
    from sandbox.world import WorldConfig

    class ShopifyRecordingApp(RecordingApp):
        """Also counts GraphQL's ``THROTTLED`` answers (HTTP 200 with an error; RecordingApp sees 429s)."""

        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            self.graphql_throttled = 0

        def dispatch(self, req: Request) -> tuple[Response, Any]:  # type: ignore[override]
            response, fault = super().dispatch(req)
            body = response.body
            errors = body.get("errors") if isinstance(body, dict) else None
            if isinstance(errors, list) and any(
                isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors
            ):
                with self._seen_lock:
                    self.graphql_throttled += 1
            return response, fault

    config = WorldConfig(seed=args.seed, scale=args.scale, as_of=args.as_of)
    started = time.perf_counter()
    app = ShopifyRecordingApp(config, rate_limits=args.rate_limits)
    built_s = time.perf_counter() - started
    world = {
        "orders": len(shopify_api.ORDERS.rows(app.world)),
        "customers": len(shopify_api.CUSTOMERS.rows(app.world)),
        "products": len(shopify_api.PRODUCTS.rows(app.world)),
        "abandoned_checkouts": len(shopify_api.CHECKOUTS.rows(app.world)),
    }

    def shopify() -> list[Any]:
        return [s for s in list(app.seen) if _shopify_kind(s.path)]

    done = threading.Event()

    def progress() -> None:
        t0, last = time.monotonic(), -1
        while not done.wait(PROGRESS_S):
            seen = shopify()
            if len(seen) != last:
                last = len(seen)
                ops = len(shopify_bulk.state(app).ops)
                print(
                    f"  [{args.label}] {time.monotonic() - t0:4.0f} s: {len(seen)} Shopify requests answered, "
                    f"{sum(s.status == 429 for s in seen)} 429s, {app.graphql_throttled} THROTTLED, {ops} bulk ops",
                    file=sys.stderr,
                    flush=True,
                )

    with SandboxServer(app, port=0) as server:
        env = {**sandbox_env(server.url), "BENCH_SHOPIFY_ACCESS_TOKEN": shopify_api.DEMO_ACCESS_TOKEN}
        print(
            json.dumps(
                {
                    "url": server.url,
                    "env": env,
                    "built_s": built_s,
                    "world": world,
                    "rest_limit": shopify_api.LIMITS["shopify"][args.rate_limits]
                    if args.rate_limits != "off"
                    else None,
                    "real_objects_per_s": shopify_bulk.REAL_OBJECTS_PER_S,
                    "real_start_s": shopify_bulk.REAL_START_S,
                }
            ),
            flush=True,
        )
        threading.Thread(target=progress, daemon=True).start()
        sys.stdin.read()
        done.set()
        seen = shopify()
        ops = list(shopify_bulk.state(app).ops.values())
        print(
            json.dumps(
                {
                    "requests": len(seen),
                    "by_kind": Counter(_shopify_kind(s.path) for s in seen),
                    "status_429": sum(s.status == 429 for s in seen),
                    "throttled": app.graphql_throttled,
                    "other_errors": sum(s.status >= 400 and s.status != 429 for s in seen),
                    "bulk_ops": len(ops),
                    "bulk_states": Counter(op.status for op in ops),
                    "bulk_objects": sum(op.object_count for op in ops),
                    "bulk_span_s": (
                        max(op.completed_at for op in ops if op.completed_at) - min(op.created_at for op in ops)
                    ).total_seconds()
                    if any(op.completed_at for op in ops)
                    else 0.0,
                    "bulk_detail": [  # (root field, objects, seconds from queued to completed)
                        (
                            op.query.split("(")[0].split("{")[1].strip(),
                            op.object_count,
                            (op.completed_at - op.created_at).total_seconds() if op.completed_at else None,
                        )
                        for op in ops
                    ],
                    "span_s": max(s.arrived for s in seen) - min(s.arrived for s in seen) if seen else 0.0,
                }
            ),
            flush=True,
        )


# --- the loader process ------------------------------------------------------------------------


def child_load(kind: str, db: Path) -> dict[str, Any]:
    """One full load into a fresh DuckDB; the env (``sandbox_env``) comes from the sandbox process."""
    from ingestion.pipelines import load

    source = None
    if kind == "rest":
        from ingestion.sources.shopify.rest import shopify_rest_source

        source = shopify_rest_source(
            shop_url=os.environ["SOURCES__SHOPIFY__SHOP_URL"], access_token=os.environ["BENCH_SHOPIFY_ACCESS_TOKEN"]
        )
    imported_mb = _rss_mb()
    samples: list[tuple[float, float]] = []  # (wall clock, RSS MB): which step the peak falls in
    done = threading.Event()

    def sample() -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        with open("/proc/self/statm") as statm:
            while not done.wait(0.2):
                statm.seek(0)
                samples.append((time.time(), int(statm.read().split()[1]) * page / 2**20))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t = time.perf_counter()
    result = load("shopify", duckdb_path=db, source=source)
    seconds = time.perf_counter() - t
    done.set()
    sampler.join()
    trace = result.pipeline.last_trace.steps
    steps = {s.step: (s.finished_at - s.started_at).total_seconds() for s in trace}
    step_peak = {
        s.step: max(
            (mb for at, mb in samples if s.started_at.timestamp() <= at <= s.finished_at.timestamp()), default=0
        )
        for s in trace
    }
    tables = {t: n for t, n in result.table_rows.items() if not t.startswith("_dlt")}
    return {
        "seconds": seconds,
        "rows": sum(result.rows_loaded.values()),
        "records": {t: result.rows_loaded.get(t, 0) for t in RECORDS},
        "table_rows": sum(tables.values()),
        "tables": len(tables),
        "quarantined": result.quarantined,
        "steps": steps,
        "step_peak_mb": step_peak,
        "imported_mb": imported_mb,
    }


# --- the parent --------------------------------------------------------------------------------


def _cmd(*extra: str) -> list[str]:
    return [sys.executable, __file__, *extra]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


class Sandbox:
    """A sandbox process (``--serve``): started on entry, its request counts read on exit."""

    def __init__(self, args: argparse.Namespace, scale: float, rate_limits: str, label: str) -> None:
        self.cmd = _cmd(
            "--serve",
            "--scale",
            str(scale),
            "--seed",
            str(args.seed),
            "--as-of",
            args.as_of.isoformat(),
            "--rate-limits",
            rate_limits,
            "--label",
            label,
        )
        self.info: dict[str, Any] = {}
        self.stats: dict[str, Any] = {}

    def __enter__(self) -> Sandbox:
        self.proc = subprocess.Popen(
            self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_env(), cwd=ROOT, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            sys.exit(f"the sandbox process failed to start ({self.proc.returncode})")
        self.info = json.loads(line)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        line = self.proc.stdout.readline()
        self.stats = json.loads(line) if line else {}
        self.proc.wait(timeout=60)


def run_load(kind: str, sandbox: Sandbox, db: Path) -> dict[str, Any]:
    """One load in a child of its own; its peak RSS from the kernel's rusage of that very child (``os.wait4``)."""
    env = {**_env(), **sandbox.info["env"]}
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            _cmd("--child", kind, "--db", str(db)), stdout=subprocess.PIPE, stderr=err, env=env, cwd=ROOT
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            sys.exit(f"{kind} load failed ({code}):\n{err.read().decode()[-4000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024  # Linux: KiB
    return result


def measure(args: argparse.Namespace, kind: str, scale: float, rate_limits: str, tmp: Path) -> dict[str, Any]:
    label = f"{LABEL[kind]}, rate limits {rate_limits}, scale {scale:g}"
    print(f"{label}: building the sandbox world ...", flush=True)
    with Sandbox(args, scale, rate_limits, label) as sandbox:
        world = sandbox.info["world"]
        print(
            f"{label}: world built in {sandbox.info['built_s']:.1f} s ({', '.join(f'{n} {t}' for t, n in world.items())})"
            "; loading ...",
            flush=True,
        )
        directory = tmp / f"{kind}_{rate_limits}_{scale:g}"  # dlt's pipeline state lives beside the DuckDB file
        directory.mkdir()
        result = run_load(kind, sandbox, directory / "wh.duckdb")
    result |= {"world": world, "server": sandbox.stats, "sandbox": sandbox.info}
    print(
        f"{label}: {result['seconds']:.1f} s, {result['rows']} rows loaded, {sandbox.stats.get('requests', 0)} Shopify "
        f"requests, peak RSS {result['peak_mb']:.0f} MB",
        flush=True,
    )
    missing = {t: n - result["records"][t] for t, n in world.items() if result["records"][t] != n}
    if missing:
        print(f"  WARNING: records in the world but not loaded: {missing}", flush=True)
    return result


def _records(r: dict[str, Any]) -> int:
    return sum(r["records"].values())


def _split(r: dict[str, Any]) -> str:
    return "/".join(f"{r['steps'].get(step, 0):.0f}" for step in ("extract", "normalize", "load"))


def _bulk_span(r: dict[str, Any]) -> str:
    return f"{r['server'].get('bulk_span_s', 0):.1f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0, help="world scale of parts 1 and 2 (1.0: ~40k orders)")
    p.add_argument("--rss-scale", type=float, default=10.0, help="world scale of part 3 (peak RSS)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 10, 31))
    p.add_argument("--skip-real", action="store_true", help="skip part 1 (real rate limits)")
    p.add_argument("--skip-off", action="store_true", help="skip part 2 (rows/s, rate limits off)")
    p.add_argument("--skip-rss", action="store_true", help="skip part 3 (peak RSS at --rss-scale)")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--rate-limits", default="off", help=argparse.SUPPRESS)
    p.add_argument("--label", default="sandbox", help=argparse.SUPPRESS)
    p.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    p.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(args)
        return
    if args.child:
        print(json.dumps(child_load(args.child, args.db)))
        return

    started = time.perf_counter()
    real: dict[str, dict[str, Any]] = {}
    off: dict[str, dict[str, Any]] = {}
    rss: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="bench_shopify_gql_") as tmp_dir:
        tmp = Path(tmp_dir)
        if not args.skip_real:
            print(f"part 1: rate limits real, scale {args.scale:g}", flush=True)
            for kind in KINDS:
                real[kind] = measure(args, kind, args.scale, "real", tmp)
        if not args.skip_off:
            print(f"part 2: rate limits off, scale {args.scale:g}", flush=True)
            for kind in KINDS:
                off[kind] = measure(args, kind, args.scale, "off", tmp)
        if not args.skip_rss:
            print(f"part 3: peak RSS of the GraphQL load, rate limits off, scale {args.rss_scale:g}", flush=True)
            rss = measure(args, "graphql", args.rss_scale, "off", tmp)
    verdict = lambda ok: "ok" if ok else "MISSED"

    if real:
        g, r = real["graphql"], real["rest"]
        capacity, leak = r["sandbox"]["rest_limit"]
        print()
        print(
            f"part 1, rate limits real, scale {args.scale:g}: REST leaky bucket {capacity} requests leaking {leak:g}/s; "
            f"GraphQL 2000 points restored 100/s; bulk operations start after {g['sandbox']['real_start_s']:g} s and "
            f"write {g['sandbox']['real_objects_per_s']:g} objects/s each (REAL_OBJECTS_PER_S, an assumption); the source "
            f"polls them every {g['sandbox']['env'].get('SOURCES__SHOPIFY__POLL_INTERVAL_S', '1.0')} s (sandbox_env)"
        )
        print(f"{'':<40}{'GraphQL':>12}{'REST':>12}")
        rows_of = [
            ("wall time of the load (s)", lambda x: f"{x['seconds']:.1f}"),
            ("  extract / normalize / load (s)", _split),
            ("Shopify requests (server side)", lambda x: f"{x['server']['requests']}"),
            ("  GraphQL queries", lambda x: f"{x['server']['by_kind'].get('graphql', 0)}"),
            ("  REST pages", lambda x: f"{x['server']['by_kind'].get('rest', 0)}"),
            ("  token exchanges", lambda x: f"{x['server']['by_kind'].get('token', 0)}"),
            ("  bulk result downloads", lambda x: f"{x['server']['by_kind'].get('bulk download', 0)}"),
            ("first to last request (s)", lambda x: f"{x['server']['span_s']:.1f}"),
            ("bulk operations", lambda x: f"{x['server']['bulk_ops']}"),
            ("  objects written by them", lambda x: f"{x['server']['bulk_objects']}"),
            ("  first queued to last completed (s)", _bulk_span),
            ("429s", lambda x: f"{x['server']['status_429']}"),
            ("THROTTLED answers", lambda x: f"{x['server']['throttled']}"),
            ("other 4xx/5xx answers", lambda x: f"{x['server']['other_errors']}"),
            ("records (4 top-level tables)", lambda x: f"{_records(x)}"),
            ("rows loaded (all tables)", lambda x: f"{x['rows']}"),
            ("table rows afterwards", lambda x: f"{x['table_rows']}"),
            ("tables", lambda x: f"{x['tables']}"),
        ]
        for name, fmt in rows_of:
            print(f"{name:<40}{fmt(g):>12}{fmt(r):>12}")
        per_op = g["sandbox"]["real_objects_per_s"]
        floor = g["sandbox"]["real_start_s"]
        print("GraphQL bulk operations (objects, seconds queued to completed, and the floor at the assumed rate):")
        for root, objects, took in g["server"].get("bulk_detail", []):
            took_s = f"{took:.1f}" if took is not None else "-"
            print(f"  {root:<24}{objects:>9} objects{took_s:>8} s   floor {floor + objects / per_op:.1f} s")
    if off:
        g, r = off["graphql"], off["rest"]
        print()
        print(f"part 2, rate limits off, scale {args.scale:g}")
        print(f"{'':<40}{'GraphQL':>12}{'REST':>12}")
        for name, fmt in (
            ("wall time of the load (s)", lambda x: f"{x['seconds']:.1f}"),
            ("  extract / normalize / load (s)", _split),
            ("bulk ops, queued to last completed (s)", _bulk_span),
            ("Shopify requests (server side)", lambda x: f"{x['server']['requests']}"),
            ("rows loaded", lambda x: f"{x['rows']}"),
            ("rows/s", lambda x: f"{x['rows'] / x['seconds']:.0f}"),
            ("records/s", lambda x: f"{_records(x) / x['seconds']:.0f}"),
            ("peak RSS (MB)", lambda x: f"{x['peak_mb']:.0f}"),
        ):
            print(f"{name:<40}{fmt(g):>12}{fmt(r):>12}")
    if rss is not None:
        print()
        print(f"part 3, GraphQL load, rate limits off, scale {args.rss_scale:g} (the sandbox in another process)")
        print(f"{'wall time of the load (s)':<40}{rss['seconds']:>12.1f}")
        print(f"{'records':<40}{_records(rss):>12}")
        print(f"{'rows loaded':<40}{rss['rows']:>12}")
        print(f"{'Shopify requests (server side)':<40}{rss['server']['requests']:>12}")
        print(f"{'  extract / normalize / load (s)':<40}{_split(rss):>12}")
        print(f"{'RSS after imports (MB)':<40}{rss['imported_mb']:>12.0f}")
        peaks = "/".join(f"{rss['step_peak_mb'].get(step, 0):.0f}" for step in ("extract", "normalize", "load"))
        print(f"{'  highest RSS sampled, extract/normalize/load (MB)':<52}{peaks:>18}")
        print(f"{'peak RSS (MB)':<40}{rss['peak_mb']:>12.0f}")

    print()
    print(f"{'summary':<58}{'value':>10}{'goal':>10}")
    if real:
        ratio = real["rest"]["seconds"] / real["graphql"]["seconds"]
        print(f"{'real limits: REST time / GraphQL time':<58}{ratio:>10.2f}{'>= 3':>10}{verdict(ratio >= 3):>8}")
        for kind in KINDS:
            bad = real[kind]["server"]["status_429"] + real[kind]["server"]["throttled"]
            print(f"{f'real limits: {LABEL[kind]} 429s + THROTTLED':<58}{bad:>10}{'':>10}")
    if off:
        g, r = off["graphql"], off["rest"]
        rows_ratio = (g["rows"] / g["seconds"]) / (r["rows"] / r["seconds"])
        records_ratio = (_records(g) / g["seconds"]) / (_records(r) / r["seconds"])
        print(f"{'limits off: rows/s GraphQL / REST':<58}{rows_ratio:>10.2f}")
        print(f"{'limits off: records/s GraphQL / REST':<58}{records_ratio:>10.2f}")
    if rss is not None:
        peak = rss["peak_mb"]
        name = f"peak RSS of the GraphQL load at scale {args.rss_scale:g} (MB)"
        print(f"{name:<58}{peak:>10.0f}{'< 1024':>10}{verdict(peak < 1024):>8}")
    print(
        f"(whole run {time.perf_counter() - started:.0f} s; peak RSS of this orchestrating process {_rss_mb():.0f} MB)"
    )
    print()
    print("command: cd /work/main && PYTHONPATH=. .venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
