"""Resources and locations shared by the Dagster definitions: the warehouse (either target), dbt, dlt."""

from __future__ import annotations

import importlib.metadata
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dlt import DagsterDltResource
from packaging import version

from core.paths import DBT_PROJECT_DIR
from core.settings import settings
from core.warehouse import Warehouse, connect

# DuckDB takes one writer per file: every step that opens the warehouse runs in this pool, and
# dagster.yaml limits each pool to one step at a time across all runs.
WAREHOUSE_POOL = "duckdb_warehouse"

DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")  # the venv's dbt, activated or not

# dbt's own DBT_TARGET_PATH (relative to the project) moves the manifest and run artifacts too: two deployments
# (or test workers) on one checkout keep their parses apart with one each.
dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target_path=Path(os.environ.get("DBT_TARGET_PATH") or "target"),
)

# A run builds one part of the graph (see orchestration/schedules.py): a dbt test runs with it when the
# models it reads are built in this run or upstream of them, never against a model another run builds.
INDIRECT_SELECTION = "buildable"


class WarehouseDbtCli(DbtCliResource):
    """dagster-dbt's resource without two fixed costs per dbt invocation: the dbt version comes from the
    installed dbt-core instead of a `dbt --version` process, and the in-process dbt adapter (a full macro
    parse, ~3 s) is only loaded when asset metadata is read through it."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        if settings().dbt_asset_metadata == "off":
            return None
        return super()._initialize_dbt_core_adapter(args)

    def cli(self, args: Sequence[str], **kwargs: Any) -> Any:  # type: ignore[override]
        with _indirect_selection(INDIRECT_SELECTION):
            return super().cli(args, **kwargs)


@contextmanager
def _indirect_selection(mode: str) -> Iterator[None]:
    """dagster-dbt reads the user's indirect selection from DBT_INDIRECT_SELECTION when it builds the dbt
    command (and narrows it itself when only some checks are selected): set for that call only, unless the
    user set it."""
    name = "DBT_INDIRECT_SELECTION"
    if os.environ.get(name):
        yield
        return
    os.environ[name] = mode
    try:
        yield
    finally:
        os.environ.pop(name, None)


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
