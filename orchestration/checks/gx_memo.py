"""A Great Expectations suite not run again on rows it has already passed.

A suite validates the rows of its query (``SuiteSpec.sql``). Validation is deterministic: the same rows and the
same expectations give the same verdict. Most of an hourly main job's checks meet rows they passed an hour
before (a source that loaded nothing new), and GX spends a third of a second per suite building its context and
batch before it looks at a row. So before it validates, a check asks DuckDB for a digest of the query's rows (a
count and a sum of row hashes, computed by DuckDB without leaving the database), and when the same suite (its
name and query, the code of the suites, and the GX version) passed exactly those rows before, the check passes again
without GX, saying so in its metadata (``validated``: when the rows were last validated). Only passes are kept:
a failure is validated again every time, with its failing expectations and sample rows. On PostgreSQL (no cheap
row hash) every suite validates every time.

The memo is a JSON file next to the warehouse (``gx_passed_<warehouse>.json``), replaced whole on each write.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from core.warehouse import Warehouse, warehouse_path
from orchestration.checks.gx_runner import SuiteSpec


def _memo_path(identity: str) -> Path:
    safe = "".join(c if c.isalnum() else "_" for c in identity)
    return warehouse_path().parent / f"gx_passed_{safe}.json"


CHECKS_DIR = Path(__file__).resolve().parent


@cache
def _suites_code() -> str:
    """A digest of the files that define and run the suites (their expectations live in code), and GX's version:
    any change to them validates every suite again. Read without importing GX (gx_runner._Lazy)."""
    digest = hashlib.sha256(version("great_expectations").encode())
    for path in sorted(CHECKS_DIR.glob("gx_*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def suite_digest(suite: SuiteSpec) -> str:
    """What a verdict depends on besides the rows: the suite (name, asset, query), its code, and GX itself."""
    blob = json.dumps([suite.name, list(suite.asset), suite.sql, _suites_code()])
    return hashlib.sha256(blob.encode()).hexdigest()


def rows_digest(con: Warehouse, suite: SuiteSpec) -> str | None:
    """A digest of the rows the suite validates (DuckDB only; None elsewhere, or when it cannot be computed)."""
    if con.target != "duckdb":
        return None
    try:
        ((count, total),) = con.rows(
            f"select count(*), coalesce(sum(hash(*columns(*)))::hugeint, 0) from ({suite.sql}) as suite_rows"
        )
    except Exception:  # a query DuckDB cannot hash: validated every time
        return None
    return f"{int(count)}:{total}"


class PassedSuites:
    def __init__(self, identity: str) -> None:
        self.path = _memo_path(identity)
        try:
            self.entries: dict[str, dict[str, Any]] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.entries = {}

    @staticmethod
    def _key(suite: SuiteSpec, rows: str) -> str:
        return hashlib.sha256(f"{suite_digest(suite)}|{rows}".encode()).hexdigest()

    def passed_before(self, suite: SuiteSpec, rows: str | None) -> dict[str, Any] | None:
        """The metadata of the pass of these rows by this suite, when there was one."""
        if rows is None:
            return None
        entry = self.entries.get(suite.name)
        return (
            entry["metadata"] | {"validated": entry["at"]} if entry and entry["key"] == self._key(suite, rows) else None
        )

    def remember(self, suite: SuiteSpec, rows: str | None, passed: bool, metadata: dict[str, Any]) -> None:
        """Keep a pass (one entry per suite: its last rows); a failure forgets the suite's last pass."""
        if rows is None:
            return
        if passed:
            self.entries[suite.name] = {
                "key": self._key(suite, rows),
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "metadata": metadata,
            }
        else:
            self.entries.pop(suite.name, None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staged = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        staged.write_text(json.dumps(self.entries, default=str))
        os.replace(staged, self.path)
