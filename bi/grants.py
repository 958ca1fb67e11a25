"""Least-privilege BI access on the PostgreSQL warehouse: the roles `bi_reader` and `finance_reader`.

`apply_grants()` (CLI: `salesdw grants`) is idempotent and safe to run after every build:
- creates the roles if missing, NOLOGIN; LOGIN with a password only when one is given through
  SALESDW_BI_READER_PASSWORD / SALESDW_FINANCE_READER_PASSWORD (an existing role's LOGIN is left as is);
- `bi_reader`: USAGE on `marts` and `finance`, SELECT on every table and view in them;
  `finance_reader`: the same on `finance` only;
- default privileges, so tables that dbt drops and recreates (as the schema owner or the user running
  this) are readable again without re-running it;
- everything else revoked from both roles: nothing on raw_*, staging, intermediate, snapshots, seeds or any
  other schema, no write (INSERT/UPDATE/DELETE/TRUNCATE), no CREATE on a schema or the database, no TEMP;
  on the warehouse database, PUBLIC loses CONNECT/TEMPORARY and public loses CREATE on schema `public`;
  the readers (and the user running this) get CONNECT explicitly;
- both roles are read-only by default in this database (`default_transaction_read_only`).
Connection: libpq's PG* environment (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, default database
`salesdw`) or a DSN. Passwords are never logged or printed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import connection as PgConnection
from psycopg2.extensions import parse_dsn

from core.settings import env_var

DEFAULT_DATABASE = "salesdw"


@dataclass(frozen=True)
class Reader:
    schemas: tuple[str, ...]  # the only schemas it may read; every other schema of the database is closed to it
    password_env: str  # env var that, when set, gives the role LOGIN with this password


READERS: dict[str, Reader] = {
    "bi_reader": Reader(("marts", "finance"), env_var("bi_reader_password")),
    "finance_reader": Reader(("finance",), env_var("finance_reader_password")),
}
_SYSTEM_SCHEMA_SQL = "nspname in ('pg_catalog', 'information_schema') or nspname like 'pg\\_%'"


@dataclass
class GrantReport:
    database: str
    readable: dict[str, list[str]] = field(default_factory=dict)  # role -> schemas granted
    closed: list[str] = field(default_factory=list)  # schemas closed to every reader
    login: dict[str, bool] = field(default_factory=dict)  # role -> has LOGIN

    def render(self) -> str:
        lines = [f"grants applied on database {self.database}:"]
        for role, schemas in self.readable.items():
            login = "LOGIN" if self.login.get(role) else "NOLOGIN"
            lines.append(f"  {role} ({login}): USAGE + SELECT on {', '.join(schemas)}")
        lines.append(f"  closed to all of them: {', '.join(self.closed) or '(none)'}")
        return "\n".join(lines)


def connect(dsn: str | None = None) -> PgConnection:
    """A connection from libpq's PG* environment (database `salesdw` unless PGDATABASE/dsn says otherwise)."""
    if dsn:
        return psycopg2.connect(dsn)
    return psycopg2.connect(dbname=os.environ.get("PGDATABASE") or DEFAULT_DATABASE)


def redact(message: str, dsn: str | None = None) -> str:
    """The message without any password it might echo (from the DSN, PGPASSWORD or the readers' env)."""
    secrets = [os.environ.get(k) for k in ("PGPASSWORD", *(r.password_env for r in READERS.values()))]
    if dsn:
        try:
            secrets.append(parse_dsn(dsn).get("password"))
        except psycopg2.ProgrammingError:  # libpq would quote a piece of it
            return "invalid DSN (not shown)"
    for secret in filter(None, secrets):
        message = message.replace(secret, "***")
    return message


def _ensure_role(cur, role: str, password: str | None) -> None:
    # concurrent creators (another database's grants) race on the cluster-wide role: either wins
    cur.execute(
        sql.SQL("""
        do $$ begin
            if not exists (select from pg_roles where rolname = {lit}) then
                create role {role} nologin nosuperuser nocreatedb nocreaterole;
            end if;
        exception when duplicate_object or unique_violation then null;
        end $$""").format(lit=sql.Literal(role), role=sql.Identifier(role))
    )
    if password:
        cur.execute(sql.SQL("alter role {} login password %s").format(sql.Identifier(role)), [password])


def _schemas(cur) -> list[str]:
    cur.execute(f"select nspname from pg_namespace where not ({_SYSTEM_SCHEMA_SQL}) order by 1")
    return [r[0] for r in cur.fetchall()]


def _creators(cur, schema: str, extra: Iterable[str]) -> list[str]:
    """Roles whose future tables in this schema must be readable: its owner, the current user, any writers given."""
    cur.execute("select pg_get_userbyid(nspowner), current_user from pg_namespace where nspname = %s", [schema])
    owner, me = cur.fetchone()
    return sorted(r for r in {owner, me, *extra} if not r.startswith("pg_"))  # pg_database_owner owns `public`


def _revoke_all(cur, schema: str, roles: list[str], writers: list[str]) -> None:
    ident = sql.Identifier(schema)
    grantees = sql.SQL(", ").join(map(sql.Identifier, roles))
    for kind in ("tables", "sequences", "functions"):
        cur.execute(
            sql.SQL("revoke all on all {kind} in schema {s} from {g}").format(kind=sql.SQL(kind), s=ident, g=grantees)
        )
    cur.execute(sql.SQL("revoke all on schema {s} from {g}").format(s=ident, g=grantees))
    for w in writers:
        for kind in ("tables", "sequences", "functions"):
            cur.execute(
                sql.SQL("alter default privileges for role {w} in schema {s} revoke all on {kind} from {g}").format(
                    w=sql.Identifier(w), s=ident, kind=sql.SQL(kind), g=grantees
                )
            )


def _grant_read(cur, schema: str, role: str, writers: list[str]) -> None:
    ident, grantee = sql.Identifier(schema), sql.Identifier(role)
    cur.execute(sql.SQL("grant usage on schema {s} to {r}").format(s=ident, r=grantee))
    cur.execute(sql.SQL("grant select on all tables in schema {s} to {r}").format(s=ident, r=grantee))
    for w in writers:
        cur.execute(
            sql.SQL("alter default privileges for role {w} in schema {s} grant select on tables to {r}").format(
                w=sql.Identifier(w), s=ident, r=grantee
            )
        )


def apply_grants(
    conn: PgConnection,
    writers: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    readers: Mapping[str, Reader] = READERS,
) -> GrantReport:
    """Apply the reader roles' privileges on conn's database, in one transaction; see the module docstring.

    writers: roles (besides each schema's owner and the current user) that create tables dbt builds.
    env: where the readers' passwords are looked up (default os.environ).
    """
    env = os.environ if env is None else env
    roles = list(readers)
    readable_anywhere = sorted({s for r in readers.values() for s in r.schemas})
    with conn, conn.cursor() as cur:
        cur.execute("select current_database(), current_user")
        database, me = cur.fetchone()
        for role in roles:
            _ensure_role(cur, role, env.get(readers[role].password_env) or None)
        db, grantees = sql.Identifier(database), sql.SQL(", ").join(map(sql.Identifier, roles))
        # dbt's target schemas exist before the first build, so default privileges can be set on them
        for schema in readable_anywhere:
            cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        cur.execute(sql.SQL("revoke connect, temporary on database {} from public").format(db))
        cur.execute(sql.SQL("grant all on database {db} to {me}").format(db=db, me=sql.Identifier(me)))
        cur.execute(sql.SQL("revoke all on database {db} from {g}").format(db=db, g=grantees))
        cur.execute(sql.SQL("grant connect on database {db} to {g}").format(db=db, g=grantees))
        if "public" in _schemas(cur):
            cur.execute("revoke create on schema public from public")
        report = GrantReport(database=database)
        for schema in _schemas(cur):
            writers_here = _creators(cur, schema, writers)
            _revoke_all(cur, schema, roles, writers_here)
            for role in roles:
                if schema in readers[role].schemas:
                    _grant_read(cur, schema, role, writers_here)
            if schema not in readable_anywhere:
                report.closed.append(schema)
        for role in roles:
            cur.execute(
                sql.SQL("alter role {r} in database {db} set default_transaction_read_only = on").format(
                    r=sql.Identifier(role), db=db
                )
            )
            report.readable[role] = list(readers[role].schemas)
        cur.execute("select rolname, rolcanlogin from pg_roles where rolname = any(%s)", [roles])
        report.login = dict(cur.fetchall())
    return report
