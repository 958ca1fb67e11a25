"""Scratch PostgreSQL databases for tests: the server from the PG* environment (default 127.0.0.1:5432, user
postgres). No server: the test is skipped, unless SALESDW_REQUIRE_POSTGRES=1, then it fails."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import pytest
from psycopg2 import sql

from core.settings import settings


def admin_params(dbname: str = "postgres") -> dict[str, str]:
    """libpq parameters of a superuser session on dbname."""
    return {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", "5432"),
        "user": os.environ.get("PGUSER", "postgres"),
        "dbname": dbname,
        "connect_timeout": "5",
    }


def require_postgres() -> None:
    """Skip (or fail, with SALESDW_REQUIRE_POSTGRES=1) when no PostgreSQL server answers."""
    try:
        psycopg2.connect(**admin_params()).close()
    except psycopg2.OperationalError as exc:
        reason = f"PostgreSQL not reachable: {str(exc).strip()}"
        if settings().require_postgres:
            pytest.fail(reason)
        pytest.skip(reason)


def _admin(statement: sql.Composable) -> None:
    conn = psycopg2.connect(**admin_params())
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new, empty database named prefix_<random>, dropped (even with sessions open) afterwards."""
    require_postgres()
    name = f"{prefix}_{secrets.token_hex(4)}"
    _admin(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        _admin(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
