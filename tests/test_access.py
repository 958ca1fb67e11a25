"""BI access on PostgreSQL: `salesdw grants` gives bi_reader marts+finance and finance_reader finance, read-only.

A scratch database mirrors the warehouse layout; the grants command runs twice through the CLI; then every
role × object × action is tried AS the role (SET ROLE from a superuser session, and a real login) and the
permission matrix is printed (and written to $SALESDW_REPORT_DIR/permissions.md when that is set).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg2
import pytest
from psycopg2 import errors, sql

from bi.grants import Reader, apply_grants
from core.settings import settings
from tests.pg_scratch import admin_params, scratch_database

SALESDW = [sys.executable, "-m", "cli.main"]
READABLE = {"bi_reader": {"marts", "finance"}, "finance_reader": {"finance"}}  # the contract, stated here

# the warehouse's layout in miniature: (schema.table, kind, rows)
LAYOUT_SQL = """
create schema marts; create schema finance; create schema raw_shopify; create schema raw_quarantine;
create schema staging; create schema intermediate; create schema snapshots; create schema seeds;
create table raw_shopify.orders (id text primary key, legacy_resource_id text, email text,
    current_total_price_set__shop_money__amount text);
insert into raw_shopify.orders values ('gid://shopify/Order/1', '1', 'ann@example.com', '10.50'),
    ('gid://shopify/Order/2', '2', 'bob@example.com', '20.25');
create table raw_quarantine.shopify_quarantine (source text, reason text, payload text);
insert into raw_quarantine.shopify_quarantine values ('shopify', 'negative quantity', '{}');
create view raw_quarantine.records as select * from raw_quarantine.shopify_quarantine;
create view staging.stg_shopify__orders as select cast(legacy_resource_id as bigint) as order_id,
    cast(current_total_price_set__shop_money__amount as numeric(18,2)) as total_price from raw_shopify.orders;
create table intermediate.int_orders as select order_id, total_price from staging.stg_shopify__orders;
create table snapshots.sales_rep_snapshot (rep_id bigint, territory text);
insert into snapshots.sales_rep_snapshot values (1, 'US-East');
create table seeds.commission_plan (tier int, rate numeric(6,4));
insert into seeds.commission_plan values (1, 0.04), (2, 0.08), (3, 0.12);
create table marts.dim_channel (channel text primary key);
insert into marts.dim_channel values ('b2b'), ('shopify'), ('amazon'), ('ebay');
create table marts.fct_orders (order_id bigint, channel text, net_sales_usd numeric(18,2));
insert into marts.fct_orders values (1, 'shopify', 10.50), (2, 'shopify', 20.25), (3, 'amazon', 7.00);
create table finance.monthly_revenue (revenue_month date, channel text, net_revenue_usd numeric(18,2));
insert into finance.monthly_revenue values ('2026-05-01', 'shopify', 30.75), ('2026-05-01', 'amazon', 7.00);
create view finance.closed_revenue as select * from finance.monthly_revenue;
"""
TABLES: dict[str, int] = {  # every relation -> its rows
    "raw_shopify.orders": 2,
    "raw_quarantine.shopify_quarantine": 1,
    "raw_quarantine.records": 1,
    "staging.stg_shopify__orders": 2,
    "intermediate.int_orders": 2,
    "snapshots.sales_rep_snapshot": 1,
    "seeds.commission_plan": 3,
    "marts.dim_channel": 4,
    "marts.fct_orders": 3,
    "finance.monthly_revenue": 2,
    "finance.closed_revenue": 2,
}
WRITE_TARGETS = ("marts.fct_orders", "finance.monthly_revenue", "raw_shopify.orders", "intermediate.int_orders")
CREATE_IN = ("marts", "finance", "public", "raw_shopify", "staging")


@dataclass
class Attempt:
    role: str
    obj: str
    action: str
    result: str  # allowed / refused
    expected: str
    detail: str = ""


def _cli_grants(database: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    p = admin_params(database)
    env = {
        **os.environ,
        "PGHOST": p["host"],
        "PGPORT": p["port"],
        "PGUSER": p["user"],
        "PGDATABASE": database,
        **(extra_env or {}),
    }
    done = subprocess.run(
        [*SALESDW, "grants", "--target", "postgres"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _try(conn, role: str, statement: str) -> tuple[str, str]:
    """Run statement AS role in a transaction that is rolled back; (allowed|refused, detail)."""
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
            cur.execute(statement)
            detail = f"{cur.fetchone()[0]} rows" if statement.startswith("select count") else ""
        return "allowed", detail
    except errors.InsufficientPrivilege as exc:
        return "refused", str(exc).splitlines()[0]
    finally:
        conn.rollback()


def _render(matrix: list[Attempt]) -> str:
    lines = ["| role | object | action | result | expected |", "|---|---|---|---|---|"]
    lines += [
        f"| {a.role} | {a.obj} | {a.action} | {a.result}{' (' + a.detail + ')' if a.detail else ''} | "
        f"{a.expected}{'' if a.result == a.expected else ' **MISMATCH**'} |"
        for a in matrix
    ]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def warehouse_db() -> Iterator[str]:
    with scratch_database("salesdw_acc_test") as name:
        conn = psycopg2.connect(**admin_params(name))
        with conn, conn.cursor() as cur:
            cur.execute(LAYOUT_SQL)
        conn.close()
        yield name


@pytest.fixture(scope="module")
def granted(warehouse_db: str) -> str:
    first, second = _cli_grants(warehouse_db), _cli_grants(warehouse_db)  # idempotent: twice, same outcome
    assert "bi_reader" in first.stdout and first.stdout == second.stdout
    return warehouse_db


@pytest.fixture()
def admin(granted: str) -> Iterator:
    conn = psycopg2.connect(**admin_params(granted))
    yield conn
    conn.close()


def test_permission_matrix(admin, capsys: pytest.CaptureFixture[str]) -> None:
    matrix: list[Attempt] = []
    for role, readable in READABLE.items():
        for table, rows in TABLES.items():
            schema = table.split(".")[0]
            result, detail = _try(admin, role, f"select count(*) from {table}")
            expected = "allowed" if schema in readable else "refused"
            matrix.append(Attempt(role, table, "SELECT", result, expected, detail))
            if result == "allowed":
                assert detail == f"{rows} rows", (role, table, detail)
        for table in WRITE_TARGETS:
            for action, statement in (
                ("INSERT", f"insert into {table} select * from {table} limit 1"),
                ("UPDATE", f"update {table} set {_first_column(admin, table)} = null"),
                ("DELETE", f"delete from {table}"),
                ("TRUNCATE", f"truncate {table}"),
                ("DROP", f"drop table {table}"),
            ):
                matrix.append(Attempt(role, table, action, _try(admin, role, statement)[0], "refused"))
        for schema in CREATE_IN:
            matrix.append(
                Attempt(
                    role,
                    f"schema {schema}",
                    "CREATE TABLE",
                    _try(admin, role, f"create table {schema}.bi_scratch (x int)")[0],
                    "refused",
                )
            )
        matrix.append(
            Attempt(role, "database", "CREATE SCHEMA", _try(admin, role, "create schema bi_scratch")[0], "refused")
        )
        matrix.append(
            Attempt(
                role,
                "database",
                "CREATE TEMP TABLE",
                _try(admin, role, "create temp table bi_scratch (x int)")[0],
                "refused",
            )
        )
    text = _render(matrix)
    with capsys.disabled():
        print("\nPermission matrix (salesdw grants, PostgreSQL):\n" + text)
    if settings().report_dir:
        out = settings().report_dir / "permissions.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("# Permission matrix (`salesdw grants`, PostgreSQL)\n\n" + text + "\n")
    assert all(a.result == a.expected for a in matrix), text
    refused_reads = [a for a in matrix if a.action == "SELECT" and a.result == "refused"]
    assert {a.obj.split(".")[0] for a in refused_reads if a.role == "bi_reader"} == {
        "raw_shopify",
        "raw_quarantine",
        "staging",
        "intermediate",
        "snapshots",
        "seeds",
    }


def _first_column(conn, table: str) -> str:
    schema, name = table.split(".")
    with conn.cursor() as cur:
        cur.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
            "order by ordinal_position limit 1",
            [schema, name],
        )
        column = cur.fetchone()[0]
    conn.rollback()
    return column


def test_tables_dbt_recreates_stay_readable_and_new_raw_tables_stay_closed(admin) -> None:
    """dbt drops and recreates tables as their owner: default privileges make the new ones readable."""
    with admin, admin.cursor() as cur:
        cur.execute(
            "drop table marts.fct_orders; "
            "create table marts.fct_orders (order_id bigint, channel text, net_sales_usd numeric(18,2)); "
            "insert into marts.fct_orders values (9, 'ebay', 1.25); "
            "create table finance.period_closes (revenue_month date); "
            "insert into finance.period_closes values ('2026-04-01'); "
            "create table raw_shopify.customers (id text, default_email_address__email_address text); "
            "create table staging.stg_new as select 1 as x"
        )
    assert _try(admin, "bi_reader", "select count(*) from marts.fct_orders") == ("allowed", "1 rows")
    assert _try(admin, "bi_reader", "select count(*) from finance.period_closes") == ("allowed", "1 rows")
    assert _try(admin, "finance_reader", "select count(*) from finance.period_closes") == ("allowed", "1 rows")
    assert _try(admin, "finance_reader", "select count(*) from marts.fct_orders")[0] == "refused"
    for role in READABLE:
        assert _try(admin, role, "select count(*) from raw_shopify.customers")[0] == "refused"
        assert _try(admin, role, "select count(*) from staging.stg_new")[0] == "refused"
        assert _try(admin, role, "insert into marts.fct_orders values (10, 'ebay', 2.00)")[0] == "refused"


@pytest.fixture()
def bi_login(granted: str) -> Iterator[tuple[str, str]]:
    """A reader role of this test with bi_reader's schemas and LOGIN from a password given through the env.

    (Its own name: bi_reader itself is cluster-wide, and toggling its LOGIN would race other runs of this test.)
    """
    role, password = f"salesdw_acc_bi_{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    conn = psycopg2.connect(**admin_params(granted))
    try:
        report = apply_grants(
            conn, env={"ACC_TEST_PASSWORD": password}, readers={role: Reader(("marts", "finance"), "ACC_TEST_PASSWORD")}
        )
        assert report.login == {role: True} and password not in report.render()
        yield role, password
        with conn, conn.cursor() as cur:  # its privileges go before the role can
            cur.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
    finally:
        conn.close()
        admin = psycopg2.connect(**admin_params())
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
        admin.close()


def test_a_reader_login_reads_marts_and_cannot_write(granted: str, bi_login: tuple[str, str]) -> None:
    role, password = bi_login
    conn = psycopg2.connect(**{**admin_params(granted), "user": role, "password": password})
    try:
        with conn.cursor() as cur:
            cur.execute("select sum(net_revenue_usd) from finance.monthly_revenue")
            assert str(cur.fetchone()[0]) == "37.75"
            cur.execute("show default_transaction_read_only")
            assert cur.fetchone()[0] == "on"
        conn.rollback()
        with pytest.raises(errors.ReadOnlySqlTransaction), conn.cursor() as cur:
            cur.execute("create table marts.x (i int)")
        conn.rollback()
        # read-only by default is only a second fence: in a read-write transaction the grants still refuse
        for statement in (
            "insert into finance.monthly_revenue values ('2026-06-01', 'b2b', 1.00)",
            "create table marts.x (i int)",
            "create schema x",
            "select * from raw_shopify.orders",
        ):
            with pytest.raises(errors.InsufficientPrivilege), conn.cursor() as cur:
                cur.execute("set transaction read write")
                cur.execute(statement)
            conn.rollback()
    finally:
        conn.close()


def test_product_roles_are_read_only_by_default_in_the_warehouse(admin) -> None:
    with admin.cursor() as cur:
        cur.execute(
            "select r.rolname, s.setconfig from pg_db_role_setting s join pg_roles r on r.oid = s.setrole "
            "join pg_database d on d.oid = s.setdatabase where d.datname = current_database()"
        )
        settings = dict(cur.fetchall())
    admin.rollback()
    for role in READABLE:
        assert "default_transaction_read_only=on" in settings[role]


def test_only_granted_roles_may_connect_to_the_warehouse(granted: str) -> None:
    """PUBLIC lost CONNECT on the warehouse database: a login role without a grant is turned away."""
    probe, password = f"salesdw_acc_probe_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    conn = psycopg2.connect(**admin_params())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql.SQL("create role {} login password %s").format(sql.Identifier(probe)), [password])
    try:
        with pytest.raises(psycopg2.OperationalError, match="permission denied for database"):
            psycopg2.connect(**{**admin_params(granted), "user": probe, "password": password})
    finally:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("drop role {}").format(sql.Identifier(probe)))
        conn.close()


def test_grants_on_duckdb_target_explain_the_read_only_file() -> None:
    done = subprocess.run([*SALESDW, "grants", "--target", "duckdb"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "read-only" in done.stderr
