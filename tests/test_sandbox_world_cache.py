"""The sandbox's world and truth kept on disk (sandbox/world_cache.py): a second sandbox of the same world reads
them instead of building them, and serves the same answers."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from sandbox import world_cache
from sandbox.hubspot_api import DEMO_ACCESS_TOKEN
from sandbox.protocol import Request
from sandbox.server import SandboxApp
from sandbox.truth import compute_truth
from sandbox.world import build_world
from tests.conftest import TEST_WORLD
from tests.helpers import logged

DEALS = Request("GET", "/crm/v3/objects/deals", {"limit": "50"}, {"authorization": f"Bearer {DEMO_ACCESS_TOKEN}"})


def _refuse(*_: object) -> None:
    raise AssertionError("the world was built again instead of read from the cache")


def test_second_sandbox_reads_the_kept_world_and_truth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = SandboxApp(TEST_WORLD, rate_limits="off", cache_dir=tmp_path)
    truth = first.truth()
    assert truth == compute_truth(build_world(TEST_WORLD))
    kept = sorted(p.name.split("-")[0] for p in tmp_path.iterdir())
    assert kept == ["truth", "world"]

    monkeypatch.setattr(world_cache, "build_world", _refuse)
    second = SandboxApp(TEST_WORLD, rate_limits="off", cache_dir=tmp_path)
    assert second.world is not first.world  # read from disk, not this process's memo
    assert second.truth() == truth
    assert [o.order_id for o in second.world.shopify_orders] == [o.order_id for o in first.world.shopify_orders]
    assert sum(o.gross for o in second.world.shopify_orders) == sum(o.gross for o in first.world.shopify_orders)
    answer = second.handle(DEALS)
    assert answer.status == 200 and answer.body == first.handle(DEALS).body


def test_another_world_or_fault_mode_is_kept_apart(tmp_path: Path) -> None:
    SandboxApp(TEST_WORLD, rate_limits="off", cache_dir=tmp_path).truth()
    later = replace(TEST_WORLD, as_of=TEST_WORLD.as_of.replace(day=TEST_WORLD.as_of.day - 1))
    app = SandboxApp(later, rate_limits="off", faults="heavy", cache_dir=tmp_path)
    assert app.world.config == later
    assert app.truth() == compute_truth(build_world(later), faults="heavy")
    assert len(list(tmp_path.glob("world-*.pickle"))) == 2
    assert len(list(tmp_path.glob("truth-*.json"))) == 2


def test_a_broken_file_is_built_again(tmp_path: Path) -> None:
    SandboxApp(TEST_WORLD, rate_limits="off", cache_dir=tmp_path)
    (kept,) = tmp_path.glob("world-*.pickle")
    kept.write_bytes(kept.read_bytes()[:1000])  # a copy cut short
    with logged(world_cache.log.name, logging.WARNING) as lines:
        app = SandboxApp(TEST_WORLD, rate_limits="off", cache_dir=tmp_path)
    assert any("unreadable" in line for line in lines)
    assert app.truth() == compute_truth(build_world(TEST_WORLD))
    assert kept.stat().st_size > 1000  # written whole again


def test_only_the_last_worlds_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(world_cache, "KEPT", 2)
    cache = world_cache.WorldCache(tmp_path)
    for seed in (1, 2, 3):
        world = cache.world(replace(TEST_WORLD, seed=seed, scale=0.005))
        cache.truth(world, "none", lambda w=world: compute_truth(w))
    assert len(list(tmp_path.glob("world-*.pickle"))) == 2
    assert len(list(tmp_path.glob("truth-*.json"))) == 2
