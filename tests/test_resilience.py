"""Interrupted loads resume to exactly what a clean load has; secrets never reach logs or errors."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from ingestion.http.session import IngestionHTTPError
from ingestion.pipelines import SOURCES, load, loader_file_format, make_pipeline
from sandbox import shopify_bulk
from sandbox.server import SandboxApp, SandboxServer
from sandbox.truth import compute_truth
from sandbox.world import World
from tests.conftest import TEST_WORLD
from tests.helpers import logged

LOAD = "import sys; from pathlib import Path; from ingestion.pipelines import SOURCES, load, loader_file_format, make_pipeline; load(sys.argv[1], duckdb_path=Path(sys.argv[2]))"


def _start_load(key: str, path: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", LOAD, key, str(path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _snapshot(path: Path) -> dict[str, object]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            "orders": con.execute(
                "select count(*), count(distinct id), sum(cast(current_total_price_set__shop_money__amount as "
                "decimal(18,2))), max(updated_at) from raw_shopify.orders"
            ).fetchone(),
            "lines": con.execute(
                "select count(*), count(distinct id), sum(quantity), sum(current_quantity) "
                "from raw_shopify.orders__line_items"
            ).fetchone(),
            "refunds": con.execute("select count(*), count(distinct id) from raw_shopify.orders__refunds").fetchone(),
            **{
                table: con.execute(f"select count(*), count(distinct id) from raw_shopify.{table}").fetchone()
                for table in ("customers", "products", "abandoned_checkouts")
            },
        }


def _assert_complete(snapshot: dict[str, object], world: World) -> None:
    """A clean load has every record of the world (the sandbox's truth): the reference resumed loads are held to."""
    truth = compute_truth(world)["record_counts"]
    counts = {table: snapshot[table][:2] for table in ("orders", "customers", "products", "abandoned_checkouts")}
    assert counts == {
        table: (truth[f"shopify.{key}"],) * 2
        for table, key in (
            ("orders", "orders"),
            ("customers", "customers"),
            ("products", "products"),
            ("abandoned_checkouts", "checkouts"),
        )
    }
    assert snapshot["lines"][0] == truth["shopify.orders.line_items"]
    assert snapshot["refunds"][0] == truth["shopify.orders.refunds"]


def _bulk_operations(app: SandboxApp) -> list[shopify_bulk.BulkOp]:
    """The bulk operations the sandbox shop has run, oldest first."""
    return sorted(shopify_bulk.state(app).ops.values(), key=lambda op: op.ident)


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"still waiting after {timeout_s:.0f}s: {what}"
        time.sleep(0.02)


@pytest.mark.slow
def test_a_load_killed_at_any_point_and_rerun_equals_a_clean_load(tmp_path: Path) -> None:
    """A load is killed (SIGKILL) while its bulk operations run and their records stream in, as the last ones
    run, while it normalizes and while it loads; the next run leaves the raw layer exactly as a clean load."""
    from sandbox.connect import sandbox_env

    # a long load: the shop's real pace for bulk operations (each queues, then writes at a bounded rate) and many
    # creation windows, five operations at a time, the records of each extracted as soon as it completes
    windows = {"SOURCES__SHOPIFY__ORDER_WINDOWS": "12", "SOURCES__SHOPIFY__CHECKOUT_WINDOWS": "8"}
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="real"), port=0) as sandbox:
        app, env = sandbox.app, {**os.environ, **sandbox_env(sandbox.url), **windows}
        clean = tmp_path / "clean" / "wh.duckdb"
        assert _start_load("shopify", clean, env).wait(timeout=300) == 0
        expected = _snapshot(clean)
        _assert_complete(expected, app.world)
        # the clean load's course: its bulk operations, then (timed from the last one's completion) normalize, load
        operations = _bulk_operations(app)
        last_done = max(op.completed_at for op in operations if op.completed_at).timestamp()
        steps = {
            s.step: (s.started_at.timestamp(), s.finished_at.timestamp())
            for s in make_pipeline("shopify", clean).last_trace.steps
        }
        assert last_done - steps["extract"][0] > 3.0  # long enough to be killed mid-way
        (normalize_from, normalize_to), (load_from, load_to) = steps["normalize"], steps["load"]
        assert last_done < normalize_from
        kills = (  # (when, bulk operations of the run completed by then, seconds after that)
            ("a third into its bulk operations", len(operations) // 3, 0.0),
            ("as its last bulk operations run", len(operations) - 3, 0.0),
            ("normalizing", len(operations), normalize_from + (normalize_to - normalize_from) / 3 - last_done),
            ("loading", len(operations), (load_from + load_to) / 2 - last_done),
        )
        for name, done, delay in kills:
            # as on the clean load, the shop's bulk slots are free (a killed load's operations run on without it)
            _wait_for(
                lambda: all(op.status not in ("CREATED", "RUNNING") for op in _bulk_operations(app)),
                "the bulk operations of the killed load to end",
            )
            before = len(_bulk_operations(app))
            target = tmp_path / name.replace(" ", "_") / "wh.duckdb"
            process = _start_load("shopify", target, env)
            _wait_for(
                lambda process=process, before=before, done=done: (
                    process.poll() is not None
                    or sum(op.status == "COMPLETED" for op in _bulk_operations(app)[before:]) >= done
                ),
                f"{done} bulk operations of the load to be killed {name}",
            )
            time.sleep(delay)
            assert process.poll() is None, f"the load ended before it was killed {name}"
            process.send_signal(signal.SIGKILL)
            process.wait()
            assert _start_load("shopify", target, env).wait(timeout=300) == 0  # the next scheduled run
            assert _snapshot(target) == expected, f"killed {name}"


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
    _assert_complete(_snapshot(clean), sandbox.app.world)
    assert _snapshot(resumed) == _snapshot(clean)


def test_no_secret_appears_in_logs_or_errors_of_a_failing_run(
    tmp_path: Path, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandbox.connect import sandbox_env

    for k, v in sandbox_env(sandbox.url).items():
        monkeypatch.setenv(k, v)
    secrets = {
        "SOURCES__SHOPIFY__CLIENT_SECRET": "shpss_TOPSECRET_4242",  # wrong: the token exchange fails
        "SOURCES__SHOPIFY__ACCESS_TOKEN": "shpat_TOPSECRET_4243",  # a legacy token set beside it: unused, unlogged
        "SOURCES__AMAZON__CLIENT_SECRET": "amzn-TOPSECRET-77",
    }
    for k, v in secrets.items():
        monkeypatch.setenv(k, v)
    messages: dict[str, str] = {}
    with logged(level=logging.DEBUG) as lines:
        for key in ("shopify", "amazon"):
            with pytest.raises(Exception) as failure:
                load(key, duckdb_path=tmp_path / "wh.duckdb")
            chain, exc = [], failure.value
            while exc is not None:
                chain.append(exc)
                exc = exc.__cause__ or exc.__context__
            assert any(isinstance(e, IngestionHTTPError) for e in chain), f"{key}: {failure.value!r}"
            messages[key] = "\n".join(repr(e) + str(e) for e in chain)
    # the failure says what went wrong: Shopify's token endpoint answers 400, Amazon's 401, both invalid_client...
    assert "400" in messages["shopify"] and "invalid_client" in messages["shopify"]
    assert "401" in messages["amazon"] and "invalid_client" in messages["amazon"]
    text = "\n".join(lines + list(messages.values()))
    for secret in secrets.values():
        assert secret not in text  # ...without the secret


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
