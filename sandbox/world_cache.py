"""The sandbox's world and its truth kept on disk, keyed by the world's options and the sandbox's code.

Building the default world (scale 1) and computing its truth take most of a sandbox's start, and ``salesdw run``
starts a sandbox every time: an hourly run that finds nothing new would spend most of its time there. The world
is deterministic (the same ``WorldConfig`` and sandbox code give the same world), so the first start keeps it
(pickled) and its truth (JSON, per fault mode) in the render cache's folder, and the next start reads them.
A changed sandbox never reads an old world: the key holds the digest of the sandbox's source
(``render_cache.code_digest``). Files are written whole or not at all; a broken file is built again. The folder
keeps the last ``KEPT`` worlds (a world at scale 1 is about 56 MB on disk).

The world is read with Python's cyclic garbage collector paused, as it is built (``world.paused_gc``).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sandbox.render_cache import RenderCache
from sandbox.world import World, WorldConfig, build_world, paused_gc

log = logging.getLogger("salesdw.sandbox")

KEPT = 4  # worlds kept on disk (their truths go with them)


class WorldCache:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._keys = RenderCache(self.directory)

    def _key(self, config: WorldConfig) -> str:
        return self._keys.key("world", asdict(config))

    def world(self, config: WorldConfig) -> World:
        """The world of ``config``: read when kept, else built and kept."""
        path = self.directory / f"world-{self._key(config)}.pickle"
        try:
            with paused_gc(), path.open("rb") as f:
                world = pickle.load(f)
            if isinstance(world, World) and world.config == config:
                os.utime(path)  # most recently used: kept longest
                return world
        except FileNotFoundError:
            pass
        except Exception as exc:  # a truncated or foreign file: built again
            log.warning("sandbox world cache: %s unreadable (%s), building the world again", path.name, exc)
        world = build_world(config)
        with paused_gc():
            self._write(path, lambda f: pickle.dump(world, f, protocol=pickle.HIGHEST_PROTOCOL))
        self._prune()
        return world

    def truth(self, world: World, faults: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The truth of ``world`` under ``faults``: read when kept, else ``compute()`` and kept."""
        path = self.directory / f"truth-{self._key(world.config)}-{faults}.json"
        try:
            with paused_gc():
                return json.loads(path.read_text())
        except FileNotFoundError:
            pass
        except ValueError as exc:
            log.warning("sandbox world cache: %s unreadable (%s), computing the truth again", path.name, exc)
        truth = compute()
        self._write(path, lambda f: f.write(json.dumps(truth).encode()))
        return truth

    def _write(self, path: Path, write: Callable[[Any], Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, staged = tempfile.mkstemp(dir=self.directory, prefix=".staged-")
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
            os.replace(staged, path)
        finally:
            Path(staged).unlink(missing_ok=True)

    def _prune(self) -> None:
        worlds = sorted(self.directory.glob("world-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in worlds[KEPT:]:
            old.unlink(missing_ok=True)
            for truth in self.directory.glob(old.stem.replace("world-", "truth-") + "-*.json"):
                truth.unlink(missing_ok=True)
