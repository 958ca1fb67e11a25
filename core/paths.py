"""Where the project's files are, independent of the working directory."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DATA_DIR = PROJECT_ROOT / "data"  # the default deployment: warehouse file, dlt state, Dagster home
DEFAULT_DUCKDB_PATH = DATA_DIR / "warehouse.duckdb"
DEFAULT_DAGSTER_HOME = DATA_DIR / "dagster_home"
DAGSTER_YAML = PROJECT_ROOT / "dagster.yaml"
