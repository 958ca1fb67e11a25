"""`salesdw run` (the README's main command) and `salesdw sandbox truth` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SALESDW = [sys.executable, "-m", "cli.main"]


def test_sandbox_truth_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "truth.json"
    subprocess.run(
        [*SALESDW, "sandbox", "truth", "--scale", "0.01", "--as-of", "2024-03-31", "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    truth = json.loads(out.read_text())
    assert truth["world"] == {"seed": 7, "scale": 0.01, "as_of": "2024-03-31", "faults": "none"}
    months = {r["month"] for r in truth["monthly"]}
    assert months == {"2024-01", "2024-02", "2024-03"}
    assert all(r["net_sales_usd"] for r in truth["monthly"])


@pytest.mark.slow
def test_salesdw_run_under_heavy_faults_prints_a_reconciled_summary_reports_the_quarantine_and_exits_0(
    tmp_path: Path,
) -> None:
    """429s, 5xx, slow responses, dropped connections, truncated bodies, shifting pages, drift, bad records:
    one `salesdw run` as a user starts it, whose summary, exit code and Dagster home are what the README says."""
    env = {
        **os.environ,
        "SALESDW_DUCKDB_PATH": str(tmp_path / "wh.duckdb"),
        "DAGSTER_HOME": str(tmp_path / "home"),
        "SALESDW_HTTP_TIMEOUT_S": "1",
    }
    done = subprocess.run(
        [
            *SALESDW,
            "run",
            "--scale",
            "0.02",
            "--as-of",
            "2026-04-30",
            "--port",
            "0",
            "--seed",
            "6",
            "--faults",
            "heavy",
            "--slow-s",
            "2",
            "--log-level",
            "WARNING",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "Raw layer (rows loaded vs sandbox truth)" in out
    assert "MISMATCH" not in out and "reconciliation with sandbox truth: exact" in out
    assert "0 failed" in out
    assert (tmp_path / "home" / "dagster.yaml").exists()  # runs are recorded in the persistent instance
    assert any((tmp_path / "home").rglob("*.db"))
    quarantine = out.split("Quarantine (raw_quarantine.records")[1]
    assert "sandbox truth (bad records served, malformed plan rows)" in quarantine and "= truth" in quarantine
    truth = json.loads(
        subprocess.run(
            [
                *SALESDW,
                "sandbox",
                "truth",
                "--scale",
                "0.02",
                "--as-of",
                "2026-04-30",
                "--seed",
                "6",
                "--faults",
                "heavy",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
    )
    assert truth["bad_records"], "the heavy world serves bad records"
    import duckdb

    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        got = sorted(con.execute("select record_id from raw_quarantine.records").fetchall())
        reasons = [r[0] for r in con.execute("select reason from raw_quarantine.records").fetchall()]
    # exactly the bad records served and the plan sheet's malformed rows, each once
    expected = [b["record_id"] for b in truth["bad_records"]] + [m["record_id"] for m in truth["plan"]["malformed"]]
    assert got == sorted((r,) for r in expected)
    assert all(reasons)
