"""A guard against rows replayed by a resumed load.

dlt resumes a killed load from its package: a copy job that had already committed into the staging
table, but was not yet marked complete, runs again, and the merge then inserts both copies (the same
``_dlt_id`` twice). A row id is unique by construction, so a second row with the same ``_dlt_id`` is a
replay, never data: this removes such rows after every load and says how many it removed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from core.warehouse import connect

log = logging.getLogger("salesdw.ingestion")

# each target's physical row identity, to tell two copies of a row apart
ROW_ID = {"duckdb": "rowid", "postgres": "ctid"}


def remove_replayed_rows(duckdb_path: Path | None, dataset: str) -> dict[str, int]:
    """On the current target (`duckdb_path`: the DuckDB file when that is the target)."""
    removed: dict[str, int] = {}
    with connect(duckdb_path, read_only=False) as con:
        row_id = ROW_ID[con.target]
        tables = [
            r[0]
            for r in con.rows(
                "select table_name from information_schema.columns where table_schema = ? and column_name = '_dlt_id'",
                [dataset],
            )
        ]
        for table in tables:
            name = f'{dataset}."{table}"'
            # (a data-modifying CTE would count on both targets, but DuckDB does not delete in one)
            count = con.scalar(f"select count(_dlt_id) - count(distinct _dlt_id) from {name}")
            if count:
                con.execute(f"""
                    delete from {name} where {row_id} in (
                        select {row_id} from (
                            select {row_id}, row_number() over (partition by _dlt_id order by {row_id}) as copy_number
                            from {name}) as copies
                        where copy_number > 1)""")
                removed[table] = count
    if removed:
        log.warning("%s: removed rows replayed by a resumed load: %s", dataset, removed)
    return removed
