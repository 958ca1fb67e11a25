"""Bad input and misconfiguration (issue 20): every `salesdw` command refuses them before doing any work, with
one line on stderr naming what is wrong and what to do, exit 2 (usage/configuration) or 1 (a run failure),
no traceback below --log-level DEBUG, and no secret value in stdout, stderr, the Dagster home or dlt's folders.

Validation cases run the CLI as a user does (a subprocess) and must fail in seconds without building a world;
one real run against the module's sandbox covers the failures the pipeline itself meets (a refused token, a
refused connection)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.paths import PROJECT_ROOT
from sandbox.connect import sandbox_env
from sandbox.server import SandboxServer

SALESDW = [sys.executable, "-m", "cli.main"]
PG_SECRET = "pg-Pw-4d1e8c"  # in every case's environment: it must never be printed or written
BI_SECRET = "bi-Pw-77ac0f"


class Result:
    def __init__(self, done: subprocess.CompletedProcess[str], root: Path, secrets: list[str], seconds: float):
        self.code, self.stdout, self.stderr = done.returncode, done.stdout, done.stderr
        self.root, self.secrets, self.seconds = root, secrets, seconds

    @property
    def line(self) -> str:
        return self.stderr.strip().splitlines()[-1] if self.stderr.strip() else ""


def _files_text(root: Path) -> Iterator[tuple[Path, bytes]]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path, path.read_bytes()


def salesdw(tmp_path: Path, *argv: str, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
    """`salesdw ARGV` in a fresh deployment under tmp_path (warehouse, Dagster home, cwd without .dlt/)."""
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "SALESDW_", "PG", "DAGSTER_HOME"))}
    full = {
        **base,
        "PYTHONPATH": str(PROJECT_ROOT),
        "SALESDW_DUCKDB_PATH": str(tmp_path / "data" / "warehouse.duckdb"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "PGPASSWORD": PG_SECRET,
        "SALESDW_BI_READER_PASSWORD": BI_SECRET,
        **(env or {}),
    }
    secrets = [PG_SECRET, BI_SECRET, *(v for k, v in (env or {}).items() if k.endswith(("SECRET", "TOKEN")))]
    started = time.monotonic()
    done = subprocess.run(
        [*SALESDW, *argv], env=full, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    return Result(done, tmp_path, secrets, time.monotonic() - started)


def assert_refused(result: Result, code: int, *fragments: str, fast: bool = True) -> None:
    """Exit `code`; stderr's last line holds every fragment; no traceback; no secret anywhere."""
    assert result.code == code, (result.code, result.stderr[-3000:])
    for fragment in fragments:
        assert fragment in result.line, (fragment, result.line)
    assert result.line.startswith("salesdw"), result.line
    for text in (result.stdout, result.stderr):
        assert "Traceback" not in text and "Stack Trace" not in text, text[-3000:]
    for secret in result.secrets:
        assert secret not in result.stdout and secret not in result.stderr, secret
        for path, content in _files_text(result.root):  # Dagster home, warehouse folder (dlt pipelines), cwd
            assert secret.encode() not in content, (secret, path)
    if fast:
        assert result.seconds < 5, result.seconds
        assert not (result.root / "data" / "warehouse.duckdb").exists()  # refused before any work


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


# --- options ----------------------------------------------------------------------------------------------


def test_scale_zero(tmp_path: Path) -> None:
    assert_refused(salesdw(tmp_path, "run", "--scale", "0"), 2, "--scale 0 must be a number greater than 0")


def test_scale_negative(tmp_path: Path) -> None:
    assert_refused(salesdw(tmp_path, "sandbox", "truth", "--scale", "-0.5"), 2, "--scale -0.5 must be")


def test_scale_nan(tmp_path: Path) -> None:
    assert_refused(salesdw(tmp_path, "run", "--scale", "nan"), 2, "--scale nan must be")


def test_scale_not_a_number(tmp_path: Path) -> None:
    assert_refused(salesdw(tmp_path, "run", "--scale", "big"), 2, "argument --scale: invalid float value: 'big'")


def test_seed_negative(tmp_path: Path) -> None:
    assert_refused(salesdw(tmp_path, "run", "--seed", "-3"), 2, "--seed -3 must be 0 or more")


def test_as_of_before_the_world(tmp_path: Path) -> None:
    assert_refused(salesdw(tmp_path, "run", "--as-of", "2023-05-01"), 2, "--as-of 2023-05-01 is not after")


def test_as_of_not_a_date(tmp_path: Path) -> None:
    assert_refused(salesdw(tmp_path, "run", "--as-of", "2024-13-01"), 2, "argument --as-of: invalid fromisoformat")


def test_slow_s_negative(tmp_path: Path) -> None:
    assert_refused(salesdw(tmp_path, "run", "--slow-s", "-1"), 2, "--slow-s -1 must be 0 or more")


def test_port_out_of_range(tmp_path: Path) -> None:
    assert_refused(salesdw(tmp_path, "run", "--port", "70000"), 2, "--port 70000 is not a TCP port")


def test_sandbox_serve_on_a_taken_port(tmp_path: Path, taken_port: int) -> None:
    result = salesdw(tmp_path, "sandbox", "serve", "--port", str(taken_port))
    assert_refused(result, 2, f"port {taken_port} on 127.0.0.1 is already in use")


def test_ui_on_a_taken_port(tmp_path: Path, taken_port: int) -> None:
    assert_refused(salesdw(tmp_path, "ui", "--port", str(taken_port)), 2, f"port {taken_port} on 127.0.0.1")


def test_unknown_command(tmp_path: Path) -> None:
    assert_refused(salesdw(tmp_path, "build"), 2, "invalid choice: 'build'")


# --- configuration ----------------------------------------------------------------------------------------


def test_no_source_configured(tmp_path: Path) -> None:
    result = salesdw(tmp_path, "run", "--no-sandbox")
    assert_refused(result, 2, "no source is configured: set SOURCES__", "or drop --no-sandbox")


def test_some_sources_not_configured(tmp_path: Path) -> None:
    env = {"SOURCES__SHOPIFY__SHOP_URL": "http://127.0.0.1:9", "SOURCES__SHOPIFY__ACCESS_TOKEN": "shpat-Tok-91b2"}
    result = salesdw(tmp_path, "run", "--no-sandbox", env=env)
    assert_refused(result, 2, "sources not configured: crm (SOURCES__HUBSPOT__BASE_URL)", "fx (SOURCES__FX__BASE_URL)")
    assert "shopify" not in result.line


def test_duckdb_path_is_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    result = salesdw(tmp_path, "run", env={"SALESDW_DUCKDB_PATH": str(folder)})
    assert_refused(result, 2, f"SALESDW_DUCKDB_PATH {folder} is a directory: point it at a file")


def test_duckdb_path_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("")
    path = tmp_path / "blocker" / "sub" / "warehouse.duckdb"
    result = salesdw(tmp_path, "run", env={"SALESDW_DUCKDB_PATH": str(path)})
    assert_refused(result, 2, f"cannot create its folder, {tmp_path / 'blocker'} is a file")


def test_duckdb_path_folder_cannot_be_created(tmp_path: Path) -> None:
    path = "/proc/salesdw/warehouse.duckdb"  # /proc refuses new folders, even to root
    result = salesdw(tmp_path, "ui", env={"SALESDW_DUCKDB_PATH": path})
    assert_refused(result, 2, "cannot create the folder /proc/salesdw", "choose a writable location")


def test_dagster_home_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "home").write_text("")
    result = salesdw(tmp_path, "run", env={"DAGSTER_HOME": str(tmp_path / "home")})
    assert_refused(result, 2, f"DAGSTER_HOME {tmp_path / 'home'} is a file")


def test_malformed_dsn_key_value_never_quoted(tmp_path: Path) -> None:
    dsn = "host=db.example.com password=Hunter2-dsn-secret dbname"  # `dbname` without `=`: libpq refuses it
    result = salesdw(tmp_path, "run", "--target", "postgres", env={"SALESDW_POSTGRES_DSN": dsn})
    result.secrets += [dsn, "Hunter2-dsn-secret", "Hunter2"]
    assert_refused(result, 2, "SALESDW_POSTGRES_DSN is not a valid PostgreSQL DSN", "value not shown")


def test_dsn_url_with_a_bad_port_never_quoted(tmp_path: Path) -> None:
    dsn = "postgresql://loader:Url-Pw-5e3a@db.example.com:port/salesdw"
    result = salesdw(tmp_path, "run", "--target", "postgres", env={"SALESDW_POSTGRES_DSN": dsn})
    result.secrets += [dsn, "Url-Pw-5e3a"]
    assert_refused(result, 2, "SALESDW_POSTGRES_DSN has a port that is not a number (value not shown)")


def test_malformed_dsn_from_the_target_variable(tmp_path: Path) -> None:
    dsn = "postgresql//admin:Env-Pw-0c1d@db.example.com/salesdw"  # no "://": neither a URL nor key=value
    env = {"SALESDW_TARGET": "postgres", "SALESDW_POSTGRES_DSN": dsn}
    result = salesdw(tmp_path, "ui", env=env)
    result.secrets += [dsn, "Env-Pw-0c1d"]
    assert_refused(result, 2, "neither a postgresql:// URL nor key=value pairs")


def test_grants_malformed_dsn_option(tmp_path: Path) -> None:
    result = salesdw(tmp_path, "grants", "--dsn", "user=admin password='Opt-Pw-9f8e")  # unterminated quote
    result.secrets += ["Opt-Pw-9f8e"]
    assert_refused(result, 2, "salesdw grants: --dsn is not a valid PostgreSQL DSN")


def test_postgres_refusing_connections(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once the socket is closed
    dsn = f"postgresql://loader:Pw-Refused-11@127.0.0.1:{port}/salesdw"
    result = salesdw(tmp_path, "run", "--target", "postgres", env={"SALESDW_POSTGRES_DSN": dsn})
    result.secrets += [dsn, "Pw-Refused-11"]
    assert_refused(result, 1, "cannot reach the PostgreSQL warehouse", f"port {port} failed: Connection refused")


def test_pgport_not_a_number(tmp_path: Path) -> None:
    result = salesdw(tmp_path, "run", "--target", "postgres", env={"PGPORT": "fivefourthreetwo"})
    assert_refused(result, 2, "PGPORT='fivefourthreetwo' is not a port number")


def test_settings_variable_not_a_number(tmp_path: Path) -> None:
    result = salesdw(tmp_path, "run", env={"SALESDW_HTTP_TIMEOUT_S": "soon"})
    assert_refused(result, 2, "SALESDW_HTTP_TIMEOUT_S='soon' is not a float: fix or unset the variable")


def test_unknown_target_variable(tmp_path: Path) -> None:
    result = salesdw(tmp_path, "bi-snapshot", env={"SALESDW_TARGET": "oracle"})
    assert_refused(result, 2, "SALESDW_TARGET='oracle': expected one of duckdb, postgres")


def test_truth_out_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("")
    result = salesdw(tmp_path, "sandbox", "truth", "--scale", "0.01", "--out", str(tmp_path / "blocker" / "t.json"))
    assert_refused(result, 2, "salesdw sandbox truth: --out", "is a file")


def test_grants_on_duckdb(tmp_path: Path) -> None:
    assert_refused(salesdw(tmp_path, "grants", "--target", "duckdb"), 2, "DuckDB has no roles")


def test_unexpected_error_is_one_line_and_traceback_only_with_debug(tmp_path: Path) -> None:
    """A warehouse file that is not a DuckDB database: the library's error in one line, exit 1."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "warehouse.duckdb").write_text("not a database")
    result = salesdw(tmp_path, "bi-snapshot")
    assert_refused(result, 1, "salesdw bi-snapshot failed:", "rerun with --log-level DEBUG", fast=False)
    debug = salesdw(tmp_path, "--log-level", "DEBUG", "bi-snapshot")
    assert debug.code == 1 and "Traceback" in debug.stderr
    assert debug.line.startswith("salesdw bi-snapshot failed:")


# --- a run that fails: wrong token, refused connection ----------------------------------------------------


def test_run_with_a_wrong_token_and_a_refused_connection(tmp_path: Path, sandbox: SandboxServer) -> None:
    """Every credential wrong (each source fails at once), FX's URL refusing connections: one line per failed
    step (source/resource, HTTP status, what to check) before the summary, none of Dagster's or dlt's
    tracebacks on the terminal, exit 1, and the wrong secrets nowhere."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens once the socket is closed
    env = sandbox_env(sandbox.url)
    for key in env:
        if key.endswith(("TOKEN", "SECRET")):
            env[key] = f"wrong-{key.split('__')[1].lower()}-Sec-{len(key)}"
    env["SOURCES__FX__BASE_URL"] = closed
    result = salesdw(tmp_path, "run", "--no-sandbox", env=env, timeout=300)
    assert_refused(result, 1, "step(s) failed, first:", fast=False)
    lines = result.stderr.splitlines()
    crm = next(i for i, x in enumerate(lines) if x.startswith("salesdw run: step ingest_crm failed:"))
    assert "HTTP 401 from GET" in lines[crm] and "check the source's credentials (SOURCES__HUBSPOT__*" in lines[crm]
    fx = next(x for x in lines if x.startswith("salesdw run: step ingest_fx failed:"))
    assert f"cannot connect to {closed}" in fx and "check SOURCES__FX__BASE_URL" in fx
    # the failure lines come before the summary (stdout is printed after them)
    assert "Run: FAILED" in result.stdout
    # the Dagster run log keeps the full error
    event_logs = b"".join(c for p, c in _files_text(tmp_path / "dagster_home") if p.suffix == ".db")
    assert b"IngestionHTTPError" in event_logs


def test_a_failed_dbt_build_names_the_failing_node(tmp_path: Path) -> None:
    """dagster-dbt's error says only that the dbt process failed: the line names the node from run_results.json."""
    import json
    from types import SimpleNamespace

    from cli.failures import describe_failure

    (tmp_path / "dbt.log").write_text("")
    results = [
        {"unique_id": "model.salesdw.stg_x", "status": "success", "message": None},
        {
            "unique_id": "model.salesdw.stg_ebay__refunds",
            "status": "error",
            "message": "Runtime Error in model\n  Catalog Error: no table",
        },
        {"unique_id": "test.salesdw.not_null_y", "status": "fail", "message": "Got 3 results"},
    ]
    (tmp_path / "run_results.json").write_text(json.dumps({"results": results}))
    message = (
        "dagster_dbt.errors.DagsterDbtCliRuntimeError: The dbt CLI process with command\n\n`dbt build`\n\nfailed with "
        f"exit code `1`. Check the stdout in the Dagster compute logs, or view the dbt debug log: {tmp_path}/dbt.log."
    )
    error = SimpleNamespace(message="wrapper", cls_name="DagsterExecutionStepExecutionError", cause=None)
    error.cause = SimpleNamespace(message=message, cls_name="DagsterDbtCliRuntimeError", cause=None)
    assert describe_failure("dbt_models", error) == (
        "step dbt_models failed: dbt build failed (exit code 1): model stg_ebay__refunds (Catalog Error: no table) "
        f"and 1 more; details: {tmp_path}/dbt.log"
    )
