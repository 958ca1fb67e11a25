"""Sources extracted ahead of their loads in a child process (ingestion/extract_ahead.py): the loads that follow
write exactly what a load that extracts for itself writes, the child's log lines reach the load's log, a failed
extract fails its load with the child's error, and a killed run's pending package is loaded first, as dlt does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestion import extract_ahead
from ingestion.pipelines import load, make_pipeline
from sandbox.connect import sandbox_env
from sandbox.server import SandboxServer
from tests.helpers import environment, query

pytestmark = pytest.mark.slow
KEYS = ["fx", "plan", "ebay"]


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str) -> None:
        self.lines.append(msg)

    def warning(self, msg: str) -> None:
        self.lines.append(msg)


@pytest.fixture(scope="module")
def server(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    with environment(sandbox_env(sandbox.url)):  # the sources, and the children they start, read this sandbox
        yield sandbox


def _tables(warehouse: Path, dataset: str) -> dict[str, object]:
    """Every table of the dataset: its rows without dlt's own ids and load stamps (they differ per load)."""
    tables = [
        t
        for (t,) in query(
            warehouse,
            f"select table_name from information_schema.tables where table_schema = '{dataset}' and table_name not like '\\_dlt%' escape '\\'",
        )
    ]
    out: dict[str, object] = {}
    for table in tables:
        cols = [
            c
            for (c,) in query(
                warehouse,
                f"select column_name from information_schema.columns where table_schema = '{dataset}' and table_name = '{table}' order by ordinal_position",
            )
            if not c.startswith("_dlt") and c not in ("load_id", "detected_at")
        ]
        out[table] = sorted(map(str, query(warehouse, f"select {', '.join(cols)} from {dataset}.{table}")))
    return out


def test_loads_after_an_extract_ahead_write_what_a_plain_load_writes(server: SandboxServer, tmp_path: Path) -> None:
    plain, ahead = tmp_path / "plain" / "warehouse.duckdb", tmp_path / "ahead" / "warehouse.duckdb"
    for key in KEYS:
        load(key, duckdb_path=plain)
    children = extract_ahead.start(KEYS, full_refresh=False, duckdb_path=ahead)
    try:
        logs = Lines()
        results = {key: load(key, duckdb_path=ahead, logger=logs) for key in KEYS}
    finally:
        extract_ahead.stop()
    assert sorted(k for c in children for k in c.seconds) == sorted(KEYS)  # every one extracted by the child
    assert any(line.startswith("ebay/orders: done") for line in logs.lines)  # the child's progress, in the load's log
    for key, result in results.items():
        assert result.rows_loaded and _tables(ahead, result.dataset) == _tables(plain, result.dataset)
    again = load("plan", duckdb_path=ahead)  # a load after it, extracting for itself, adds nothing
    assert _tables(ahead, "raw_plan") == _tables(plain, "raw_plan")
    assert again.quarantine_total == results["plan"].quarantine_total


def test_a_failed_extract_fails_its_load_with_the_childs_error(server: SandboxServer, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    broken = {
        k: "http://127.0.0.1:9/nothing-here"
        for k, v in sandbox_env(server.url).items()
        if k.startswith("SOURCES__FX") and v.startswith("http")
    }
    assert broken, "the fx source's URL setting"
    with environment(broken):
        extract_ahead.start(["fx"], full_refresh=False, duckdb_path=warehouse)
    try:
        with pytest.raises(extract_ahead.ExtractFailed, match=r"^fx/.*127\.0\.0\.1:9") as failed:
            load("fx", duckdb_path=warehouse)
        assert "extracted in the extract-ahead process" in failed.value.__notes__[0]
    finally:
        extract_ahead.stop()
    assert load("fx", duckdb_path=warehouse).rows_loaded["rates"] > 0  # the next load extracts for itself


def test_a_pending_package_is_loaded_first(server: SandboxServer, tmp_path: Path) -> None:
    """A killed run left an extracted package: the child does not extract over it, the load step loads it."""
    from ingestion.pipelines import SOURCES, loader_file_format

    warehouse = tmp_path / "warehouse.duckdb"
    first = load("fx", duckdb_path=warehouse)
    pipeline = make_pipeline("fx", warehouse)
    pipeline.extract(SOURCES["fx"].factory(), loader_file_format=loader_file_format())  # ... then the kill
    assert pipeline.has_pending_data
    children = extract_ahead.start(["fx"], full_refresh=False, duckdb_path=warehouse)
    try:
        result = load("fx", duckdb_path=warehouse)
    finally:
        extract_ahead.stop()
    assert children[0].seconds == {}  # not extracted by the child: the step loaded the pending package
    assert not make_pipeline("fx", warehouse).has_pending_data
    assert result.table_rows["rates"] == first.table_rows["rates"]  # nothing doubled
