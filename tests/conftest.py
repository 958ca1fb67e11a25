"""Shared fixtures: a small sandbox world on a free port and a temporary warehouse per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from ingestion.sandbox.connect import sandbox_env
from ingestion.sandbox.server import SandboxApp, SandboxServer
from ingestion.sandbox.world import WorldConfig

# dbt assets record row counts and column schema/lineage after every build: tests that check that metadata
# turn it on; the rest skip it (it costs seconds per build).
os.environ.setdefault("SALESDW_DBT_ASSET_METADATA", "off")

# A fraction of scale 1 keeps the suite fast; the full-size world belongs to `salesdw run` and bench/.
TEST_WORLD = WorldConfig(seed=11, scale=0.02, as_of=date(2026, 6, 30))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as server:
        yield server


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, sandbox: SandboxServer) -> Iterator[Path]:
    """Environment of one isolated deployment: sources -> this sandbox, warehouse + Dagster home in tmp."""
    root = tmp_path_factory.mktemp("warehouse")
    env = {**sandbox_env(sandbox.url), "SALESDW_DUCKDB_PATH": str(root / "warehouse.duckdb"),
           "DAGSTER_HOME": str(root / "dagster_home")}
    (root / "dagster_home").mkdir()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield root / "warehouse.duckdb"
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
