"""The sandbox served by a child process, for ``salesdw run``.

In the loader's process the sandbox's rendering (bulk operation files, report documents, pages) and the loader's
own work (dlt extract and normalize, checks) share one interpreter lock, so a 2-core machine runs them one after
the other. A child process of its own serves the same world on the other core. The child builds the world,
computes its truth (written to a JSON file the parent reads: the world is built once), starts serving and prints
one JSON line ``{"url": ..., "truth": ...}``; it serves until its stdin closes, so it ends with its parent, even
when the parent is killed.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import IO, Any

from sandbox.world import WorldConfig


class SandboxProcess:
    def __init__(
        self,
        world: WorldConfig,
        rate_limits: str = "demo",
        faults: str = "none",
        slow_s: float = 35.0,
        host: str = "127.0.0.1",
        port: int = 0,
        cache_dir: Path | None = None,
    ) -> None:
        self.spec = {
            "cache_dir": str(cache_dir) if cache_dir is not None else None,
            "world": {**asdict(world), "as_of": world.as_of.isoformat()},
            "rate_limits": rate_limits,
            "faults": faults,
            "slow_s": slow_s,
            "host": host,
            "port": port,
        }
        self._tmp = tempfile.TemporaryDirectory(prefix="salesdw_sandbox_")
        self.truth_path = Path(self._tmp.name) / "truth.json"
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def spawn(self) -> SandboxProcess:
        """Start the child; it builds the world while the caller goes on (``wait_ready`` joins it)."""
        spec = {**self.spec, "truth_path": str(self.truth_path)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sandbox.process", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        return self

    def wait_ready(self) -> tuple[str, dict[str, Any]]:
        """The sandbox's URL and the world's truth, once the child serves."""
        assert self.proc is not None and self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise RuntimeError(f"the sandbox process ended before serving (exit {code}); see the lines above")
        self.url = json.loads(line)["url"]
        # keep reading (and dropping) its stdout so the child never blocks on a full pipe
        threading.Thread(target=_drain, args=(self.proc.stdout,), daemon=True).start()
        return self.url, json.loads(self.truth_path.read_text())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # the child's signal to stop
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._tmp.cleanup()


def _drain(stream: IO[str]) -> None:
    for _ in stream:
        pass


def _serve(spec: dict[str, Any]) -> None:
    from sandbox.server import SandboxApp, SandboxServer

    world = WorldConfig(**{**spec["world"], "as_of": date.fromisoformat(spec["world"]["as_of"])})
    cache_dir = Path(spec["cache_dir"]) if spec.get("cache_dir") else None
    app = SandboxApp(
        world, rate_limits=spec["rate_limits"], faults=spec["faults"], slow_s=spec["slow_s"], cache_dir=cache_dir
    )
    server = SandboxServer(app, host=spec["host"], port=spec["port"]).start()
    Path(spec["truth_path"]).write_text(json.dumps(app.truth()))
    gc.freeze()  # the world lives as long as the process: the collector need not scan it again while it serves
    print(json.dumps({"url": server.url}), flush=True)
    try:
        sys.stdin.read()  # until the parent closes it, or dies
    finally:
        server.stop()


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
