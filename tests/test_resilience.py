"""Interrupted loads resume to exactly what a clean load has; secrets never reach logs or errors."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from ingestion.http.session import IngestionHTTPError
from ingestion.pipelines import SOURCES, load, loader_file_format, make_pipeline
from sandbox.server import SandboxServer

LOAD = "import sys; from pathlib import Path; from ingestion.pipelines import SOURCES, load, loader_file_format, make_pipeline; load(sys.argv[1], duckdb_path=Path(sys.argv[2]))"


def _start_load(key: str, path: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", LOAD, key, str(path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _snapshot(path: Path) -> dict[str, object]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            "orders": con.execute(
                "select count(*), count(distinct id), sum(cast(total_price as decimal(18,2))), "
                "max(updated_at) from raw_shopify.orders"
            ).fetchone(),
            "lines": con.execute(
                "select count(*), count(distinct id), sum(quantity) from raw_shopify.orders__line_items"
            ).fetchone(),
            "refunds": con.execute("select count(*), count(distinct id) from raw_shopify.orders__refunds").fetchone(),
        }


@pytest.mark.slow
def test_a_load_killed_at_any_point_and_rerun_equals_a_clean_load(tmp_path: Path, sandbox: SandboxServer) -> None:
    from sandbox.connect import sandbox_env

    env = {**os.environ, **sandbox_env(sandbox.url), "SOURCES__SHOPIFY__PAGE_SIZE": "5"}  # many pages: a long load
    clean = tmp_path / "clean.duckdb"
    started = time.monotonic()
    assert _start_load("shopify", clean, env).wait(timeout=300) == 0
    duration = time.monotonic() - started
    expected = _snapshot(clean)
    assert expected["orders"][0] == len(sandbox.app.world.shopify_orders)
    for fraction in (0.35, 0.6, 0.8, 0.95):
        target = tmp_path / f"killed_{fraction}.duckdb"
        process = _start_load("shopify", target, env)
        time.sleep(duration * fraction)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert _start_load("shopify", target, env).wait(timeout=300) == 0  # the next scheduled run
        assert _snapshot(target) == expected, f"killed at {fraction:.0%} of a clean load's time"


def test_a_run_that_finishes_a_killed_runs_pending_load_equals_a_clean_load(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """A run killed after normalizing leaves a pending load package: the next load() loads it and the raw layer
    is exactly a clean load's."""
    from sandbox.connect import sandbox_env
    from tests.helpers import environment

    clean, resumed = tmp_path / "clean.duckdb", tmp_path / "resumed.duckdb"
    with environment(sandbox_env(sandbox.url)):
        load("shopify", duckdb_path=clean)
        pipeline = make_pipeline("shopify", resumed)
        pipeline.extract(SOURCES["shopify"].factory(), loader_file_format=loader_file_format())
        pipeline.normalize()  # killed here: normalized, never loaded
        assert pipeline.list_normalized_load_packages()
        result = load("shopify", duckdb_path=resumed)
    assert result.table_rows["orders"] == len(sandbox.app.world.shopify_orders)
    assert _snapshot(resumed) == _snapshot(clean)


def test_no_secret_appears_in_logs_or_errors_of_a_failing_run(
    tmp_path: Path, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandbox.connect import sandbox_env

    for k, v in sandbox_env(sandbox.url).items():
        monkeypatch.setenv(k, v)
    secrets = {
        "SOURCES__SHOPIFY__ACCESS_TOKEN": "shpat_TOPSECRET_4242",
        "SOURCES__AMAZON__CLIENT_SECRET": "amzn-TOPSECRET-77",
    }
    for k, v in secrets.items():
        monkeypatch.setenv(k, v)
    captured = _Capture()
    root = logging.getLogger()
    root.addHandler(captured)
    old_level, root.level = root.level, logging.DEBUG
    messages: list[str] = []
    for key in ("shopify", "amazon"):
        with pytest.raises(Exception) as failure:
            load(key, duckdb_path=tmp_path / "wh.duckdb")
        chain, exc = [], failure.value
        while exc is not None:
            chain.append(exc)
            exc = exc.__cause__ or exc.__context__
        assert any(isinstance(e, IngestionHTTPError) for e in chain), f"{key}: {failure.value!r}"
        messages += [repr(e) + str(e) for e in chain]
    root.removeHandler(captured)
    root.setLevel(old_level)
    text = "\n".join(captured.lines + messages)
    assert "401" in text and "invalid_client" in text  # the failure says what went wrong...
    for secret in secrets.values():
        assert secret not in text  # ...without the secret


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_rows_replayed_by_a_resumed_load_are_removed_and_nothing_else(tmp_path: Path) -> None:
    from ingestion.integrity import remove_replayed_rows

    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw_x")
        con.execute("create table raw_x.orders (id bigint, total varchar, _dlt_id varchar)")
        # rows 1-3 as loaded; row 2 replayed by a retried copy job; row 4 a distinct record with equal values
        con.execute(
            "insert into raw_x.orders values (1,'5.00','a'), (2,'7.00','b'), (2,'7.00','b'), (3,'1.00','c'),"
            " (3,'1.00','d')"
        )
    assert remove_replayed_rows(path, "raw_x") == {"orders": 1}
    assert remove_replayed_rows(path, "raw_x") == {}
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select id, _dlt_id from raw_x.orders order by 2").fetchall() == [
            (1, "a"),
            (2, "b"),
            (3, "c"),
            (3, "d"),
        ]
