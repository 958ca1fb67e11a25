"""`salesdw report --month YYYY-MM`: the monthly sales report as self-contained HTML and PDF (report/)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core.paths import PROJECT_ROOT


def cmd_report(args: argparse.Namespace) -> int:
    import os

    from core.settings import env_var

    os.environ[env_var("target")] = args.target
    from core.warehouse import connect, warehouse_path
    from report.build import FORMATS, write_report
    from report.data import NoDataError, dagster_check_status, parse_month

    try:
        month = parse_month(args.month)
    except ValueError as exc:
        print(f"salesdw report: {exc}", file=sys.stderr)
        return 2
    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    if not formats or set(formats) - set(FORMATS):
        print(f"salesdw report: --format takes {','.join(FORMATS)}, got {args.format!r}", file=sys.stderr)
        return 2
    if args.target == "duckdb" and not warehouse_path().is_file():
        print(f"salesdw report: no warehouse at {warehouse_path()} (run `salesdw run` first)", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        checks = dagster_check_status()
    except Exception as exc:
        print(f"salesdw report: check results not read from DAGSTER_HOME ({type(exc).__name__})", file=sys.stderr)
        checks = None
    out = Path(args.out) if args.out else PROJECT_ROOT / "data" / "reports"
    try:
        with connect(target=args.target) as con:
            data, files = write_report(con, month, out, formats, checks)
    except NoDataError as exc:
        print(f"salesdw report: {exc}", file=sys.stderr)
        return 2
    flags = (" PROVISIONAL (month still open)" if data.provisional else "") + (
        " FAILING CHECKS" if data.failing_checks else ""
    )
    print(f"report {month:%Y-%m}{flags} in {time.monotonic() - started:.1f}s: " + ", ".join(str(f) for f in files))
    return 0


def add_parser(sub: argparse._SubParsersAction, default_target: str) -> None:
    p = sub.add_parser("report", help="the monthly sales report for management (HTML + PDF)")
    p.add_argument("--month", required=True, help="YYYY-MM")
    p.add_argument("--out", help="folder (default: data/reports)")
    p.add_argument("--format", default="html,pdf", help="html,pdf (default both)")
    p.add_argument("--target", choices=("duckdb", "postgres"), default=default_target)
    p.set_defaults(func=cmd_report)
