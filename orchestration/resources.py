"""Resources and locations shared by the Dagster definitions: the warehouse (either target), dbt, dlt."""

from __future__ import annotations

import importlib.metadata
import os
import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dlt import DagsterDltResource
from packaging import version

from ingestion.pipelines import PROJECT_ROOT, warehouse_path
from ingestion.warehouse import Warehouse, connect

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# DuckDB takes one writer per file: every step that opens the warehouse runs in this pool, and
# dagster.yaml limits each pool to one step at a time across all runs.
WAREHOUSE_POOL = "duckdb_warehouse"

os.environ.setdefault("SALESDW_DUCKDB_PATH", str(warehouse_path()))

DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")  # the venv's dbt, activated or not

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


# What the dbt assets record beyond dbt's own results: "full" (row counts, column schema and column
# lineage: the default), "counts" (row counts only) or "off".
ASSET_METADATA_ENV = "SALESDW_DBT_ASSET_METADATA"


class WarehouseDbtCli(DbtCliResource):
    """dagster-dbt's resource without two fixed costs per dbt invocation: the dbt version comes from the
    installed dbt-core instead of a `dbt --version` process, and the in-process dbt adapter (a full macro
    parse, ~3 s) is only loaded when asset metadata is read through it."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        if os.environ.get(ASSET_METADATA_ENV, "full") == "off":
            return None
        return super()._initialize_dbt_core_adapter(args)


def dbt_cli() -> DbtCliResource:
    return WarehouseDbtCli(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


def read_only_warehouse(path: Path | None = None) -> Warehouse:
    """A reader's connection to the current target (checks, summaries, BI): never writes, never takes
    DuckDB's write lock; `path` is the DuckDB file (default warehouse_path())."""
    return connect(path, read_only=True)


def resources() -> dict[str, object]:
    return {
        "dbt": dbt_cli(),
        "dlt": DagsterDltResource(),
    }
