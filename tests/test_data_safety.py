"""Data safety (issue 21): a killed run never blocks later runs, no command overwrites the warehouse,
credentials never leave a URL, the summary sees what is missing, the user's dagster.yaml is kept, one clock."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import requests
from dagster import JobDefinition

from core.paths import DAGSTER_YAML, PROJECT_ROOT

ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, env=env or ENV, cwd=PROJECT_ROOT
    )


def _tiny_job() -> JobDefinition:
    """A one-op job: something for a run in a test instance to belong to."""
    from dagster import job, op

    @op
    def noop() -> None: ...

    @job
    def tiny() -> None:
        noop()

    return tiny


# 1. a run killed with kill -9 keeps its pool slot and stays STARTED: reaped before the next run
def test_a_dead_runs_pool_slot_is_freed_and_the_run_marked_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance, DagsterRunStatus

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))  # the project's event log lives under DAGSTER_HOME

    from orchestration.run_guard import HOST_TAG, PID_TAG, pool_holders, reap_dead_runs

    tiny = _tiny_job()
    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML.read_text())
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid is gone, as a process killed with kill -9
    import socket

    with DagsterInstance.from_config(str(tmp_path)) as instance:
        run = instance.create_run_for_job(tiny, tags={PID_TAG: str(dead.pid), HOST_TAG: socket.gethostname()})
        instance.report_run_failed  # noqa: B018 (exists)
        from dagster._core.events import DagsterEvent, DagsterEventType

        instance.report_dagster_event(
            DagsterEvent(DagsterEventType.PIPELINE_START.value, job_name=run.job_name), run_id=run.run_id
        )
        storage = instance.event_log_storage
        storage.set_concurrency_slots("duckdb_warehouse", 1)
        assert storage.claim_concurrency_slot("duckdb_warehouse", run.run_id, "noop").is_claimed
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED
        assert len(pool_holders(instance)) == 1  # before: the next run waits on it forever
        assert reap_dead_runs(instance) == [run.run_id]
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
        assert storage.get_concurrency_info("duckdb_warehouse").claimed_slots == []
        assert pool_holders(instance) == []
    assert f"run {run.run_id}" in capsys.readouterr().err


def test_a_live_holder_is_named_not_reaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))

    from orchestration.run_guard import reap_dead_runs, report_pool_holders, run_tags

    tiny = _tiny_job()
    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML.read_text())
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with DagsterInstance.from_config(str(tmp_path)) as instance:
            tags = {**run_tags(), "salesdw/pid": str(sleeper.pid)}
            run = instance.create_run_for_job(tiny, tags=tags)
            instance.event_log_storage.set_concurrency_slots("duckdb_warehouse", 1)
            instance.event_log_storage.claim_concurrency_slot("duckdb_warehouse", run.run_id, "noop")
            assert reap_dead_runs(instance) == []
            assert len(report_pool_holders(instance)) == 1
    finally:
        sleeper.kill()
        sleeper.wait()
    err = capsys.readouterr().err
    assert f"held by run {run.run_id}" in err and f"pid {sleeper.pid}" in err


# 2. bi-snapshot --out <the warehouse> replaced the warehouse
def _warehouse(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw_shopify; create table raw_shopify.orders as select 1 as id")
        con.execute("create schema marts; create table marts.t as select 42 as n")


def test_bi_snapshot_refuses_the_warehouse_and_other_non_snapshot_files(tmp_path: Path) -> None:
    wh = tmp_path / "warehouse.duckdb"
    _warehouse(wh)
    env = {**ENV, "SALESDW_DUCKDB_PATH": str(wh)}
    result = _cli("bi-snapshot", "--out", str(wh), env=env)
    assert result.returncode == 2 and "is the warehouse itself" in result.stderr
    other = tmp_path / "other.duckdb"
    _warehouse(other)
    result = _cli("bi-snapshot", "--out", str(other), env=env)
    assert result.returncode == 2 and "not a BI snapshot" in result.stderr
    with duckdb.connect(str(wh), read_only=True) as con:  # the warehouse keeps its raw layer
        assert con.execute("select count(*) from raw_shopify.orders").fetchone()[0] == 1
    snap = tmp_path / "bi.duckdb"
    assert _cli("bi-snapshot", "--out", str(snap), env=env).returncode == 0
    assert _cli("bi-snapshot", "--out", str(snap), env=env).returncode == 0  # a snapshot is replaced
    with duckdb.connect(str(snap), read_only=True) as con:
        assert con.execute("select n from marts.t").fetchone()[0] == 42


# 3. credentials in a source URL
def test_userinfo_never_reaches_logs_or_errors() -> None:
    import io

    from ingestion.http.session import IngestionHTTPError, ResilientSession

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    root.addHandler(handler)
    dlt_logger = logging.getLogger("dlt")  # dlt may have stopped its logger propagating to the root
    if not dlt_logger.propagate:
        dlt_logger.addHandler(handler)
    level, root.level = root.level, logging.WARNING
    try:
        session = ResilientSession("shopify", "orders", max_attempts=2, backoff_s=0.0, timeout_s=0.5)
        with pytest.raises(IngestionHTTPError) as err:
            session.get("http://key:s3cret@127.0.0.1:9/orders")  # nothing listens on port 9
        logging.getLogger("dlt").warning("fetching %s", "https://key:s3cret@example.com/x")
    finally:
        root.removeHandler(handler)
        dlt_logger.removeHandler(handler)
        root.level = level
    text = str(err.value) + buffer.getvalue()
    assert "127.0.0.1:9" in text and "retrying" in text
    assert "s3cret" not in text and "key:" not in text and "https://***@example.com/x" in text


def test_an_http_error_of_a_response_hook_is_redacted() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from ingestion.http.session import IngestionHTTPError, ResilientSession

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None: ...

    server = HTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        session = ResilientSession("crm", "deals", max_attempts=1)

        def fail(response: requests.Response, **_: object) -> None:
            raise requests.HTTPError(f"500 Server Error for url: {response.url}")

        with pytest.raises(IngestionHTTPError) as err:
            session.get(f"http://key:s3cret@127.0.0.1:{server.server_port}/x", hooks={"response": [fail]})
        assert "s3cret" not in str(err.value) and "***@127.0.0.1" in str(err.value)
    finally:
        server.shutdown()


# 4. the summary said "exact" with a table and a channel of the truth missing
def test_summary_names_what_the_truth_has_and_the_warehouse_lacks(tmp_path: Path) -> None:
    from cli.summary import MONEY, render_summary

    wh = tmp_path / "w.duckdb"
    with duckdb.connect(str(wh)) as con:
        con.execute("create schema raw_shopify; create table raw_shopify.orders as select * from range(3)")
        con.execute(
            "create schema marts; create table marts.channel_revenue_daily as select 'shopify' as channel, "
            f"3 as orders, {', '.join(f'10.00::decimal(18,2) as {m}' for m in MONEY)}"
        )
    shop = {"month": "2026-10", "channel": "shopify", "orders": 3, **{m: "10.00" for m in MONEY}}
    truth = {"record_counts": {"shopify.orders": 3}, "monthly": [shop]}
    text, ok = render_summary(wh, [], truth, True)
    assert ok and "exact" in text  # all the truth is there
    truth = {
        "record_counts": {"shopify.orders": 3, "amazon.orders": 2},
        "monthly": [shop, {**shop, "channel": "amazon", "orders": 2}],
    }
    text, ok = render_summary(wh, [], truth, True)
    assert not ok and "MISMATCH" in text
    assert any(line.startswith("raw_amazon.orders") and "MISSING" in line for line in text.splitlines())
    assert any(line.startswith("amazon") and "MISSING" in line for line in text.splitlines())
    assert Decimal(shop["gross_sales_usd"]) == Decimal("10.00")


# 5. an existing $DAGSTER_HOME/dagster.yaml was replaced silently
def test_the_users_dagster_yaml_is_backed_up_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import prepare_dagster_home

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    mine = "telemetry:\n  enabled: true\n"
    (tmp_path / "dagster.yaml").write_text(mine)
    prepare_dagster_home()
    backups = list(tmp_path.glob("dagster.yaml.*.bak"))
    assert [b.read_text() for b in backups] == [mine]
    assert (tmp_path / "dagster.yaml").read_text() == DAGSTER_YAML.read_text()
    assert str(backups[0]) in capsys.readouterr().err
    prepare_dagster_home()  # the project's own: nothing to back up again
    assert len(list(tmp_path.glob("dagster.yaml.*.bak"))) == 1


# 6. a future --as-of ran for minutes and failed a dbt test (orders without an FX rate)
def test_a_future_as_of_is_refused_up_front_and_a_past_one_is_not(tmp_path: Path) -> None:
    from orchestration.run_guard import future_as_of

    tomorrow = date.today() + timedelta(days=1)
    env = {**ENV, "DAGSTER_HOME": str(tmp_path / "home"), "SALESDW_DUCKDB_PATH": str(tmp_path / "w.duckdb")}
    result = _cli("run", "--scale", "0.01", "--as-of", tomorrow.isoformat(), env=env)
    assert result.returncode == 2 and "after today" in result.stderr
    assert not (tmp_path / "w.duckdb").exists() and not (tmp_path / "home").exists()  # nothing started
    assert future_as_of(date(2026, 10, 31), today=date(2026, 12, 2)) is None
    assert future_as_of(date.today()) is None
