"""The PostgreSQL target: `salesdw run --target postgres` builds the same world as DuckDB does, to the cent.

Needs a PostgreSQL server reachable through SALESDW_POSTGRES_DSN or the PG* variables (default
127.0.0.1:5432, user postgres). Without one these tests skip, unless SALESDW_REQUIRE_POSTGRES=1 (CI): then
they fail. Each run creates its own database (salesdw_pg_test_<random>) and drops it afterwards.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from cli.summary import MONEY
from core.settings import settings
from core.warehouse import (
    DSN_ENV,
    DuckDBWarehouse,
    PostgresParams,
    PostgresWarehouse,
    Warehouse,
    drop_database,
    for_target,
)
from orchestration.checks.gx_runner import validate
from orchestration.checks.gx_suites import RAW_SUITES, SHOPIFY_ORDERS
from orchestration.runner import RunOutcome
from tests.conftest import TEST_WORLD

PUBLIC_SCHEMAS = ("marts", "finance")
# by month x channel: the money the business reads (docs/architecture.md: Warehouse layout)
MONTHLY_MONEY = {
    "finance.monthly_revenue": (
        "revenue_month",
        "sum({})",
        ("orders", *MONEY),
    ),
    "marts.channel_revenue_daily": (
        "date_day",
        "sum({})",
        ("orders", *MONEY),
    ),
    "marts.fct_orders": (
        "order_date",
        "sum({})",
        ("gross_sales_usd", "discounts_usd", "gross_sales_usd - discounts_usd"),
    ),
}


def _postgres() -> PostgresParams:
    """The server of the environment, or a skip (a failure when SALESDW_REQUIRE_POSTGRES=1)."""
    params = PostgresParams.from_env()
    try:
        psycopg2.connect(**params.connect_kwargs(database="postgres")).close()
    except psycopg2.OperationalError as error:
        reason = f"PostgreSQL not reachable at {params.describe()}: {str(error).strip()}"
        if settings().require_postgres:
            pytest.fail(reason + " (SALESDW_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    return params


@pytest.fixture(scope="module")
def pg_params() -> Iterator[PostgresParams]:
    base = _postgres()
    # a password even where the server trusts local users: the run must never print it
    params = replace(
        base,
        database=f"salesdw_pg_test_{secrets.token_hex(4)}",
        password=base.password or f"never-printed-{secrets.token_hex(8)}",
    )
    yield params
    drop_database(params)


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    duckdb_file: Path


def _salesdw_run_postgres(params: PostgresParams, root: Path) -> CliRun:
    """`salesdw run --target postgres` on the test world, as a user runs it (its own sandbox)."""
    env = {
        **os.environ,
        DSN_ENV: params.url(),
        "SALESDW_DUCKDB_PATH": str(root / "wh.duckdb"),
        "DAGSTER_HOME": str(root / "home"),
    }
    env.pop("SALESDW_TARGET", None)
    env.pop("SALESDW_DBT_TARGET", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "run",
            "--target",
            "postgres",
            "--seed",
            str(TEST_WORLD.seed),
            "--scale",
            str(TEST_WORLD.scale),
            "--as-of",
            TEST_WORLD.as_of.isoformat(),
            "--rate-limits",
            "off",
            "--port",
            "0",
            "--log-level",
            "WARNING",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    return CliRun(done.returncode, done.stdout, done.stderr, root / "wh.duckdb")


@pytest.fixture(scope="module")
def postgres_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("postgres_run")


@pytest.fixture(scope="module")
def postgres_run(pg_params: PostgresParams, postgres_root: Path) -> CliRun:
    return _salesdw_run_postgres(pg_params, postgres_root)


READS_SHARED_BUILD = True  # the DuckDB side of the comparison is the shared build of TEST_WORLD


@pytest.fixture(scope="module")
def duckdb_build(warehouse: Path, main_run: RunOutcome) -> Path:
    """The same world on the default target: the shared build (the conftest sandbox serves TEST_WORLD)."""
    return warehouse


@pytest.fixture(scope="module")
def both(duckdb_build: Path, postgres_run: CliRun, pg_params: PostgresParams) -> Iterator[tuple[Warehouse, Warehouse]]:
    assert postgres_run.returncode == 0, postgres_run.stdout[-3000:] + postgres_run.stderr[-3000:]
    import duckdb

    with (
        DuckDBWarehouse(duckdb.connect(str(duckdb_build), read_only=True)) as duck,
        PostgresWarehouse(pg_params, read_only=True) as pg,
    ):
        yield duck, pg


def test_salesdw_run_target_postgres_reconciles_and_keeps_the_password_out_of_the_output(
    postgres_run: CliRun, pg_params: PostgresParams
) -> None:
    out = postgres_run.stdout
    assert postgres_run.returncode == 0, out[-3000:] + postgres_run.stderr[-3000:]
    assert "MISMATCH" not in out and "reconciliation with sandbox truth: exact" in out
    assert "Checks: " in out and ", 0 failed" in out
    assert pg_params.describe() in out  # says where it loaded
    assert pg_params.password and pg_params.password not in out + postgres_run.stderr
    assert not postgres_run.duckdb_file.exists()  # nothing went to a DuckDB file


def _public_tables(con: Warehouse) -> list[str]:
    return sorted(
        f"{s}.{t}"
        for s, t in con.rows(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({', '.join(repr(s) for s in PUBLIC_SCHEMAS)})"
        )
    )


def _numeric_columns(con: Warehouse, table: str) -> dict[str, str]:
    """column -> 'money' (scale 2), 'int' or 'other' numeric, from DuckDB's information_schema."""
    schema, name = table.split(".")
    kinds = {}
    for column, data_type, scale in con.rows(
        "select column_name, data_type, numeric_scale from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ):
        upper = data_type.upper()
        if upper.startswith(("DECIMAL", "NUMERIC")):
            kinds[column] = "money" if scale == 2 else "decimal"
        elif upper in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"):
            kinds[column] = "int"
        elif upper in ("FLOAT", "REAL", "DOUBLE"):
            kinds[column] = "float"
    return kinds


def _fingerprint(con: Warehouse, table: str, columns: dict[str, str]) -> tuple[int, dict[str, Any], Decimal]:
    """Row count, the sum of every numeric column, and the money total (all scale-2 columns)."""
    sums = ", ".join(f'sum("{c}")' for c in columns) or "null"
    count, *values = con.rows(f"select count(*), {sums} from {table}")[0]
    per_column = dict(zip(columns, values)) if columns else {}
    money = sum((v or Decimal(0) for c, v in per_column.items() if columns[c] == "money"), Decimal(0))
    return count, per_column, money


def _write_report(text: str) -> None:
    print("\n" + text)
    if settings().report_dir:
        report = settings().report_dir / "postgres_vs_duckdb.md"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(text + "\n")


ESTIMATE_TABLES = {"marts.forecast_monthly", "marts.forecast_accuracy"}
ESTIMATES = {("marts.rep_performance_monthly", "forecast_usd")}


def test_every_public_table_has_the_same_rows_and_numeric_sums_on_both_targets(
    both: tuple[Warehouse, Warehouse],
) -> None:
    duck, pg = both
    tables = _public_tables(duck)
    assert len(tables) >= 19 and "finance.monthly_revenue" in tables
    assert _public_tables(pg) == tables
    lines = [
        "| table | rows duckdb | rows postgres | money total duckdb | money total postgres | numeric columns |",
        "|---|---:|---:|---:|---:|---|",
    ]
    differences = []
    for table in tables:
        columns = _numeric_columns(duck, table)
        d_rows, d_sums, d_money = _fingerprint(duck, table, columns)
        p_rows, p_sums, p_money = _fingerprint(pg, table, columns)
        floats = [c for c, kind in columns.items() if kind == "float"]
        # forecasts are estimates computed in floating point (rates, spreads): engines round their last cents
        # differently, so they agree to a relative 1e-4, not to the cent; actuals and everything else exactly
        estimates = [c for c in columns if (table, c) in ESTIMATES or (table in ESTIMATE_TABLES and c != "actual_usd")]
        unequal = [c for c in columns if c not in floats + estimates and d_sums[c] != p_sums[c]]
        for c in floats + estimates:
            d, p = float(d_sums[c] or 0), float(p_sums[c] or 0)
            if abs(d - p) > (1e-6 if c in floats else 1e-4) * max(1, abs(d)):  # a ratio's 4th decimal may flip
                unequal.append(c)
        if d_rows != p_rows or unequal:
            differences.append((table, d_rows, p_rows, {c: (d_sums[c], p_sums[c]) for c in unequal}))
        lines.append(
            f"| {table} | {d_rows} | {p_rows} | {d_money} | {p_money} | "
            f"{len(columns)} {'equal' if not unequal else 'DIFFER: ' + ', '.join(unequal)} |"
        )
    _write_report(
        "DuckDB vs PostgreSQL build of the test world "
        f"(seed {TEST_WORLD.seed}, scale {TEST_WORLD.scale}, as of {TEST_WORLD.as_of}):\n\n" + "\n".join(lines)
    )
    assert not differences, differences
    assert sum(_fingerprint(pg, t, {})[0] for t in tables) > 1000  # the world is not trivial


@pytest.mark.parametrize("table", sorted(MONTHLY_MONEY))
def test_money_per_month_and_channel_is_the_same_on_both_targets(both: tuple[Warehouse, Warehouse], table: str) -> None:
    day_column, aggregate, measures = MONTHLY_MONEY[table]
    sql = (
        f"select cast(date_trunc('month', {day_column}) as date) as month, channel, "
        f"{', '.join(aggregate.format(m) for m in measures)} from {table} group by 1, 2"
    )
    duck, pg = both
    on_duckdb = {(str(m), c): tuple(v) for m, c, *v in duck.rows(sql)}
    on_postgres = {(str(m), c): tuple(v) for m, c, *v in pg.rows(sql)}
    assert len(on_duckdb) >= 4 * 6  # four channels, six months at least
    assert on_postgres == on_duckdb
    assert all(isinstance(v, Decimal) for row in on_postgres.values() for v in row[-2:])  # money stays DECIMAL


def test_gx_suites_run_on_postgres_and_catch_bad_raw_rows(
    both: tuple[Warehouse, Warehouse], pg_params: PostgresParams
) -> None:
    _, pg = both
    for suite in RAW_SUITES:  # the DuckDB-dialect suites, translated, pass on the loaded raw layer
        outcome = validate(pg, suite)
        assert outcome.passed and outcome.rows > 0, outcome.metadata()
    # unparseable money becomes null (TRY_CAST keeps its meaning) and an old date is out of range
    with PostgresWarehouse(pg_params, read_only=False) as writer:
        writer.con.autocommit = False
        first = writer.scalar("select min(id) from raw_shopify.orders")
        writer.execute(
            "update raw_shopify.orders set current_total_discounts_set__shop_money__amount = 'n/a', "
            "created_at = '2019-12-31 00:00:00+00' where id = ?",
            [first],
        )
        outcome = validate(writer, SHOPIFY_ORDERS)
        writer.con.rollback()
    failed = {(f["expectation"], f["column"]) for f in outcome.failures}
    assert failed == {
        ("expect_column_values_to_not_be_null", "total_discounts"),
        ("expect_column_values_to_be_between", "created_at"),
    }
    assert [r["id"] for r in outcome.sample_rows] == [str(first)]
    assert "salesdw_try_cast" in for_target(SHOPIFY_ORDERS.sql, "postgres").lower()


def test_a_second_run_on_postgres_is_incremental_and_changes_nothing(
    both: tuple[Warehouse, Warehouse], pg_params: PostgresParams, postgres_root: Path
) -> None:
    """Incremental models, the snapshot and the month-close tables take their second-run path on PostgreSQL."""
    duck, pg = both
    tables = _public_tables(pg)
    before = {t: _fingerprint(pg, t, _numeric_columns(duck, t)) for t in tables}
    again = _salesdw_run_postgres(pg_params, postgres_root)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "reconciliation with sandbox truth: exact" in again.stdout
    after = {t: _fingerprint(pg, t, _numeric_columns(duck, t)) for t in tables}
    assert after == before
