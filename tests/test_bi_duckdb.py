"""A BI-style client (SQLAlchemy + duckdb_engine) reads the DuckDB marts read-only, as the README documents.

On a warehouse built by the main job: every marts/finance table reads through both documented connection
forms with the same rows and money (as Decimal) the warehouse holds; writes are refused as read-only; the
single-writer lock is real (a held reader blocks a writer until the engine is disposed); and `salesdw
bi-snapshot` gives BI a copy to hold open while the warehouse stays writable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from orchestration.runner import RunOutcome
from tests.helpers import query

SALESDW = [sys.executable, "-m", "cli.main"]
PUBLIC_SCHEMAS = ("marts", "finance")
PUBLIC_TABLES = (  # docs/architecture.md: Warehouse layout
    "marts.dim_date",
    "marts.dim_channel",
    "marts.dim_customer",
    "marts.dim_product",
    "marts.dim_sales_rep",
    "marts.dim_deal_stage",
    "marts.fct_orders",
    "marts.fct_order_lines",
    "marts.fct_refunds",
    "marts.fct_marketplace_fees",
    "marts.fct_deals",
    "marts.fct_deal_stage_transitions",
    "marts.fct_rep_quota",
    "marts.sales_funnel_monthly",
    "marts.rep_performance_monthly",
    "marts.channel_revenue_daily",
    "finance.monthly_revenue",
    "finance.revenue_adjustments",
    "finance.marketplace_payouts",
)


READS_SHARED_BUILD = True


@pytest.fixture(scope="module")
def built(warehouse: Path, main_run: RunOutcome) -> Path:
    return warehouse


def _truth(path: Path) -> dict[str, tuple]:
    """{schema.table: (rows, sum of every DECIMAL column...)} read with DuckDB's own client."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where schema_name in ('marts', 'finance') order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            money = [
                c
                for (c,) in con.execute(
                    "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
                    "and data_type like 'DECIMAL%' order by column_index",
                    [schema, table],
                ).fetchall()
            ]
            sums = ", ".join([f'sum("{c}")' for c in money]) or "null"
            out[f"{schema}.{table}"] = con.execute(f'select count(*), {sums} from {schema}."{table}"').fetchone()
    return out


def _read_all(engine: sa.Engine, tables: dict[str, tuple]) -> dict[str, tuple]:
    """The same figures through SQLAlchemy, table list from the inspector (as a BI tool discovers them)."""
    inspector = sa.inspect(engine)
    discovered = {f"{s}.{t}" for s in PUBLIC_SCHEMAS for t in inspector.get_table_names(schema=s)}
    assert discovered == set(tables)
    out = {}
    with engine.connect() as con:
        for name in tables:
            schema, table = name.split(".")
            # information_schema, as BI tools query it (Inspector.get_columns of SQLAlchemy 2.1 asks for
            # pg_catalog.pg_collation, which duckdb_engine 0.17 does not emulate)
            money = (
                con.execute(
                    sa.text(
                        "select column_name from information_schema.columns where table_schema = :s and table_name = :t "
                        "and data_type like 'DECIMAL%' order by ordinal_position"
                    ),
                    {"s": schema, "t": table},
                )
                .scalars()
                .all()
            )
            sums = ", ".join([f'sum("{c}")' for c in money]) or "null"
            row = con.execute(sa.text(f'select count(*), {sums} from {schema}."{table}"')).one()
            assert all(v is None or isinstance(v, Decimal) for v in row[1:] if money), (name, row)
            out[name] = tuple(row)
    return out


@pytest.mark.parametrize("how", ["url", "connect_args"])
def test_sqlalchemy_reads_marts_and_finance_read_only(built: Path, how: str) -> None:
    engine = (
        sa.create_engine(f"duckdb:///{built}?access_mode=read_only", poolclass=NullPool)
        if how == "url"
        else sa.create_engine(f"duckdb:///{built}", connect_args={"read_only": True}, poolclass=NullPool)
    )
    try:
        truth = _truth(built)
        assert set(PUBLIC_TABLES) <= set(truth)
        assert truth["finance.monthly_revenue"][0] > 0 and truth["marts.fct_orders"][0] > 0
        assert _read_all(engine, truth) == truth
        expected_net = query(built, "select sum(net_revenue_usd) from finance.monthly_revenue")[0][0]
        with engine.connect() as con:
            net = con.execute(sa.text("select sum(net_revenue_usd) from finance.monthly_revenue")).scalar_one()
            assert isinstance(net, Decimal) and net == expected_net and net > 0
            for statement in (
                "insert into marts.dim_channel select * from marts.dim_channel limit 1",
                "create table marts.bi_scratch (x int)",
                "delete from finance.monthly_revenue",
                "create schema bi_scratch",
            ):
                with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                    con.execute(sa.text(statement))
                con.rollback()
    finally:
        engine.dispose()


def _writer_can_open(path: Path) -> subprocess.CompletedProcess[str]:
    """Another process opening the file for writing, as a run does."""
    return subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(path)!r}).close()"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_reader_holding_the_file_blocks_the_writer_until_disposed(built: Path) -> None:
    """The single-writer lock the README warns about: BI must let go of the warehouse file before a run."""
    engine = sa.create_engine(f"duckdb:///{built}?access_mode=read_only")
    with engine.connect() as con:
        assert con.execute(sa.text("select count(*) from marts.dim_channel")).scalar_one() == 4
    blocked = _writer_can_open(built)  # the pooled connection still holds the file
    assert blocked.returncode != 0 and "lock" in blocked.stderr.lower()
    engine.dispose()
    assert _writer_can_open(built).returncode == 0


def test_bi_snapshot_can_be_held_open_while_the_warehouse_is_written(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "bi.duckdb"
    env = {**os.environ, "SALESDW_DUCKDB_PATH": str(built)}
    done = subprocess.run(
        [*SALESDW, "bi-snapshot", "--out", str(out)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    engine = sa.create_engine(f"duckdb:///{out}?access_mode=read_only")
    try:
        truth = _truth(built)
        snap = _truth(out)
        views = {
            f"{s}.{v}"
            for s, v in query(
                built,
                "select schema_name, view_name from duckdb_views() "
                f"where not internal and schema_name in {PUBLIC_SCHEMAS}",
            )
        }
        assert {k: v for k, v in snap.items() if k not in views} == truth
        assert _read_all(engine, snap) == snap
        with engine.connect() as con:  # BI holds the snapshot open ...
            before = con.execute(sa.text("select count(*) from finance.monthly_revenue")).scalar_one()
            assert _writer_can_open(built).returncode == 0  # ... and the warehouse stays writable
            again = subprocess.run(
                [*SALESDW, "bi-snapshot", "--out", str(out)], env=env, capture_output=True, text=True, timeout=300
            )
            assert again.returncode == 0, again.stderr  # a refresh is not blocked by the reader either
            assert con.execute(sa.text("select count(*) from finance.monthly_revenue")).scalar_one() == before
    finally:
        engine.dispose()
    assert not list(tmp_path.glob(".bi.duckdb.*.tmp"))
