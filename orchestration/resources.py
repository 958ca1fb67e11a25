"""Resources and locations shared by the Dagster definitions: the warehouse (either target), dbt, dlt."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dlt import DagsterDltResource

from ingestion.pipelines import PROJECT_ROOT, warehouse_path
from ingestion.warehouse import Warehouse, connect

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# DuckDB takes one writer per file: every step that opens the warehouse runs in this pool, and
# dagster.yaml limits each pool to one step at a time across all runs.
WAREHOUSE_POOL = "duckdb_warehouse"

os.environ.setdefault("SALESDW_DUCKDB_PATH", str(warehouse_path()))

DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")  # the venv's dbt, activated or not

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_cli() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


def read_only_warehouse(path: Path | None = None) -> Warehouse:
    """A reader's connection to the current target (checks, summaries, BI): never writes, never takes
    DuckDB's write lock; `path` is the DuckDB file (default warehouse_path())."""
    return connect(path, read_only=True)


def resources() -> dict[str, object]:
    return {
        "dbt": dbt_cli(),
        "dlt": DagsterDltResource(),
    }
