"""Shared fixtures: a small sandbox world on a free port and a temporary warehouse per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from ingestion.sandbox.connect import sandbox_env
from ingestion.sandbox.server import SandboxApp, SandboxServer
from ingestion.sandbox.world import WorldConfig
from orchestration.runner import RunOutcome

# dbt assets record row counts and column schema/lineage after every build: tests that check that metadata
# turn it on; the rest skip it (it costs seconds per build).
os.environ.setdefault("SALESDW_DBT_ASSET_METADATA", "off")

# A fraction of scale 1 keeps the suite fast; the full-size world belongs to `salesdw run` and bench/.
TEST_WORLD = WorldConfig(seed=11, scale=0.02, as_of=date(2026, 6, 30))


@dataclass
class SharedBuild:
    sandbox: SandboxServer
    env: dict[str, str]
    warehouse: Path
    outcome: RunOutcome


def _deployment_env(root: Path, server: SandboxServer) -> dict[str, str]:
    """Environment of one isolated deployment: sources -> this sandbox, warehouse + Dagster home in root."""
    (root / "dagster_home").mkdir()
    return {**sandbox_env(server.url), "SALESDW_DUCKDB_PATH": str(root / "warehouse.duckdb"),
            "DAGSTER_HOME": str(root / "dagster_home")}


@pytest.fixture(scope="session")
def shared_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedBuild]:
    """One main job on TEST_WORLD for every module that only reads the result (READS_SHARED_BUILD = True):
    the main job is the suite's most expensive step."""
    from tests.helpers import environment, run_main

    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as server:
        env = _deployment_env(tmp_path_factory.mktemp("shared_warehouse"), server)
        with environment(env):
            outcome = run_main()
        yield SharedBuild(server, env, Path(env["SALESDW_DUCKDB_PATH"]), outcome)


def _shared(request: pytest.FixtureRequest) -> SharedBuild | None:
    return request.getfixturevalue("shared_build") if getattr(request.module, "READS_SHARED_BUILD", False) else None


@pytest.fixture(scope="module")
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    if shared := _shared(request):
        yield shared.sandbox
        return
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as server:
        yield server


@pytest.fixture(scope="module")
def warehouse(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
              sandbox: SandboxServer) -> Iterator[Path]:
    """The module's deployment (its own, or the shared build's when the module only reads), env set for it."""
    from tests.helpers import environment

    shared = _shared(request)
    env = shared.env if shared else _deployment_env(tmp_path_factory.mktemp("warehouse"), sandbox)
    with environment(env):
        yield Path(env["SALESDW_DUCKDB_PATH"])


@pytest.fixture(scope="module")
def main_run(request: pytest.FixtureRequest, warehouse: Path) -> RunOutcome:
    """The main job's outcome on the module's warehouse (run once per module, or the shared build's)."""
    from tests.helpers import run_main

    shared = _shared(request)
    return shared.outcome if shared else run_main()
