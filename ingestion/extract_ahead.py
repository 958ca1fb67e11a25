"""Sources extracted ahead of their loads, in a child process, while the main job loads the ones before.

A source's load is three dlt steps: extract (read the API, apply the contracts, write the rows to files in the
pipeline's folder), normalize and load (into the warehouse). Only the load needs the warehouse, and DuckDB takes
one writer at a time, so the loads run one after another; the extracts need only the source. Extracting in the load
step left the machine half idle: while one source's extract waits for its API (the sandbox rendering a bulk export
on the other core, a report being prepared, a rate limit), nothing else moves.

``ExtractAhead`` runs the extracts of a run's sources, one after another in the order their load steps run, in a
child process (``python -m ingestion.extract_ahead``; a source marked ``extract_alone``, Shopify, in a child of its
own, so its long bulk exports overlap the other sources' extracts): its own interpreter, so its JSON parsing and contracts run
beside the parent's normalize, load and checks instead of sharing one interpreter lock. The child only extracts,
which never opens the warehouse: the parent synchronizes every pipeline's state with the warehouse before the
child starts, as ``Pipeline.run`` would first. It reports on stdout, one
JSON line per event: each log line of a source's extract, then ``extracted`` (the package is in the pipeline's
folder), ``pending`` (a killed run's packages are there: the load step loads those first, as ``Pipeline.run``
does) or ``failed`` with the error. ``load()`` (pipelines.py) waits for its source, replays the log lines into its
step's log, then normalizes and loads; a source the child did not extract (pending, the child gone) is loaded in
the step as before, and a failed extract fails the step with the child's error.

What it keeps: one writer on DuckDB (the child never opens it); nothing lost or doubled after a kill (an extract
that did not finish leaves no package, and an extracted package not yet loaded is loaded by the next run, as
after any killed load); the checks between loads (the steps are unchanged). ``SALESDW_EXTRACT_AHEAD=off`` turns it
off.
"""

from __future__ import annotations

import json
import logging
import queue
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import IO, Any

_active: dict[str, ExtractAhead] = {}  # source -> the child extracting it
_active_lock = threading.Lock()


class ExtractFailed(RuntimeError):
    """A source's extract failed in the child process: the message is the innermost error's (an HTTP status, a
    refused connection), as the step's own extract would have raised it; a note holds the child's traceback."""


class ExtractAhead:
    def __init__(self, keys: list[str], full_refresh: bool, duckdb_path: Path) -> None:
        self.keys = list(keys)
        self.full_refresh = full_refresh
        self.duckdb_path = duckdb_path
        self._queues: dict[str, queue.SimpleQueue[dict[str, Any]]] = {k: queue.SimpleQueue() for k in self.keys}
        self._taken: set[str] = set()
        self.seconds: dict[str, float] = {}  # extract seconds per source, as the child measured them
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> ExtractAhead:
        spec = {"keys": self.keys, "full_refresh": self.full_refresh, "duckdb_path": str(self.duckdb_path)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ingestion.extract_ahead", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True, name="extract-ahead").start()
        return self

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            try:
                event = json.loads(line)
                self._queues[event["key"]].put(event)
            except (ValueError, KeyError):  # not one of ours: shown as the child printed it
                sys.stdout.write(line)
        for q in self._queues.values():  # the child ended: a source it did not report is loaded by its step
            q.put({"event": "gone"})

    def covers(self, key: str, full_refresh: bool) -> bool:
        return key in self._queues and key not in self._taken and full_refresh == self.full_refresh

    def wait(self, key: str, logger: Any) -> bool:
        """Block until the child has extracted ``key``, replaying its log lines into ``logger``. True: extracted
        (normalize and load it; ``seconds[key]`` is the extract's time); False: not extracted by the child (load
        it in full). Raises ExtractFailed."""
        self._taken.add(key)
        while True:
            event = self._queues[key].get()
            kind = event["event"]
            if kind == "log":
                (logger.warning if event["level"] >= logging.WARNING else logger.info)(event["msg"])
            elif kind == "extracted":
                self.seconds[key] = event["seconds"]
                return True
            elif kind in ("pending", "gone"):
                return False
            elif kind == "failed":  # the innermost error's message, as the step would have raised it itself
                failure = ExtractFailed(event["error"])
                failure.add_note(f"{key} was extracted in the extract-ahead process; its traceback:\n{event['trace']}")
                raise failure

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # the child's signal to stop (it ends with its parent too)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start(keys: list[str], full_refresh: bool, duckdb_path: Path) -> list[ExtractAhead]:
    """Synchronize every pipeline with the warehouse (here, before any child exists), then start the children: a
    source marked ``extract_alone`` (Shopify: bulk exports the server prepares) in a child of its own, the rest one
    after another in a shared one."""
    from ingestion.pipelines import SOURCES, make_pipeline

    global _active
    for key in keys:
        make_pipeline(key, duckdb_path).sync_destination()  # as Pipeline.run does first
    lanes = [[k] for k in keys if SOURCES[k].extract_alone] + [[k for k in keys if not SOURCES[k].extract_alone]]
    children = [ExtractAhead(lane, full_refresh, duckdb_path).start() for lane in lanes if lane]
    with _active_lock:
        _active = {key: child for child in children for key in child.keys}
    return children


def stop() -> None:
    global _active
    with _active_lock:
        children, _active = set(_active.values()), {}
    for child in children:
        child.stop()


def extracted_ahead(key: str, full_refresh: bool, logger: Any) -> dict[str, float] | None:
    """When a running child extracted ``key`` (waiting for it): seconds of its extract and of this wait for it;
    None when no child covers the source or it left the source to its load step."""
    with _active_lock:
        child = _active.get(key)
    if child is None or not child.covers(key, full_refresh):
        return None
    started = time.monotonic()
    if not child.wait(key, logger):
        return None
    return {"extract (ahead)": child.seconds[key], "waited for the extract": round(time.monotonic() - started, 3)}


# --- the child ---------------------------------------------------------------------------------------------------


class _Reporter(logging.Handler):
    """Each log line of the current source's extract, as a JSON line on stdout."""

    def __init__(self, out: IO[str]) -> None:
        super().__init__(logging.INFO)
        self.out = out
        self.key = ""
        self.lock_out = threading.Lock()

    def send(self, event: dict[str, Any]) -> None:
        with self.lock_out:
            self.out.write(json.dumps(event) + "\n")
            self.out.flush()

    def emit(self, record: logging.LogRecord) -> None:
        if self.key:
            self.send({"key": self.key, "event": "log", "level": record.levelno, "msg": record.getMessage()})


def _extract_all(spec: dict[str, Any]) -> None:
    from ingestion.pipelines import SOURCES, configure_load, loader_file_format, make_pipeline

    reporter = _Reporter(sys.stdout)
    sys.stdout = sys.stderr  # anything else printed goes to stderr: stdout carries the events only
    for name in ("salesdw.ingestion", "salesdw"):
        logging.getLogger(name).setLevel(logging.INFO)
    logging.getLogger("salesdw").addHandler(reporter)
    duckdb_path = Path(spec["duckdb_path"])
    for key in spec["keys"]:
        reporter.key = key
        started = time.monotonic()
        try:
            pipeline = make_pipeline(key, duckdb_path)
            if pipeline.has_pending_data:
                reporter.send({"key": key, "event": "pending"})
                continue
            configure_load(SOURCES[key])
            pipeline.extract(
                SOURCES[key].factory(),
                loader_file_format=loader_file_format(),
                refresh="drop_sources" if spec["full_refresh"] else None,
            )
            reporter.send({"key": key, "event": "extracted", "seconds": round(time.monotonic() - started, 3)})
        except Exception as exc:  # reported to the source's load step, which fails with it
            inner: BaseException = exc
            while (inner.__cause__ or inner.__context__) is not None:
                inner = inner.__cause__ or inner.__context__  # type: ignore[assignment]
            detail = str(inner) or type(inner).__name__
            reporter.send({"key": key, "event": "failed", "error": detail, "trace": traceback.format_exc()})
        finally:
            reporter.key = ""


def _watch_parent() -> None:
    """End this process when the parent closes stdin or dies (an orphan never extracts on its own)."""
    sys.stdin.read()
    import os

    os._exit(0)


if __name__ == "__main__":
    threading.Thread(target=_watch_parent, daemon=True).start()
    _extract_all(json.loads(sys.argv[1]))
