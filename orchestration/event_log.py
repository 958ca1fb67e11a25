"""Dagster's SQLite event log, writing each event without an fsync of its own.

A main job writes a few thousand events (every dbt model's materialization and every dbt test's check
evaluation, each also planned at the run's start). Dagster's ``SqliteEventLogStorage`` opens a new engine and
connection for every event and commits each one with SQLite's default ``synchronous=FULL``: an fsync per event,
half of the main job's Dagster overhead (docs/architecture.md: The main job's speed). This storage is that one
with two changes: an engine per database file is kept (the last few, not one per event), and each connection
runs ``PRAGMA synchronous=NORMAL``. Dagster already keeps these files in WAL mode, where NORMAL is SQLite's
documented safe setting: a killed process loses nothing committed and a power cut cannot corrupt the file; only
the last events before a power cut may be lost. Everything else (schema, shards, the index, watching for new
events) is Dagster's.

dagster.yaml names it as ``event_log_storage``; ``base_dir`` defaults to Dagster's own place for it,
``$DAGSTER_HOME/history/runs``, so the history of the default storage stays readable.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from dagster import Field, StringSource
from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS, EVENT_TYPE_TO_PIPELINE_RUN_STATUS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlalchemy_compat import db_result
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"  # read by Dagster at each event; unset or 0: no batches
BATCH_SIZE = 1000


def enable_event_batches() -> None:
    """Let Dagster hand this storage batches of events (``store_event_batch``), unless the environment says
    otherwise. Called by ``salesdw run`` and ``salesdw ui`` before any run starts."""
    os.environ.setdefault(BATCH_SIZE_ENV, str(BATCH_SIZE))


ENGINES_KEPT = 8  # the index and the runs being written; a webserver reading many runs does not hold them all


class SyncNormalSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str | None = None, inst_data: Any = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        home = os.environ.get("DAGSTER_HOME")
        if not base_dir and not home:  # never a silent `./history` in whatever folder the process runs in
            raise DagsterInvariantViolationError(
                "SyncNormalSqliteEventLogStorage needs DAGSTER_HOME set (or base_dir in dagster.yaml)"
            )
        super().__init__(base_dir or os.path.join(str(home), "history", "runs"), inst_data)

    @classmethod
    def config_type(cls) -> Mapping[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Mapping[str, Any]) -> SyncNormalSqliteEventLogStorage:
        return cls(inst_data=inst_data, **dict(config_value))

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(self.conn_string_for_shard(shard), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > ENGINES_KEPT:
            _, old = self._engines.popitem(last=False)
            old.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """A batch of events (Dagster sends one when ``DAGSTER_EVENT_BATCH_SIZE`` is set: a run's planned events,
        and the materializations of a partitioned output, one per partition) in one transaction per database
        file, where the default stores them one by one, a transaction each. What is written, and where, is
        ``store_event``'s: the run's file, and the index for asset, check and run status events."""
        by_run: dict[str, list[tuple[EventLogEntry, Any]]] = {}
        for entry in events:
            by_run.setdefault(entry.run_id, []).append((entry, self.prepare_insert_event(entry)))
        for run_id, rows in by_run.items():
            with self.run_connection(run_id) as conn:
                for _, insert in rows:
                    conn.execute(insert)
            assets = [(e, insert) for e, insert in rows if e.is_dagster_event and e.dagster_event_type in ASSET_EVENTS]
            if assets:
                with self.index_transaction() as conn:
                    ids = []
                    for _, insert in assets:
                        with db_result(conn, insert) as result:
                            ids.append(result.inserted_primary_key[0])
                    if any(i is None for i in ids):
                        raise DagsterInvariantViolationError("Cannot store asset event tags for null event id.")
                    self._store_asset_event_tags(conn, [e for e, _ in assets], ids)
                    for (entry, _), event_id in zip(assets, ids, strict=True):
                        self._store_asset_event(conn, entry, event_id)
            checks = [(e, i) for e, i in rows if e.is_dagster_event and e.dagster_event_type in ASSET_CHECK_EVENTS]
            for entry, insert in checks:
                with self.index_connection() as conn, db_result(conn, insert) as result:
                    event_id = result.inserted_primary_key[0]
                self.store_asset_check_event(entry, event_id)
            statuses = [
                insert
                for e, insert in rows
                if e.is_dagster_event and e.dagster_event_type in EVENT_TYPE_TO_PIPELINE_RUN_STATUS
            ]
            if statuses:
                with self.index_connection() as conn:
                    for insert in statuses:
                        conn.execute(insert)

    def _dispose_engines(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def wipe(self) -> None:
        self._dispose_engines()  # the run files are removed next
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
