"""Helpers shared by the test modules: environment overrides, dbt builds, main-job runs, read-only queries."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import requests
from dagster import DagsterInstance

from core.environment import environment  # noqa: F401  (the tests import it from here)
from core.paths import PROJECT_ROOT
from core.warehouse import connect
from orchestration.runner import RunOutcome, run_main_job
from sandbox import amazon_api

DBT = PROJECT_ROOT / ".venv" / "bin" / "dbt"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def dbt_run_build(warehouse: Path, select: str | Sequence[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    """`dbt build --select ...` against this warehouse (target and logs in tmp), whatever its outcome."""
    nodes = [select] if isinstance(select, str) else list(select)
    return subprocess.run(
        [
            str(DBT),
            "build",
            "--profiles-dir",
            ".",
            "--select",
            *nodes,
            "--target-path",
            str(tmp / "target"),
            "--log-path",
            str(tmp / "logs"),
        ],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "SALESDW_DUCKDB_PATH": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=600,
    )


def dbt_build(warehouse: Path, select: str | Sequence[str], tmp: Path) -> str:
    """`dbt build --select ...` against this warehouse (target and logs in tmp); asserts it passed, returns stdout."""
    result = dbt_run_build(warehouse, select, tmp)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result.stdout


def run_main(log_level: str = "WARNING", instance: DagsterInstance | None = None) -> RunOutcome:
    """Run the main Dagster job (in `instance`, default an ephemeral one); asserts no step and no check failed."""
    if instance is None:
        with DagsterInstance.ephemeral() as ephemeral:
            return run_main(log_level, ephemeral)
    outcome = run_main_job(instance, log_level=log_level)
    assert outcome.success, [e.message for e in outcome.result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert not outcome.failed_checks, outcome.failed_checks
    return outcome


def query(path: Path, sql: str) -> list[tuple]:
    """All rows of one query on a read-only connection to the warehouse: the DuckDB file at path, or the
    PostgreSQL database of the environment when SALESDW_TARGET=postgres."""
    with connect(path, read_only=True) as con:
        return con.rows(sql)


def staging_columns(con: duckdb.DuckDBPyConnection, model: str) -> list[tuple[str, str]]:
    """(column name, data type) of a staging model, in order."""
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'staging' and table_name = ? order by ordinal_position",
        [model],
    ).fetchall()


def amazon_token(base: str) -> dict:
    """Login with Amazon at the sandbox: the demo refresh token traded for an access token (the whole answer)."""
    response = requests.post(
        f"{base}/auth/o2/token",
        timeout=30,
        data={
            "grant_type": "refresh_token",
            "refresh_token": amazon_api.DEMO_REFRESH_TOKEN,
            "client_id": amazon_api.DEMO_CLIENT_ID,
            "client_secret": amazon_api.DEMO_CLIENT_SECRET,
        },
    )
    return response.json()


def amazon_headers(base: str) -> dict[str, str]:
    """The SP-API header of a fresh sandbox access token."""
    return {"x-amz-access-token": amazon_token(base)["access_token"]}


class _Lines(logging.Handler):
    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def logged(name: str = "", level: int = logging.INFO) -> Iterator[list[str]]:
    """The messages logged to logger ``name`` (the root logger when empty) at ``level`` or above while the block
    runs; the logger's level is set to ``level`` for the block and restored after it."""
    logger, lines = logging.getLogger(name or None), _Lines(level)
    old_level = logger.level
    logger.addHandler(lines)
    logger.setLevel(level)
    try:
        yield lines.lines
    finally:
        logger.removeHandler(lines)
        logger.setLevel(old_level)
