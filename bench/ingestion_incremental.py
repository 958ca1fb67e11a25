"""Time of an incremental run after a full load, ÷ the time of the full load, for every source.

Against one sandbox (rate limits off by default), into one temporary DuckDB, ``load(key)`` for each
key of ``ingestion.pipelines.SOURCES``, three times:

1. full load: empty warehouse, world at ``as_of`` D;
2. again, nothing changed: world still at D, the cursors committed by run 1. The floor of any
   incremental run: fixed costs (dlt pipeline, auth, lookback windows, pages that cannot be filtered);
3. after a day: the world advanced by ``POST /_sandbox/advance?days=1`` (its smallest step: the world's
   clock has a granularity of one day), then run again.

An hourly production run would see about 1/24 of run 3's changes, so run 3 ÷ run 1 is an upper bound
of the hourly ratio and run 2 ÷ run 1 a lower bound. Rows are those dlt normalized in that run (all
tables of the source, dlt's own excluded); requests are those the sandbox answered.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import requests

from bench.recording import RecordingApp
from ingestion.pipelines import SOURCES, load
from sandbox.connect import sandbox_env
from sandbox.server import SandboxServer
from sandbox.world import WorldConfig

PHASES = ("full", "unchanged", "+1 day")


def timed_load(key: str, db: Path, app: RecordingApp) -> dict[str, float]:
    before = app.requests
    t = time.perf_counter()
    info = load(key, duckdb_path=db)
    seconds = time.perf_counter() - t
    counts = info.pipeline.last_trace.last_normalize_info.row_counts
    rows = sum(n for table, n in counts.items() if not table.startswith("_dlt"))
    return {"seconds": seconds, "rows": rows, "requests": app.requests - before}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0, help="world scale (1.0: ~40k Shopify, ~25k Amazon orders)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 10, 31))
    p.add_argument("--rate-limits", choices=("off", "demo", "real"), default="off")
    p.add_argument("--sources", default=",".join(SOURCES), help=f"comma-separated keys of {', '.join(SOURCES)}")
    args = p.parse_args()
    keys = [k.strip() for k in args.sources.split(",") if k.strip()]
    unknown = set(keys) - set(SOURCES)
    if unknown:
        p.error(f"unknown sources: {', '.join(sorted(unknown))}")

    config = WorldConfig(seed=args.seed, scale=args.scale, as_of=args.as_of)
    started = time.perf_counter()
    app = RecordingApp(config, rate_limits=args.rate_limits)
    print(
        f"world seed={config.seed} scale={config.scale} as_of={config.as_of}, built in "
        f"{time.perf_counter() - started:.1f}s; rate limits {args.rate_limits}; sources {', '.join(keys)}"
    )
    results: dict[str, dict[str, dict[str, float]]] = {phase: {} for phase in PHASES}
    with SandboxServer(app, port=0) as server, tempfile.TemporaryDirectory(prefix="bench_inc_") as tmp:
        os.environ.update(sandbox_env(server.url))
        db = Path(tmp) / "wh.duckdb"
        for phase in PHASES:
            if phase == "+1 day":
                t = time.perf_counter()
                r = requests.post(f"{server.url}/_sandbox/advance", params={"days": 1})
                r.raise_for_status()
                print(
                    f"world advanced to as_of={r.json()['as_of']} (rebuilt in {time.perf_counter() - t:.1f}s, "
                    f"not timed)"
                )
            for key in keys:
                results[phase][key] = timed_load(key, db, app)
                r = results[phase][key]
                print(
                    f"  {phase:<10} {key:<8} {r['seconds']:6.1f}s {int(r['rows']):>8} rows "
                    f"{int(r['requests']):>6} requests",
                    flush=True,
                )

    def cells(r: dict[str, float]) -> str:
        return f"{r['seconds']:>15.1f}{int(r['rows']):>8}{int(r['requests']):>6}"

    totals = {
        phase: {m: sum(results[phase][k][m] for k in keys) for m in ("seconds", "rows", "requests")} for phase in PHASES
    }
    print()
    head = "".join(f"{phase + ' s':>15}{'rows':>8}{'req':>6}" for phase in PHASES)
    print(f"{'source':<9}{head}{'unchanged/full':>16}{'+1 day/full':>13}")
    for key, row in [*((k, {ph: results[ph][k] for ph in PHASES}) for k in keys), ("total", totals)]:
        full = row["full"]["seconds"]
        print(
            f"{key:<9}{''.join(cells(row[ph]) for ph in PHASES)}"
            f"{row['unchanged']['seconds'] / full:>16.3f}{row['+1 day']['seconds'] / full:>13.3f}"
        )
    print()
    print("The world's clock moves in whole days (POST /_sandbox/advance?days=1 is the smallest step), so the")
    print("'+1 day' run carries a day of changes: an hourly run would carry ~1/24 of them. Its ratio is an")
    print("upper bound of the hourly incremental ÷ full ratio; 'unchanged' (no new data) is a lower bound.")
    print(
        f"{'hourly incremental / full load, upper bound (+1 day / full)':<64}"
        f"{totals['+1 day']['seconds'] / totals['full']['seconds']:>8.3f}"
    )
    print(
        f"{'hourly incremental / full load, lower bound (unchanged / full)':<64}"
        f"{totals['unchanged']['seconds'] / totals['full']['seconds']:>8.3f}"
    )
    print()
    print("command: cd /work/main && PYTHONPATH=. .venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
