"""The warehouse target: a DuckDB file (default) or a PostgreSQL database, and connections to either.

The target is ``SALESDW_TARGET`` (``duckdb`` | ``postgres``; ``salesdw run --target`` sets it). PostgreSQL
is reached through ``SALESDW_POSTGRES_DSN`` (a libpq URL ``postgresql://user:pw@host:5432/db`` or
``key=value`` string) or the standard ``PGHOST`` / ``PGPORT`` / ``PGUSER`` / ``PGPASSWORD`` /
``PGDATABASE`` variables (the DSN wins field by field; defaults 127.0.0.1:5432, user postgres, database
``salesdw``). dlt, dbt (profiles.yml reads the PG* variables, see ``activate``) and every reader use the
same parameters. The password is never part of a string this module logs or renders.

``connect()`` gives one small interface on both targets: ``rows(sql)``, ``scalar(sql)``, ``df(sql)``,
``table_exists(schema, table)``, and ``execute(sql).fetchall()`` like a DuckDB connection.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import pandas as pd

from core.paths import PROJECT_ROOT
from core.settings import TARGETS, Settings, env_var, settings

__all__ = ["PROJECT_ROOT", "TARGETS", "Warehouse", "connect", "current_target", "warehouse_path"]

TARGET_ENV = env_var("target")
DSN_ENV = env_var("postgres_dsn")
DBT_TARGET_ENV = env_var("dbt_target")
DUCKDB_PATH_ENV = env_var("duckdb_path")
PG_DEFAULTS = {"host": "127.0.0.1", "port": "5432", "user": "postgres", "dbname": "salesdw"}
PG_ENV = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD", "dbname": "PGDATABASE"}


def current_target(env: Mapping[str, str] | None = None) -> str:
    return Settings.from_env(env).target


def warehouse_path() -> Path:
    """The DuckDB file (``SALESDW_DUCKDB_PATH``, default data/warehouse.duckdb); its folder holds local state."""
    return settings().duckdb_path


@dataclass(frozen=True)
class PostgresParams:
    host: str
    port: int
    user: str
    database: str
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PostgresParams:
        from psycopg2.extensions import parse_dsn

        env = os.environ if env is None else env
        configured = Settings.from_env(env).postgres_dsn
        dsn = parse_dsn(configured) if configured else {}
        value = {k: dsn.get(k) or env.get(var) or PG_DEFAULTS.get(k) for k, var in PG_ENV.items()}
        return cls(
            host=value["host"],
            port=int(value["port"]),
            user=value["user"],
            database=value["dbname"],
            password=value["password"] or None,
        )

    def url(self) -> str:
        """A libpq URL with the password (for a DSN variable, never to print)."""
        secret = f":{quote(self.password, safe='')}" if self.password else ""
        return f"postgresql://{quote(self.user, safe='')}{secret}@{self.host}:{self.port}/{self.database}"

    def dlt_credentials(self) -> Any:
        """dlt's credentials (dlt prints them with the password masked); sessions in UTC."""
        from dlt.destinations.impl.postgres.configuration import PostgresCredentials

        credentials = PostgresCredentials()
        credentials.host, credentials.port, credentials.database = self.host, self.port, self.database
        credentials.username = self.user
        credentials.password = self.password or ""  # dlt requires one; trust/peer auth has none
        credentials.session_timezone = "UTC"
        return credentials

    def describe(self) -> str:
        """Where the warehouse is, without the password (for logs and summaries)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"

    def env(self) -> dict[str, str]:
        """The PG* variables a subprocess (dbt) needs to reach this database."""
        out = {"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user, "PGDATABASE": self.database}
        if self.password:
            out["PGPASSWORD"] = self.password
        return out

    def connect_kwargs(self, database: str | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": database or self.database,
            "connect_timeout": 10,
        }
        if self.password:
            kwargs["password"] = self.password
        return kwargs


def describe_target() -> str:
    return PostgresParams.from_env().describe() if current_target() == "postgres" else str(warehouse_path())


# A TRY_CAST for PostgreSQL (15 has no pg_input_is_valid): the value converted to the type of `target`, or
# null when it does not parse. Readers' DuckDB-dialect queries (GX suites) are transpiled to call it.
TRY_CAST_FUNCTION = """
create or replace function public.salesdw_try_cast(value text, target anyelement) returns anyelement
language plpgsql immutable as $$
declare result target%type;
begin
    result := value;
    return result;
exception when others then
    return null;
end $$"""


def ensure_database(params: PostgresParams | None = None) -> PostgresParams:
    """Create the database if it is missing (idempotent), with UTC sessions and the helper function."""
    import psycopg2
    from psycopg2 import errors, sql

    params = params or PostgresParams.from_env()
    admin = psycopg2.connect(**params.connect_kwargs(database="postgres"))
    try:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", [params.database])
            if cur.fetchone() is None:
                try:
                    # strings sort by code point, as in DuckDB (ordered windows pick the same rows)
                    cur.execute(
                        sql.SQL("create database {} template template0 lc_collate 'C'").format(
                            sql.Identifier(params.database)
                        )
                    )
                except errors.DuplicateDatabase:
                    pass  # created concurrently
            # timestamps are UTC (docs/architecture.md: Warehouse layout): date casts of timestamptz must not depend on the server's zone
            cur.execute(sql.SQL("alter database {} set timezone to 'UTC'").format(sql.Identifier(params.database)))
    finally:
        admin.close()
    with psycopg2.connect(**params.connect_kwargs()) as con, con.cursor() as cur:
        cur.execute(TRY_CAST_FUNCTION)
    con.close()
    return params


def drop_database(params: PostgresParams) -> None:
    import psycopg2
    from psycopg2 import sql

    admin = psycopg2.connect(**params.connect_kwargs(database="postgres"))
    try:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(params.database)))
    finally:
        admin.close()


def activate(target: str | None = None) -> str:
    """Make this process (and the dbt/dlt it starts) use `target`; for postgres, create the database."""
    target = target or current_target()
    current_target({TARGET_ENV: target})  # validates
    os.environ[TARGET_ENV] = target
    os.environ[DBT_TARGET_ENV] = target
    if target == "postgres":
        params = ensure_database()
        os.environ.update(params.env())  # dbt's profile reads PG*: a DSN reaches it this way
    else:
        os.environ.setdefault(DUCKDB_PATH_ENV, str(warehouse_path()))
    return target


# --- connections ---------------------------------------------------------------------------------------


class Cursor(Protocol):
    def fetchall(self) -> list[tuple[Any, ...]]: ...
    def fetchone(self) -> tuple[Any, ...] | None: ...


class Warehouse:
    """A connection to the warehouse of either target with one small interface (see module doc)."""

    target: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:  # pragma: no cover - interface
        raise NotImplementedError

    def df(self, sql: str) -> pd.DataFrame:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def table_exists(self, schema: str, table: str) -> bool:
        return bool(
            self.scalar(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, table],
            )
        )

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DuckDBWarehouse(Warehouse):
    target = "duckdb"

    def __init__(self, con: Any) -> None:
        self.con = con  # a duckdb.DuckDBPyConnection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.con.execute(sql, list(params) or None)

    def df(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()

    def close(self) -> None:
        self.con.close()


# PostgreSQL numeric type oids (int2, int4, int8, float4, float8, numeric)
_PG_NUMERIC_OIDS = {21, 23, 20, 700, 701, 1700}


class PostgresWarehouse(Warehouse):
    target = "postgres"

    def __init__(self, params: PostgresParams, read_only: bool) -> None:
        import psycopg2

        self.con = psycopg2.connect(**params.connect_kwargs())
        self.con.set_session(readonly=read_only, autocommit=True)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        cur = self.con.cursor()
        if params:  # DuckDB-style ? placeholders
            cur.execute(sql.replace("%", "%%").replace("?", "%s"), list(params))
        else:
            cur.execute(sql)
        return cur

    def df(self, sql: str) -> pd.DataFrame:
        """Like DuckDB's ``df()``: numeric columns (DECIMAL too) as numbers, for throw-away frames only."""
        cur = self.con.cursor()
        cur.execute(sql)
        columns = [d.name for d in cur.description]
        frame = pd.DataFrame.from_records(cur.fetchall(), columns=columns)
        for d in cur.description:
            if d.type_code in _PG_NUMERIC_OIDS and frame[d.name].dtype == object:
                frame[d.name] = pd.to_numeric(frame[d.name].astype("float64"))
        cur.close()
        return frame

    def close(self) -> None:
        self.con.close()


def connect(path: Path | None = None, read_only: bool = True, target: str | None = None) -> Warehouse:
    """A connection to the current target's warehouse (`path`: the DuckDB file, default warehouse_path())."""
    if (target or current_target()) == "postgres":
        return PostgresWarehouse(PostgresParams.from_env(), read_only)
    import duckdb

    return DuckDBWarehouse(duckdb.connect(str(path or warehouse_path()), read_only=read_only))


def as_warehouse(con: Any) -> Warehouse:
    """A Warehouse as is; a plain DuckDB connection wrapped (callers that opened a file themselves)."""
    return con if isinstance(con, Warehouse) else DuckDBWarehouse(con)


# --- SQL dialects ---------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _transpiled(sql: str, target: str) -> str:
    import sqlglot
    from sqlglot import exp

    def try_cast(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.TryCast):
            to = node.args["to"]
            text = exp.Cast(this=node.this, to=exp.DataType.build("text"))
            typed_null = exp.Cast(this=exp.Null(), to=to.copy())
            return exp.Cast(this=exp.Anonymous(this="salesdw_try_cast", expressions=[text, typed_null]), to=to.copy())
        return node

    tree = sqlglot.parse_one(sql, read="duckdb")
    if target == "postgres":
        tree = tree.transform(try_cast)
    return tree.sql(dialect=target)


def for_target(sql: str, target: str) -> str:
    """A query written in DuckDB SQL, for `target` (TRY_CAST keeps its meaning on PostgreSQL)."""
    return sql if target == "duckdb" else _transpiled(sql, target)
