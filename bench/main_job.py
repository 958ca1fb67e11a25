"""The main job as a user runs it, phase by phase: a full load, a run with nothing changed, a run after a day.

    PYTHONPATH=. .venv/bin/python bench/main_job.py [--scales 0.1,1] [--scale-10] [--bare]

Each scale runs in a subprocess of its own (its peak RSS is the kernel's rusage of that child, ``os.wait4``),
the way ``salesdw run`` does it: the sandbox world built (rate limits ``demo``, the default), served on
loopback, then ``orchestration.runner.run_main_job`` in process on a fresh DuckDB warehouse and Dagster home.
Three runs follow one another on that warehouse:

1. full: the first load of everything;
2. nothing changed: the same world again (an hourly run that finds nothing new);
3. a day later: the world advanced by one day (``/_sandbox/advance?days=1``), so a day of orders, refunds,
   deals, fees, ad spend and sessions arrives.
4. full, warm sandbox cache: a new warehouse (and dlt state) on the first world again, served by a new sandbox
   that finds the first run's renderings in its cache folder (``sandbox/render_cache.py``), as a second
   ``salesdw run`` on a fresh warehouse finds them next to it.
5. and 6. as a user runs them: the ``salesdw run`` command itself on that warehouse, timed from its start to its exit
   (interpreter, imports, a new sandbox process that reads the kept world, the run, the summary), once with nothing
   new and once a day later (``--as-of`` the next day).

Phases, in seconds of wall time: world build (world + truth), each ingestion step (per source: dlt's extract,
normalize and load as the load recorded them; with the sources extracted ahead, ``extract (ahead)`` ran in the
extract-ahead process beside the steps before and ``waited for the extract`` is what the step still waited), each dbt
step, the GX check steps, and "Dagster overhead" (a run's wall time less its steps: definitions, run storage,
planning, event writing). After each run the summary's reconciliation with the sandbox truth must be exact.

Ratios printed: each incremental run ÷ the full run; scale 10 ÷ scale 1 (``--scale-10``); with ``--bare`` the
ingestion throughput bench (``bench/ingestion_throughput.py``: a bare requests + json + DuckDB loader next to the
dlt path, records/s) runs in the same invocation, so its ratio is measured side by side with the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _steps(instance: Any, outcome: Any) -> list[tuple[str, str, float]]:
    """(run's job, step key, seconds) of every step that ran, from the runs' event logs."""
    out: list[tuple[str, str, float]] = []
    for result in outcome.results:
        job = result.job_def.name
        starts: dict[str, float] = {}
        for entry in instance.all_logs(result.run_id):
            e = entry.dagster_event
            if e is None or not e.step_key:
                continue
            if e.event_type_value == "STEP_START":
                starts[e.step_key] = entry.timestamp
            elif e.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and e.step_key in starts:
                out.append((job, e.step_key, entry.timestamp - starts.pop(e.step_key)))
    return out


def _dlt_phases(outcome: Any) -> dict[str, dict[str, float]]:
    """Seconds of dlt's phases per source (extract, or extract ahead and the load step's wait for it; normalize;
    load), as each load recorded them in its materializations (``dlt_seconds``)."""
    from orchestration.assets.ingestion import DLT_SECONDS

    phases: dict[str, dict[str, float]] = {}
    for e in outcome.all_events:
        if e.event_type_value != "ASSET_MATERIALIZATION" or not (e.step_key or "").startswith("ingest_"):
            continue
        recorded = e.event_specific_data.materialization.metadata.get(DLT_SECONDS)
        if recorded is not None:
            phases[e.step_key.removeprefix("ingest_")] = dict(recorded.value)
    return phases


def child(scale: float, seed: int, as_of: date, root: Path, sandbox: str) -> dict[str, Any]:
    """One scale: world, three runs, phases (runs in the child process)."""
    os.environ.update(
        {
            "SALESDW_DUCKDB_PATH": str(root / "warehouse.duckdb"),
            "DAGSTER_HOME": str(root / "dagster_home"),
        }
    )
    (root / "dagster_home").mkdir(parents=True, exist_ok=True)
    from cli.main import prepare_dagster_home
    from core.warehouse import activate

    prepare_dagster_home()
    activate("duckdb")  # as `salesdw run` does (SALESDW_TARGET set: the build record's settings match the CLI runs)
    import requests
    from dagster import DagsterInstance

    from cli.summary import render_summary
    from orchestration.runner import run_main_job
    from sandbox.connect import sandbox_env
    from sandbox.process import SandboxProcess
    from sandbox.server import SandboxApp, SandboxServer
    from sandbox.truth import compute_truth
    from sandbox.world import WorldConfig

    config = WorldConfig(seed=seed, scale=scale, as_of=as_of)
    cache_dir = root / "sandbox_cache"  # as `salesdw run` keeps it: empty at first (a cold start)

    def serve() -> tuple[Any, str, dict[str, Any], float]:
        t0 = time.monotonic()
        if sandbox == "process":  # as `salesdw run` serves it
            server: Any = SandboxProcess(config, rate_limits="demo", cache_dir=cache_dir).spawn()
            url, truth = server.wait_ready()
        else:  # in the loader's process, as the tests serve it
            server = SandboxServer(SandboxApp(config, rate_limits="demo", cache_dir=cache_dir), port=0).start()
            url, truth = server.url, compute_truth(server.app.world)
        os.environ.update(sandbox_env(url))
        return server, url, truth, time.monotonic() - t0

    server, url, truth, world_s = serve()
    runs = []
    try:
        with DagsterInstance.get() as instance:
            for name in ("full", "nothing changed", "a day later", "full, warm sandbox cache"):
                if name == "a day later":
                    requests.post(f"{url}/_sandbox/advance", params={"days": 1}, timeout=600).raise_for_status()
                    truth = requests.get(f"{url}/_sandbox/truth", timeout=600).json()
                if name.startswith("full, warm"):  # a new warehouse (and dlt state) on the first world again
                    server.stop()
                    warm = root / "warm"
                    warm.mkdir()
                    os.environ["SALESDW_DUCKDB_PATH"] = str(warm / "warehouse.duckdb")
                    server, url, truth, warm_world_s = serve()
                started = time.monotonic()
                outcome = run_main_job(instance, log_level="WARNING")
                wall = time.monotonic() - started
                _, exact = render_summary(
                    Path(os.environ["SALESDW_DUCKDB_PATH"]), outcome.checks, truth, outcome.success, outcome.warned
                )
                steps = _steps(instance, outcome)
                runs.append(
                    {
                        "run": name,
                        "seconds": wall,
                        "success": outcome.success,
                        "exact": exact,
                        "steps": steps,
                        "dlt": _dlt_phases(outcome),
                        "overhead": wall - sum(s for _, _, s in steps),
                        "rebuilt": outcome.rebuilt,
                        "changed": outcome.changed,
                    }
                )
    finally:
        server.stop()
    return {
        "scale": scale,
        "sandbox": sandbox,
        "world_s": world_s,
        "warm_world_s": warm_world_s,
        "runs": runs,
        "cli": _cli_runs(root, config),
    }


def _cli_runs(root: Path, config: Any) -> list[dict[str, Any]]:
    """Two more runs on the warm warehouse, as a user runs them: the `salesdw run` command timed from its start to
    its exit (interpreter, imports, a new sandbox process reading the kept world, the run, the summary) — an hourly
    run that finds nothing new, and one a day later (``--as-of`` the next day; the world of that day was kept by
    the run "a day later" above)."""
    from datetime import timedelta

    (root / "warm" / "sandbox_cache").symlink_to(root / "sandbox_cache")  # as it lies next to a warehouse
    runs = []
    for name, as_of in (("nothing changed", config.as_of), ("a day later", config.as_of + timedelta(days=1))):
        argv = [str(Path(sys.executable).parent / "salesdw"), "run", "--scale", str(config.scale)]
        argv += ["--seed", str(config.seed), "--as-of", as_of.isoformat()]
        started = time.monotonic()
        done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
        seconds = time.monotonic() - started
        said = [line for line in done.stdout.splitlines() if line.startswith("[salesdw]")]
        runs.append(
            {
                "run": name,
                "seconds": seconds,
                "exact": "reconciliation with sandbox truth: exact" in done.stdout,
                "rebuilt": "nothing new was loaded" not in done.stdout,
                "exit": done.returncode,
                "said": said,
            }
        )
    return runs


def run_scale(scale: float, seed: int, as_of: date, sandbox: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench_main_{scale}_") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [
            sys.executable,
            __file__,
            "--child",
            json.dumps(
                {
                    "scale": scale,
                    "seed": seed,
                    "as_of": as_of.isoformat(),
                    "root": tmp,
                    "out": str(out),
                    "sandbox": sandbox,
                }
            ),
        ]
        print(
            f"[bench] scale {scale}, sandbox in a {sandbox}: world, full run, nothing changed, a day later", flush=True
        )
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        _, status, usage = os.wait4(proc.pid, 0)
        if status != 0:
            raise SystemExit(f"[bench] scale {scale}: the child failed (status {status})")
        result = json.loads(out.read_text())
        result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux: KiB
        result["process_s"] = time.monotonic() - started
        return result


def _step_group(step: str) -> str:
    if step.startswith("ingest_"):
        return "ingest " + step.removeprefix("ingest_")
    if step.startswith("dbt_"):
        return step
    return "checks" if "check" in step or step.startswith("gx") else step


def render(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        lines.append(
            f"\n## scale {r['scale']}, sandbox in a {r['sandbox']}: world build {r['world_s']:.1f} s "
            f"(warm cache: {r['warm_world_s']:.1f} s), peak RSS {r['peak_rss_mb']:.0f} MB"
        )
        names = [run["run"] for run in r["runs"]]
        lines.append("| phase | " + " | ".join(names) + " |")
        lines.append("|---|" + "---:|" * len(names))
        table: dict[str, dict[str, float]] = defaultdict(dict)
        for run in r["runs"]:
            for _, step, seconds in run["steps"]:
                table[_step_group(step)][run["run"]] = table[_step_group(step)].get(run["run"], 0.0) + seconds
            for source, phases in run["dlt"].items():
                for phase, seconds in phases.items():
                    table[f"  {source}: dlt {phase}"][run["run"]] = seconds
            table["Dagster overhead"][run["run"]] = run["overhead"]
            table["**run total**"][run["run"]] = run["seconds"]
        for phase in sorted(table, key=lambda p: (p == "**run total**", p == "Dagster overhead", p.strip())):
            lines.append(f"| {phase} | " + " | ".join(f"{table[phase].get(n, 0.0):.1f}" for n in names) + " |")
        for run in r["runs"][1:]:
            changed = ", ".join(run["changed"]) or "-"
            lines.append(f"- {run['run']}: models rebuilt: {run['rebuilt']}; raw tables changed: {changed}")
        full = r["runs"][0]["seconds"]
        exact = all(run["exact"] and run["success"] for run in r["runs"])
        lines.append(
            f"\nreconciliation exact and runs succeeded: {exact}; as `salesdw run` sees it (world + full run): "
            f"{r['world_s'] + full:.1f} s cold, {r['warm_world_s'] + r['runs'][-1]['seconds']:.1f} s with the sandbox "
            "cache warm; " + "; ".join(f"{run['run']} ÷ full {run['seconds'] / full:.2f}" for run in r["runs"][1:])
        )
    for r in results:
        for run in r.get("cli", []):
            lines.append(
                f"- `salesdw run` as a user runs it, {run['run']} (scale {r['scale']}): {run['seconds']:.1f} s from "
                f"start to exit; models rebuilt: {run['rebuilt']}; exact: {run['exact']}; exit {run['exit']}"
            )
            lines += [f"  - {line}" for line in run.get("said", [])]
    by_scale = {r["scale"]: r for r in results if r["sandbox"] == results[0]["sandbox"]}
    modes = {(r["scale"], r["sandbox"]): r for r in results}
    for (scale, mode), r in modes.items():
        other = modes.get((scale, "thread"))
        if mode == "process" and other:
            ratio = r["runs"][0]["seconds"] / other["runs"][0]["seconds"]
            lines.append(f"\nscale {scale}: full run with the sandbox in a process ÷ in a thread: {ratio:.2f}")
    if 1.0 in by_scale and 10.0 in by_scale:
        ratio = by_scale[10.0]["runs"][0]["seconds"] / by_scale[1.0]["runs"][0]["seconds"]
        lines.append(f"\nscale 10 ÷ scale 1 (full run): {ratio:.2f}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scales", default="0.1,1")
    p.add_argument("--scale-10", action="store_true", help="also scale 10 (long)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 10, 31))
    p.add_argument("--bare", action="store_true", help="also the bare-loader ingestion bench, in this run")
    p.add_argument(
        "--sandbox",
        default="process,thread",
        help="where the sandbox serves: 'process' (as salesdw run), 'thread' (in the loader's process), or both",
    )
    p.add_argument("--child")
    args = p.parse_args()
    if args.child:
        spec = json.loads(args.child)
        result = child(
            spec["scale"], spec["seed"], date.fromisoformat(spec["as_of"]), Path(spec["root"]), spec["sandbox"]
        )
        Path(spec["out"]).write_text(json.dumps(result))
        return
    scales = [float(s) for s in args.scales.split(",")] + ([10.0] if args.scale_10 else [])
    modes = args.sandbox.split(",")
    results = [run_scale(s, args.seed, args.as_of, mode) for s in scales for mode in modes]
    print(render(results), flush=True)
    if args.bare:
        print("\n## ingestion: dlt path ÷ bare loader (bench/ingestion_throughput.py, same run)", flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "ingestion_throughput.py")], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
