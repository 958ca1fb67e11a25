"""Row counts, column schemas and column lineage of the dbt assets a build materialized, read in bulk.

dagster-dbt's ``fetch_row_counts()`` / ``fetch_column_metadata()`` ask the warehouse once per model and
relation (a count, then the columns of the model and of each parent) and parse every model's SQL with sqlglot
for its column lineage, after every build: about 50 s of a main job at scale 1, most of it lineage. Here the
same metadata comes from one ``information_schema.columns`` query and one ``count(*)`` query per build, and a
model's lineage is parsed again only when its compiled SQL or the columns it reads changed (a cache in dbt's
target folder, keyed by both), so an unchanged project pays for lineage once. The lineage itself is still
dagster-dbt's (``_build_column_lineage_metadata``), so the UI shows exactly what the library would.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetMaterialization, Output
from dagster._core.definitions.metadata import TableMetadataSet
from dagster_dbt.asset_utils import default_metadata_from_dbt_resource_props
from dagster_dbt.core.dbt_cli_event import EventHistoryMetadata, _build_column_lineage_metadata

log = logging.getLogger("salesdw.dbt_metadata")

LINEAGE_CACHE = "salesdw_column_lineage.json"
TABLE_MATERIALIZATIONS = {"table", "incremental", "snapshot", "seed"}

Columns = dict[str, dict[str, str]]  # column name -> {"data_type": ...}, in the table's order


def relation_key(props: Mapping[str, Any]) -> tuple[str, str, str]:
    """(database, schema, identifier) of a node or source, lower-cased (as information_schema reports it)."""
    identifier = props["identifier"] if props["unique_id"].startswith("source") else props["alias"]
    return (str(props["database"]).lower(), str(props["schema"]).lower(), str(identifier).lower())


def _rows(adapter: Any, sql: str) -> list[tuple[Any, ...]]:
    with adapter.connection_named("salesdw_asset_metadata"):
        _, table = adapter.execute(sql, fetch=True)
    return [tuple(row.values()) for row in table.rows]


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def read_columns(adapter: Any, relations: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], Columns]:
    """The columns of every given relation, in one query."""
    schemas = sorted({schema for _, schema, _ in relations})
    if not schemas:
        return {}
    sql = (
        "select table_catalog, table_schema, table_name, column_name, data_type from information_schema.columns "
        f"where lower(table_schema) in ({', '.join(_quote(s) for s in schemas)}) "
        "order by table_catalog, table_schema, table_name, ordinal_position"
    )
    columns: dict[tuple[str, str, str], Columns] = {}
    for catalog, schema, table, column, data_type in _rows(adapter, sql):
        key = (str(catalog).lower(), str(schema).lower(), str(table).lower())
        columns.setdefault(key, {})[column] = {"data_type": str(data_type)}
    return columns


def read_row_counts(adapter: Any, nodes: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Rows of every table-like node (views are not counted: their SQL can be expensive), in one query."""
    tables = {
        uid: props
        for uid, props in nodes.items()
        if props.get("config", {}).get("materialized") in TABLE_MATERIALIZATIONS and props.get("relation_name")
    }
    if not tables:
        return {}
    sql = " union all ".join(
        f"select {_quote(uid)} as unique_id, count(*) as row_count from {props['relation_name']}"
        for uid, props in tables.items()
    )
    return {uid: int(count) for uid, count in _rows(adapter, sql)}


def lineage_key(compiled_sql: str, columns: Columns, parents: Mapping[str, Columns]) -> str:
    """What a model's column lineage depends on: its compiled SQL and the columns of it and of what it reads."""
    blob = json.dumps([compiled_sql, columns, sorted(parents.items())], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class LineageCache:
    """Column lineage metadata per model, as JSON, reused while its key is unchanged."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.entries: dict[str, dict[str, Any]] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.entries = {}
        self.hits = self.misses = 0

    def get(self, unique_id: str, key: str) -> Any | None:
        entry = self.entries.get(unique_id)
        if entry and entry.get("key") == key:
            self.hits += 1
            return entry["lineage"]
        self.misses += 1
        return None

    def put(self, unique_id: str, key: str, lineage: Any) -> None:
        self.entries[unique_id] = {"key": key, "lineage": lineage}

    def save(self) -> None:
        staged = self.path.with_name(self.path.name + ".tmp")
        staged.write_text(json.dumps(self.entries))
        os.replace(staged, self.path)


def _lineage(
    props: Mapping[str, Any],
    columns: Columns,
    parents: dict[str, Columns],
    manifest: Mapping[str, Any],
    translator: Any,
    target_path: Path,
    cache: LineageCache,
) -> dict[str, Any]:
    compiled = target_path / "compiled" / props["package_name"] / props["original_file_path"]
    if not compiled.exists():  # seeds, or a node this build did not compile
        return {}
    key = lineage_key(compiled.read_text(), columns, parents)
    cached = cache.get(props["unique_id"], key)
    if cached is not None:
        from dagster._serdes import deserialize_value

        return {name: deserialize_value(value) for name, value in cached.items()}
    try:
        lineage = _build_column_lineage_metadata(
            event_history_metadata=EventHistoryMetadata(columns=columns, parents=parents),
            dbt_resource_props=dict(props),
            manifest=manifest,
            dagster_dbt_translator=translator,
            target_path=target_path,
            project=None,
        )
    except Exception as exc:  # as dagster-dbt: lineage is best effort, the build stands
        log.warning("no column lineage for %s: %s", props["unique_id"], exc)
        lineage = {}
    from dagster._serdes import serialize_value

    cache.put(props["unique_id"], key, {name: serialize_value(value) for name, value in lineage.items()})
    return lineage


def attach_metadata(
    events: list[Any],
    adapter: Any,
    manifest: Mapping[str, Any],
    translator: Any,
    target_path: Path,
    cache_dir: Path,
    detail: str,
) -> Iterator[Any]:
    """The build's events, its materializations carrying row counts ('counts', 'full') and column schema and
    lineage ('full')."""
    built = {
        str(e.metadata["unique_id"].text): manifest["nodes"][str(e.metadata["unique_id"].text)]
        for e in events
        if isinstance(e, Output | AssetMaterialization)
        and "unique_id" in e.metadata
        and str(e.metadata["unique_id"].text) in manifest["nodes"]
    }
    if detail not in ("counts", "full") or adapter is None or not built:
        yield from events
        return
    counts = read_row_counts(adapter, built)
    extra: dict[str, dict[str, Any]] = {
        uid: {**TableMetadataSet(row_count=n, storage_kind=manifest["metadata"]["adapter_type"])}
        for uid, n in counts.items()
    }
    if detail == "full":
        parents_of = {uid: manifest["parent_map"].get(uid, []) for uid in built}
        every = {uid: props for uid, props in built.items()}
        for parent_ids in parents_of.values():
            for pid in parent_ids:
                props = manifest["nodes"].get(pid) or manifest["sources"].get(pid)
                if props:
                    every[pid] = props
        columns = read_columns(adapter, [relation_key(p) for p in every.values()])
        cache = LineageCache(cache_dir / LINEAGE_CACHE)
        for uid, props in built.items():
            own = columns.get(relation_key(props), {})
            metadata = dict(default_metadata_from_dbt_resource_props({"columns": own})) if own else {}
            parents = {
                str(every[pid]["relation_name"]): columns.get(relation_key(every[pid]), {})
                for pid in parents_of[uid]
                if pid in every and every[pid].get("relation_name")
            }
            metadata.update(_lineage(props, own, parents, manifest, translator, target_path, cache))
            extra[uid] = {**extra.get(uid, {}), **metadata}
        cache.save()
        log.info("asset metadata: %d models, column lineage %d reused, %d parsed", len(built), cache.hits, cache.misses)
    for event in events:
        if isinstance(event, Output | AssetMaterialization) and "unique_id" in event.metadata:
            more = extra.get(str(event.metadata["unique_id"].text))
            if more:
                event = event.with_metadata({**event.metadata, **more})
        yield event
