"""Rendered sandbox answers kept on disk, keyed by everything they depend on.

The sandbox is deterministic: the same world (its ``WorldConfig``), the same sandbox code and the same request
give the same bytes. The costly answers (a Shopify bulk operation's JSONL file over the whole shop: most of a
first load's time at scale 1, rendered by the sandbox's GraphQL resolver object by object) are kept in a
folder, so a second first load of the same world (a new warehouse, a ``--full-refresh``, the bench) reads the
file instead of rendering it again. The key holds a digest of the sandbox's own source files, so a changed
sandbox never serves an old rendering; a fault-injected answer is never kept. ``salesdw run`` keeps the folder
next to the warehouse (``sandbox_cache/``); a sandbox without one renders every time (the tests).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

SANDBOX_DIR = Path(__file__).resolve().parent


@cache
def code_digest() -> str:
    """A digest of the sandbox's source (every .py and .graphql file): what renders the answers."""
    digest = hashlib.sha256()
    for path in sorted(p for p in SANDBOX_DIR.rglob("*") if p.suffix in (".py", ".graphql") and p.is_file()):
        digest.update(path.relative_to(SANDBOX_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class RenderCache:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def key(self, *parts: Any) -> str:
        blob = json.dumps([code_digest(), *parts], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.data", self.directory / f"{key}.json"

    def get(self, key: str, into: Path) -> dict[str, Any] | None:
        """Copy the kept answer to ``into`` and return its metadata, or None when there is none."""
        data, meta = self._paths(key)
        try:
            found = json.loads(meta.read_text())
            shutil.copyfile(data, into)
        except (OSError, ValueError):
            return None
        return found

    def put(self, key: str, source: Path, metadata: dict[str, Any]) -> None:
        """Keep a copy of ``source`` with its metadata (written whole or not at all: a killed copy leaves none)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        data, meta = self._paths(key)
        fd, staged = tempfile.mkstemp(dir=self.directory, prefix=".staged-")
        os.close(fd)
        try:
            shutil.copyfile(source, staged)
            os.replace(staged, data)
        finally:
            Path(staged).unlink(missing_ok=True)
        staged_meta = meta.with_name(meta.name + ".tmp")
        staged_meta.write_text(json.dumps(metadata))
        os.replace(staged_meta, meta)  # the metadata last: present means the data is whole
