"""Settings in one place: every SALESDW_* variable is declared once, documented in the README, validated;
the code that builds dbt's arguments is a pure function; importing the project has no side effects."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from core.paths import PROJECT_ROOT
from core.settings import Settings, SettingsError, settings_table
from orchestration.assets.transform import dbt_run_env, partition_range

VARIABLE = re.compile(r"\bSALESDW_[A-Z0-9_]+\b")
SCANNED = ("*.py", "*.sql", "*.yml", "*.yaml", "*.toml", "Makefile", ".ci/run")


def _declared() -> set[str]:
    from dataclasses import fields

    return {f.metadata["env"] for f in fields(Settings)}


def _used() -> dict[str, set[str]]:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *SCANNED],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    used: dict[str, set[str]] = {}
    for name in files:
        path = PROJECT_ROOT / name
        if path.is_file():
            for var in VARIABLE.findall(path.read_text(errors="replace")):
                used.setdefault(var, set()).add(name)
    return used


def test_every_variable_the_project_reads_is_declared_in_settings() -> None:
    undeclared = {var: sorted(where) for var, where in _used().items() if var not in _declared()}
    assert not undeclared, f"declare these in core/settings.py (and the README table): {undeclared}"


def test_the_readme_table_is_the_settings_table() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert settings_table() in readme, "README's settings table is stale: paste core.settings.settings_table()"
    assert _declared() <= set(VARIABLE.findall(readme))


def test_settings_read_and_validate_the_environment(tmp_path: Path) -> None:
    s = Settings.from_env(
        {
            "SALESDW_TARGET": "postgres",
            "SALESDW_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
            "SALESDW_HTTP_TIMEOUT_S": "2.5",
            "SALESDW_CLOSE_REFERENCE_DATE": "2026-06-01",
            "SALESDW_POSTGRES_DSN": "postgresql://u:topsecret@h/db",
            "SALESDW_REQUIRE_POSTGRES": "1",
        }
    )
    assert (s.target, s.duckdb_path, s.http_timeout_s) == ("postgres", tmp_path / "w.duckdb", 2.5)
    assert s.close_reference_date == date(2026, 6, 1) and s.require_postgres and not s.require_browser
    assert "topsecret" not in repr(s)
    defaults = Settings.from_env({})
    assert (defaults.target, defaults.dbt_asset_metadata, defaults.close_after_days) == ("duckdb", "full", 5)
    assert defaults.duckdb_path == PROJECT_ROOT / "data" / "warehouse.duckdb"
    for env, named in [
        ({"SALESDW_TARGET": "sqlite"}, "SALESDW_TARGET"),
        ({"SALESDW_HTTP_TIMEOUT_S": "soon"}, "SALESDW_HTTP_TIMEOUT_S"),
        ({"SALESDW_CLOSE_AFTER_DAYS": "-1"}, "SALESDW_CLOSE_AFTER_DAYS"),
        ({"SALESDW_DBT_ASSET_METADATA": "some"}, "SALESDW_DBT_ASSET_METADATA"),
        ({"SALESDW_CLOSE_REFERENCE_DATE": "June"}, "SALESDW_CLOSE_REFERENCE_DATE"),
    ]:
        with pytest.raises(SettingsError, match=named):
            Settings.from_env(env)


def test_dbt_run_env_carries_partitions_and_the_close_month() -> None:
    unset = {"DBT_SALESDW_PARTITION_START": "", "DBT_SALESDW_PARTITION_END": "", "DBT_SALESDW_CLOSE_THROUGH_MONTH": ""}
    assert dbt_run_env() == unset  # every name set: an outer environment's range never leaks into a build
    assert dbt_run_env(("2026-05-01", "2026-05-31")) == {
        **unset,
        "DBT_SALESDW_PARTITION_START": "2026-05-01",
        "DBT_SALESDW_PARTITION_END": "2026-05-31",
    }
    assert dbt_run_env(close_through_month="2026-05")["DBT_SALESDW_CLOSE_THROUGH_MONTH"] == "2026-05-01"
    both = dbt_run_env(("2026-01-01", "2026-03-01"), "2026-02-17")
    assert both["DBT_SALESDW_PARTITION_END"] == "2026-03-01" and both["DBT_SALESDW_CLOSE_THROUGH_MONTH"] == "2026-02-01"
    with pytest.raises(ValueError, match="empty"):
        dbt_run_env(("2026-05-02", "2026-05-01"))


def test_partition_windows_become_inclusive_ranges() -> None:
    assert partition_range(date(2026, 5, 1), date(2026, 5, 4), monthly=False) == ("2026-05-01", "2026-05-03")
    assert partition_range(date(2026, 1, 1), date(2026, 4, 1), monthly=True) == ("2026-01-01", "2026-03-01")


IMPORT_PROBE = """
import os, subprocess, sys
popen = subprocess.Popen
def refuse(args, *rest, **kwargs):
    if "dbt" in str(args):
        raise AssertionError(f"dbt was started at import: {args}")
    return popen(args, *rest, **kwargs)
subprocess.Popen = refuse
before = dict(os.environ)
import orchestration.definitions, orchestration.assets.transform, orchestration.assets.ingestion
import orchestration.schedules, orchestration.runner, orchestration.checks.gx_runner, orchestration.checks.gx_checks
import ingestion.pipelines, cli.main, cli.summary, bi.grants, bi.snapshot
changed = {k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)}
assert not changed, f"os.environ written at import: {sorted(changed)}"
print(sorted(m for m in sys.modules if m == "sandbox" or m.startswith("sandbox.")))
"""


def test_importing_the_project_runs_no_dbt_writes_no_environment_and_needs_no_sandbox() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]", f"production code imported the sandbox: {result.stdout}"
