"""The shared incremental loop: a lookback re-read of the version already loaded is not loaded again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dlt
import duckdb

from ingestion.contracts import Contract, amount_present
from ingestion.incremental import UpdateCursor, incremental_pages


def _pipeline(tmp_path: Path) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name="incremental_versions",
        destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
        dataset_name="raw_test",
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def _load(pipeline: dlt.Pipeline, records: list[dict[str, Any]]) -> dict[str, int]:
    contract = Contract("test", "orders", id_path="id", checks=[amount_present("amount")])

    @dlt.resource(name="orders", primary_key="id", write_disposition="merge")
    def orders() -> Any:
        cursor = UpdateCursor("2026-01-01T00:00:00Z", timedelta(hours=1))
        # the vendor returns what changed since the cursor's start (the lookback re-reads the last hour)
        page = [dict(r) for r in records if r["updated_at"] >= cursor.start.strftime("%Y-%m-%dT%H:%M:%SZ")]
        yield from incremental_pages(cursor, [page], lambda r: r["updated_at"], contract, record_id=lambda r: r["id"])

    pipeline.run(orders())
    counts = pipeline.last_trace.last_normalize_info.row_counts if pipeline.last_trace.last_normalize_info else {}
    return {t: n for t, n in counts.items() if not t.startswith("_dlt")}


def test_a_re_read_of_the_loaded_version_loads_nothing_and_a_new_version_loads(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    records = [
        {"id": "A", "updated_at": "2026-03-01T10:00:00Z", "amount": "1.00"},
        {"id": "B", "updated_at": "2026-03-01T10:30:00Z", "amount": "2.00"},
        {"id": "C", "updated_at": "2026-03-01T10:45:00Z", "amount": None},  # broken: quarantined
    ]
    assert _load(pipeline, records) == {"orders": 2, "quarantine": 1}
    # nothing changed: A, B and C are re-read by the lookback; A and B are the versions loaded, C is broken again
    assert _load(pipeline, records) == {"quarantine": 1}
    # B changes (a later update time); C is fixed at its same update time: both load, A does not
    records[1] = {"id": "B", "updated_at": "2026-03-01T10:50:00Z", "amount": "2.50"}
    records[2] = {"id": "C", "updated_at": "2026-03-01T10:45:00Z", "amount": "3.00"}
    assert _load(pipeline, records) == {"orders": 2}
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        rows = con.execute("select id, amount from raw_test.orders order by id").fetchall()
    assert rows == [("A", "1.00"), ("B", "2.50"), ("C", "3.00")]
