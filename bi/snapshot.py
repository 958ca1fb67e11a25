"""A BI copy of the DuckDB warehouse: `marts` and `finance` in a file of their own (`salesdw bi-snapshot`).

DuckDB locks its file: while a BI tool holds the warehouse open (even read-only) no run can write it, and
while a run writes, no BI tool can open it. BI tools hold the snapshot instead. It is written to a temporary
file and renamed over the previous one, so a tool reading the old snapshot keeps reading it (POSIX) until it
reconnects, and runs are never blocked by a reader.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import duckdb

BI_SCHEMAS: tuple[str, ...] = ("marts", "finance")
MARKER_TABLE = "salesdw_bi_snapshot"  # main.salesdw_bi_snapshot(source, written_at): this file is a snapshot


class UnsafeSnapshotTarget(ValueError):
    """The output is the warehouse itself, or a file that is not a snapshot (overwriting it would lose data)."""


def is_snapshot(path: Path) -> bool:
    """A DuckDB file written by write_snapshot (it holds the marker table)."""
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            schemas = {s for (s,) in con.execute("select distinct schema_name from duckdb_tables()").fetchall()}
            marked = con.execute(
                "select count(*) from duckdb_tables() where schema_name = 'main' and table_name = ?", [MARKER_TABLE]
            ).fetchone()[0]
            # a snapshot written before the marker existed holds BI schemas only
            return bool(marked) or (bool(schemas) and schemas <= set(BI_SCHEMAS))
    except duckdb.Error:
        return False


def check_target(warehouse: Path, out: Path) -> None:
    """Refuse an output that is the warehouse or an existing file that is not a snapshot."""
    if out.exists() and warehouse.exists() and out.resolve().samefile(warehouse.resolve()):
        raise UnsafeSnapshotTarget(f"--out {out} is the warehouse itself; a snapshot would replace it")
    if out.exists() and not out.is_file():
        raise UnsafeSnapshotTarget(f"--out {out} is not a file")
    if out.exists() and not is_snapshot(out):
        raise UnsafeSnapshotTarget(
            f"--out {out} exists and is not a BI snapshot (no {MARKER_TABLE} table); refusing to overwrite it"
        )


def default_snapshot_path(warehouse: Path) -> Path:
    """data/warehouse.duckdb -> data/warehouse_bi.duckdb"""
    return warehouse.with_name(f"{warehouse.stem}_bi{warehouse.suffix}")


def write_snapshot(warehouse: Path, out: Path, schemas: Sequence[str] = BI_SCHEMAS) -> dict[str, int]:
    """Copy every table and view of these schemas (as tables, types kept) into out; {schema.table: rows}."""
    check_target(warehouse, out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    try:
        with duckdb.connect(str(tmp)) as con:
            con.execute("attach '{}' as wh (read_only)".format(str(warehouse).replace("'", "''")))
            relations = con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = 'wh' "
                "and schema_name in (select unnest(?)) union all "
                "select schema_name, view_name from duckdb_views() where database_name = 'wh' and not internal "
                "and schema_name in (select unnest(?)) order by 1, 2",
                [list(schemas), list(schemas)],
            ).fetchall()
            for schema in schemas:
                con.execute(f'create schema "{schema}"')
            for schema, name in relations:
                con.execute(f'create table "{schema}"."{name}" as select * from wh."{schema}"."{name}"')
                counts[f"{schema}.{name}"] = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
            con.execute("detach wh")
            con.execute(f"create table main.{MARKER_TABLE} (source varchar, written_at timestamptz)")
            con.execute(f"insert into main.{MARKER_TABLE} values (?, now())", [str(warehouse)])
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return counts
