"""What the models were last built from, so a main job that loads nothing new does not rebuild them.

A build's inputs are the raw layer (every raw table's row count and a hash of its rows' content: a load that
inserts, updates, merges away or quarantines a record changes one of them), the dbt project's files
(models, macros, seeds, snapshots, the project file), the project's settings (``SALESDW_*``: they reach dbt as
vars), the run's day (partitions end on it) and the target. After a
main job that succeeded through its last run, ``save`` records their fingerprint next to the warehouse; the next
main job loads the sources first and rebuilds only when the fingerprint differs (or none was recorded: a first
build, a failed one, a full refresh). Nothing downstream can be stale: any change to an input is a rebuild.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.warehouse import current_target, warehouse_path
from orchestration.resources import DBT_PROJECT_DIR, read_only_warehouse

PROJECT_INPUTS = ("models", "macros", "seeds", "snapshots", "dbt_project.yml")


def _marker(identity: str) -> Path:
    safe = "".join(c if c.isalnum() else "_" for c in identity)
    return warehouse_path().parent / f"last_build_{safe}.json"


def project_digest(root: Path = DBT_PROJECT_DIR) -> str:
    """A digest of the dbt project's files that shape the build."""
    digest = hashlib.sha256()
    for name in PROJECT_INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.exists():
                digest.update(str(file.relative_to(root)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


DLT_KEYS = ("_dlt_load_id", "_dlt_id", "_dlt_parent_id", "_dlt_root_id")
# provenance a re-read stamps afresh on the same records: the load that quarantined a record again and when, the
# Amazon Ads report a re-requested day came from
PROVENANCE = ("load_id", "detected_at", "report_id")


def raw_tables() -> dict[str, list[Any]] | None:
    """Every raw table's row count and a hash of its rows' content (dlt's ids and the PROVENANCE columns left out:
    a load that re-reads an incremental window merges the same records again under new ids); None when the
    warehouse cannot be read, and on PostgreSQL (no cheap row hash there yet: every main job rebuilds)."""
    if current_target() != "duckdb":
        return None
    try:
        with read_only_warehouse() as con:
            columns = con.rows(
                "select table_schema, table_name, column_name from information_schema.columns "
                "where table_schema like 'raw\\_%' escape '\\' and table_schema not like '%\\_staging' escape '\\' "
                "and table_name not like '\\_dlt%' escape '\\' order by 1, 2, ordinal_position"
            )
            tables: dict[str, list[str]] = {}
            for schema, table, column in columns:
                tables.setdefault(f'"{schema}"."{table}"', []).append(column)
            parts = []
            for name, cols in sorted(tables.items()):
                left_out = [c for c in cols if c in DLT_KEYS + PROVENANCE]
                if len(left_out) == len(cols):
                    continue
                star = f"* exclude ({', '.join(left_out)})" if left_out else "*"
                parts.append(f"select '{name}', count(*), sum(hash(*columns({star}))::hugeint) from {name}")
            if not parts:
                return None
            rows = con.rows(" union all ".join(parts))
    except Exception:  # no warehouse yet, or a table being replaced: unknown, so a rebuild
        return None
    return {str(n).replace('"', ""): [int(c), str(h)] for n, c, h in sorted(rows)}


def fingerprint(identity: str, run_day: str | None = None, tables: dict[str, list[Any]] | None = None) -> str | None:
    """The digest of a build's inputs (``tables``: raw_tables(), read now when not given); None: unknown."""
    raw = tables if tables is not None else raw_tables()
    if raw is None:
        return None
    day = run_day or datetime.now(UTC).date().isoformat()
    # the project's settings reach dbt as vars (churn window, as-of dates, ...): a changed setting is a rebuild
    settings = json.dumps(sorted((k, v) for k, v in os.environ.items() if k.startswith("SALESDW_")))
    digest = hashlib.sha256(json.dumps(sorted(raw.items())).encode()).hexdigest()
    return hashlib.sha256(f"{identity}|{day}|{settings}|{project_digest()}|{digest}".encode()).hexdigest()


def changed_tables(before: dict[str, list[Any]], now: dict[str, list[Any]] | None) -> list[str]:
    """Raw tables whose rows differ between two readings (new, gone, other count or content): what a rebuild is for."""
    now = now or {}
    return sorted(t for t in set(before) | set(now) if before.get(t) != now.get(t))


def last_tables(identity: str) -> dict[str, list[Any]]:
    """The raw tables' counts and hashes the last build recorded (empty when none was)."""
    try:
        return json.loads(_marker(identity).read_text()).get("tables") or {}
    except (OSError, ValueError, AttributeError):
        return {}


def last_build(identity: str) -> str | None:
    try:
        return json.loads(_marker(identity).read_text())["fingerprint"]
    except (OSError, ValueError, KeyError):
        return None


def save(identity: str, value: str | None, tables: dict[str, list[Any]] | None = None) -> None:
    """Record the inputs of a build that succeeded (None forgets them: the next main job rebuilds), with each raw
    table's count and hash (what the next main job names when it rebuilds)."""
    marker = _marker(identity)
    if value is None:
        marker.unlink(missing_ok=True)
        return
    staged = marker.with_name(marker.name + ".tmp")
    record = {"fingerprint": value, "built_at": datetime.now(UTC).isoformat(), "tables": tables or {}}
    staged.write_text(json.dumps(record))
    os.replace(staged, marker)
