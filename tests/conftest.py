"""Shared fixtures: a small sandbox world on a free port and a temporary warehouse per test module."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance

from core.settings import env_var
from orchestration.runner import RunOutcome
from sandbox.connect import sandbox_env
from sandbox.server import SandboxApp, SandboxServer
from sandbox.world import WorldConfig

# dbt assets record row counts and column schema/lineage after every build: tests that check that metadata
# turn it on; the rest skip it (it costs seconds per build).
os.environ.setdefault("SALESDW_DBT_ASSET_METADATA", "off")
# Dagster hands the event storage batches of events, as under `salesdw run` (orchestration/event_log.py).
os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "1000")

# A fraction of scale 1 keeps the suite fast; the full-size world belongs to `salesdw run` and bench/.
TEST_WORLD = WorldConfig(seed=11, scale=0.02, as_of=date(2026, 6, 30))


@dataclass
class SharedBuild:
    sandbox: SandboxServer
    env: dict[str, str]
    warehouse: Path
    outcome: RunOutcome
    instance: DagsterInstance | None = None  # the Dagster instance that recorded the build (shared build only)


def _deployment_env(root: Path, server: SandboxServer) -> dict[str, str]:
    """Environment of one isolated deployment: sources -> this sandbox, warehouse + Dagster home in root."""
    (root / "dagster_home").mkdir()
    return {
        **sandbox_env(server.url),
        env_var("duckdb_path"): str(root / "warehouse.duckdb"),
        "DAGSTER_HOME": str(root / "dagster_home"),
    }


@pytest.fixture(scope="session")
def shared_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedBuild]:
    """One main job on TEST_WORLD for every module that only reads the result (READS_SHARED_BUILD = True), and the
    starting point every module that changes a built warehouse copies (private_build): the main job is the suite's
    most expensive step. It records every piece of asset metadata, in an instance kept for the session."""
    from tests.helpers import environment, run_main

    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as server:
        env = _deployment_env(tmp_path_factory.mktemp("shared_warehouse"), server)
        instance = DagsterInstance.ephemeral()
        with environment({**env, env_var("dbt_asset_metadata"): "full"}):
            outcome = run_main(instance=instance)
        yield SharedBuild(server, env, Path(env[env_var("duckdb_path")]), outcome, instance)
        instance.dispose()


@pytest.fixture(scope="module")
def private_build(shared_build: SharedBuild, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedBuild]:
    """The shared build's end state copied for one module that changes it (another run, an advanced world, a bad
    record), served by a sandbox of its own of the same world: it starts where a first main job ends, without
    building one again. The environment points at the copy for the module."""
    from tests.helpers import environment

    root = tmp_path_factory.mktemp("private_warehouse")
    source = shared_build.warehouse
    for name in (source.name, source.name + ".wal"):
        if (source.parent / name).exists():
            shutil.copy2(source.parent / name, root / name)
    shutil.copytree(source.parent / "dlt_pipelines", root / "dlt_pipelines")
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as server:
        env = _deployment_env(root, server)
        with environment(env):
            yield SharedBuild(server, env, root / source.name, shared_build.outcome)


def _shared(request: pytest.FixtureRequest) -> SharedBuild | None:
    """The build a module starts from: a private copy of the shared build (COPIES_SHARED_BUILD = True: the module
    changes it), the shared build itself (READS_SHARED_BUILD = True), or None (the module builds its own)."""
    if getattr(request.module, "COPIES_SHARED_BUILD", False):
        return request.getfixturevalue("private_build")
    if getattr(request.module, "READS_SHARED_BUILD", False):
        return request.getfixturevalue("shared_build")
    return None


@pytest.fixture(scope="module")
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    if shared := _shared(request):
        yield shared.sandbox
        return
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as server:
        yield server


@pytest.fixture(scope="module")
def warehouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sandbox: SandboxServer
) -> Iterator[Path]:
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


# A test that needs a built warehouse (the shared build, a copy of it, or a main job of its own) is slow:
# `make test-fast` (pytest -m "not slow") leaves it out; modules that run `salesdw run` mark themselves.
BUILD_FIXTURES = frozenset({"shared_build", "private_build", "warehouse", "main_run"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if BUILD_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
