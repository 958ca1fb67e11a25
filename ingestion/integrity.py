"""A guard against rows replayed by a resumed load.

dlt resumes a killed load from its package: a copy job that had already committed into the staging
table, but was not yet marked complete, runs again, and the merge then inserts both copies (the same
``_dlt_id`` twice). A row id is unique by construction, so a second row with the same ``_dlt_id`` is a
replay, never data: this removes such rows after every load and says how many it removed.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

log = logging.getLogger("salesdw.ingestion")


def remove_replayed_rows(duckdb_path: Path, dataset: str) -> dict[str, int]:
    removed: dict[str, int] = {}
    with duckdb.connect(str(duckdb_path)) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.columns where table_schema = ? and column_name = '_dlt_id'",
            [dataset]).fetchall()]
        for table in tables:
            name = f'{dataset}."{table}"'
            count = con.execute(f"""
                delete from {name} where rowid in (
                    select rowid from (
                        select rowid, row_number() over (partition by _dlt_id order by rowid) as copy_number
                        from {name}) as copies
                    where copy_number > 1)""").fetchone()[0]  # type: ignore[index]
            if count:
                removed[table] = count
    if removed:
        log.warning("%s: removed rows replayed by a resumed load: %s", dataset, removed)
    return removed
