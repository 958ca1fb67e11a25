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


def default_snapshot_path(warehouse: Path) -> Path:
    """data/warehouse.duckdb -> data/warehouse_bi.duckdb"""
    return warehouse.with_name(f"{warehouse.stem}_bi{warehouse.suffix}")


def write_snapshot(warehouse: Path, out: Path, schemas: Sequence[str] = BI_SCHEMAS) -> dict[str, int]:
    """Copy every table and view of these schemas (as tables, types kept) into out; {schema.table: rows}."""
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
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return counts
