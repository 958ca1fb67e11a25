"""``salesdw``: the command line (README, "Commands"): sandbox serve/truth, run, ui, grants, bi-snapshot.

Production commands never build the simulated company: the sandbox is imported only by the ``sandbox``
commands and by ``run`` without ``--no-sandbox`` (the parser reads the sandbox's option names from its
constants-only modules)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from core.paths import DAGSTER_YAML, DEFAULT_DAGSTER_HOME, PROJECT_ROOT
from core.settings import env_var, settings
from core.warehouse import DSN_ENV, TARGETS, warehouse_path

if TYPE_CHECKING:
    from sandbox.world import WorldConfig


def _world_options(parser: argparse.ArgumentParser) -> None:
    from sandbox.faults import FAULT_MODES
    from sandbox.ratelimit import RATE_LIMIT_MODES
    from sandbox.sim import DEFAULT_AS_OF

    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF, help="YYYY-MM-DD")
    parser.add_argument("--faults", choices=FAULT_MODES, default="none")
    parser.add_argument("--rate-limits", choices=RATE_LIMIT_MODES, default="demo")
    parser.add_argument(
        "--slow-s",
        type=float,
        default=35.0,
        help="delay of a 'slow response' fault (past the clients' 30 s timeout by default)",
    )


def _world(args: argparse.Namespace) -> WorldConfig:
    from sandbox.world import WorldConfig

    return WorldConfig(seed=args.seed, scale=args.scale, as_of=args.as_of)


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


def prepare_dagster_home() -> Path:
    """A persistent DAGSTER_HOME whose dagster.yaml is the project's (runs show up in `salesdw ui`)."""
    from orchestration.event_log import enable_event_batches

    home = Path(os.environ.setdefault("DAGSTER_HOME", str(DEFAULT_DAGSTER_HOME)))
    enable_event_batches()  # planned events and per-partition materializations stored in one transaction
    home.mkdir(parents=True, exist_ok=True)
    target, source = home / "dagster.yaml", DAGSTER_YAML
    if not target.exists():
        target.write_text(source.read_text())
    elif target.read_text() != source.read_text():  # the user's own: backed up, never lost
        backup = home / f"dagster.yaml.{time.strftime('%Y%m%dT%H%M%S')}.bak"
        target.replace(backup)
        target.write_text(source.read_text())
        print(f"[salesdw] {target} differed from the project's: yours is kept as {backup}", file=sys.stderr, flush=True)
    return home


def cmd_sandbox_serve(args: argparse.Namespace) -> int:
    from sandbox.server import SandboxApp, SandboxServer

    app = SandboxApp(_world(args), rate_limits=args.rate_limits, faults=args.faults, slow_s=args.slow_s)
    server = SandboxServer(app, host=args.host, port=args.port)
    print(
        f"sandbox serving seed={args.seed} scale={args.scale} as_of={args.as_of} on {server.url} "
        f"(rate limits: {args.rate_limits}, faults: {args.faults}); Ctrl-C stops",
        flush=True,
    )
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def cmd_sandbox_truth(args: argparse.Namespace) -> int:
    from sandbox.truth import compute_truth
    from sandbox.world import build_world

    text = json.dumps(compute_truth(build_world(_world(args)), faults=args.faults), indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from core.warehouse import activate, describe_target
    from orchestration.run_guard import future_as_of

    if not args.no_sandbox and (reason := future_as_of(args.as_of)):  # refused before anything starts
        print(f"salesdw run: {reason}", file=sys.stderr)
        return 2
    os.environ[env_var("duckdb_path")] = str(warehouse_path())
    activate(args.target)  # postgres: the database is created if missing; dbt and dlt follow the target
    prepare_dagster_home()
    truth = None
    server = None
    started = time.monotonic()
    if not args.no_sandbox:
        # the sandbox serves from a process of its own (sandbox/process.py): its rendering runs on the other core
        from sandbox.process import SandboxProcess

        world = _world(args)
        port = args.port if _port_free("127.0.0.1", args.port) else 0
        print(
            f"[salesdw] building sandbox world seed={world.seed} scale={world.scale} as_of={world.as_of} ...",
            flush=True,
        )
        server = SandboxProcess(
            world,
            rate_limits=args.rate_limits,
            faults=args.faults,
            slow_s=args.slow_s,
            port=port,
            cache_dir=warehouse_path().parent / "sandbox_cache",  # its world and renderings kept (world_cache.py)
        ).spawn()
    try:
        from dagster import DagsterInstance

        from orchestration.definitions import load_definitions
        from orchestration.runner import run_main_job

        load_definitions()  # while the sandbox starts, on the other core (the definitions need no source)
        if server:
            from sandbox.connect import sandbox_env

            url, truth = server.wait_ready()
            os.environ.update(sandbox_env(url))
            print(f"[salesdw] sandbox on {url}; loading into {describe_target()}", flush=True)
        with DagsterInstance.get() as instance:
            outcome = run_main_job(
                instance,
                full_refresh=args.full_refresh,
                log_level=args.log_level,
                notify=lambda line: print(f"[salesdw] {line}", flush=True),
            )
    finally:
        if server:
            server.stop()
    if not outcome.rebuilt:
        print("[salesdw] nothing new was loaded since the last build: the models stand as it left them", flush=True)
    from cli.errors import RunFailure
    from cli.failures import failure_lines
    from cli.summary import render_summary

    failures = failure_lines(outcome.all_events)  # the lines that matter first, alone (tracebacks: the run log)
    for line in failures:
        print(f"salesdw run: {line}", file=sys.stderr, flush=True)
    if args.target == "duckdb" and not warehouse_path().is_file():  # nothing was loaded: no summary to read
        raise RunFailure(failures[0] if failures else f"nothing was written to {warehouse_path()}")
    text, reconciled = render_summary(warehouse_path(), outcome.checks, truth, outcome.success, outcome.warned)
    print("\n" + text)
    print(f"[salesdw] finished in {time.monotonic() - started:.0f}s", flush=True)
    if failures:
        raise RunFailure(f"{len(failures)} step(s) failed, first: {failures[0].removeprefix('step ')}")
    return 0 if outcome.success and reconciled and not outcome.failed_checks else 1


def cmd_ui(args: argparse.Namespace) -> int:
    from core.warehouse import activate

    home = prepare_dagster_home()
    os.environ[env_var("duckdb_path")] = str(warehouse_path())
    activate()  # SALESDW_TARGET: runs started in the UI load and build there
    dagster = Path(sys.executable).parent / "dagster"
    argv = [str(dagster), "dev", "-m", "orchestration.definitions", "-h", args.host, "-p", str(args.port)]
    print(f"[salesdw] Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={home})", flush=True)
    os.chdir(PROJECT_ROOT)
    os.execv(argv[0], argv)
    return 0


def cmd_grants(args: argparse.Namespace) -> int:
    """Least-privilege reader roles on the PostgreSQL warehouse (bi/grants.py); idempotent."""
    if args.target != "postgres":
        print(
            "salesdw grants: DuckDB has no roles; BI tools open the file read-only (README, 'Connecting a BI tool')",
            file=sys.stderr,
        )
        return 2
    import psycopg2

    from bi.grants import apply_grants, connect, redact

    conn = None
    try:
        conn = connect(args.dsn)
        report = apply_grants(conn, writers=args.writer)
    except psycopg2.Error as exc:
        print(f"salesdw grants failed: {redact(str(exc).strip(), args.dsn)}", file=sys.stderr)
        return 1
    finally:
        if conn is not None:
            conn.close()
    print(report.render())
    return 0


def cmd_bi_snapshot(args: argparse.Namespace) -> int:
    """Copy marts + finance into a file BI tools can hold open while runs write the warehouse."""
    from bi.snapshot import UnsafeSnapshotTarget, default_snapshot_path, write_snapshot

    source = warehouse_path()
    if not source.is_file():
        print(f"salesdw bi-snapshot: no warehouse at {source} (run `salesdw run` first)", file=sys.stderr)
        return 1
    out = Path(args.out).resolve() if args.out else default_snapshot_path(source)
    try:
        counts = write_snapshot(source, out)
    except UnsafeSnapshotTarget as exc:
        print(f"salesdw bi-snapshot: {exc}", file=sys.stderr)
        return 2
    print(f"BI snapshot {out}: {len(counts)} tables, {sum(counts.values())} rows from {source}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="salesdw", description="Sales Warehouse: sandbox -> dlt -> DuckDB -> dbt -> Dagster"
    )
    sub = p.add_subparsers(dest="command", required=True)
    sandbox = sub.add_parser("sandbox", help="the simulated company's APIs").add_subparsers(
        dest="sandbox_command", required=True
    )
    serve = sandbox.add_parser("serve", help="serve the sandbox APIs")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    _world_options(serve)
    serve.set_defaults(func=cmd_sandbox_serve)
    truth = sandbox.add_parser("truth", help="write the world's ground truth as JSON")
    _world_options(truth)
    truth.add_argument("--out", help="file to write (default: stdout)")
    truth.set_defaults(func=cmd_sandbox_truth)
    run = sub.add_parser("run", help="the main job: sandbox -> dlt -> warehouse -> dbt build -> checks, then a summary")
    run.add_argument(
        "--target",
        choices=TARGETS,
        default=settings().target,
        help=f"warehouse: a DuckDB file (default) or PostgreSQL ({DSN_ENV} or PG* env vars)",
    )
    run.add_argument("--full-refresh", action="store_true", help="drop raw tables and cursors, load everything again")
    run.add_argument("--no-sandbox", action="store_true", help="use the sources configured in .dlt / env instead")
    run.add_argument("--port", type=int, default=8700, help="sandbox port (a free one if taken)")
    run.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    _world_options(run)
    run.set_defaults(func=cmd_run)
    ui = sub.add_parser("ui", help="start the Dagster UI on this project")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)
    grants = sub.add_parser("grants", help="create/refresh the read-only BI roles bi_reader and finance_reader")
    grants.add_argument("--target", choices=("duckdb", "postgres"), default="postgres")
    grants.add_argument("--dsn", help="libpq DSN or URI (default: the PG* environment, database salesdw)")
    grants.add_argument(
        "--writer",
        action="append",
        default=[],
        help="a role that creates warehouse tables (dbt's user), if not the schema owner or you",
    )
    grants.set_defaults(func=cmd_grants)
    snapshot = sub.add_parser("bi-snapshot", help="copy marts + finance into a DuckDB file for BI tools to hold open")
    snapshot.add_argument("--out", help="default: next to the warehouse, <name>_bi.duckdb")
    snapshot.set_defaults(func=cmd_bi_snapshot)
    from cli.report import add_parser as add_report_parser

    add_report_parser(sub, settings().target)
    return p


def main(argv: list[str] | None = None) -> int:
    from cli.errors import report
    from cli.validate import validate

    # `salesdw.*` loggers (ingestion progress) reach the console and the UI through Dagster (dagster.yaml)
    logging.getLogger("salesdw").setLevel(logging.INFO)
    try:
        p = parser()  # reads SALESDW_TARGET for a default
    except Exception as exc:
        return report(exc, "salesdw", "DEBUG" in (argv or sys.argv))
    p.add_argument(
        "--log-level", dest="global_log_level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )
    args = p.parse_args(argv)  # a usage error: argparse's one line, exit 2
    debug = "DEBUG" in (args.global_log_level, getattr(args, "log_level", None))
    if debug and hasattr(args, "log_level"):
        args.log_level = "DEBUG"  # `salesdw --log-level DEBUG run`: Dagster's console shows the tracebacks too
    command = " ".join(filter(None, ["salesdw", args.command, getattr(args, "sandbox_command", None)]))
    try:
        validate(args)  # options and configuration, before any work (cli/validate.py)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line (cli/errors.py); the traceback with --log-level DEBUG
        return report(exc, command, debug)


if __name__ == "__main__":
    sys.exit(main())
