"""Bulk query operations: run, poll, download, re-assemble.

A job is one ``bulkOperationRunQuery``. Jobs of one source run share the shop's limit of concurrent bulk
queries (:class:`BulkSlots`); a job waits for a slot, and for Shopify to accept it (another client of the same
app may hold slots). The result is downloaded to a temporary file, streamed (a short read resumes with a
``Range`` request; the size must equal the operation's ``fileSize``, else the file is fetched again; an expired
signed URL is signed again by reading the operation again), then read line by line: a line with ``__parentId``
is a node of a nested connection and joins its parent (grouped output: children follow their parent, so one
record is held at a time, never the file). A FAILED operation is run again (its partial data is never loaded);
after ``attempts`` failures the load stops with the operation's error code.

The wait is cooperative: :meth:`BulkJob.poll` returns at once, and the resource generators yield nothing while
their jobs run, so dlt's round-robin extraction polls every resource's jobs in turn and the operations of all
resources run on Shopify at the same time.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import requests

from ingestion.http.progress import Progress
from ingestion.http.session import IngestionHTTPError, ResilientSession
from ingestion.sources.shopify.graphql import AdminGraphQL, ShopifyGraphQLError, strip
from ingestion.sources.shopify.queries import CONNECTION_OF_TYPE

log = logging.getLogger("salesdw.ingestion")

RUN = (
    "mutation Run($query: String!) { bulkOperationRunQuery(query: $query, groupObjects: true) {"
    " bulkOperation { id status } userErrors { code field message } } }"
)
POLL = (
    "query Poll($id: ID!) { node(id: $id) { ... on BulkOperation { id status errorCode objectCount"
    " rootObjectCount fileSize url partialDataUrl } } }"
)
BUSY_CODES = ("OPERATION_IN_PROGRESS", "LIMIT_REACHED")
DOWNLOAD_ATTEMPTS = 5
CHUNK = 1 << 20


class BulkOperationFailed(IngestionHTTPError):
    """A bulk operation that kept failing (its partial data was not loaded)."""


@dataclass
class BulkSlots:
    """How many bulk queries this source run may still start at once (Shopify's per-shop limit)."""

    limit: int
    running: int = 0

    def take(self) -> bool:
        if self.running >= self.limit:
            return False
        self.running += 1
        return True

    def give(self) -> None:
        self.running = max(0, self.running - 1)


@dataclass
class BulkJob:
    client: AdminGraphQL
    slots: BulkSlots
    query: str
    label: str
    attempts: int = 3
    poll_interval_s: float = 1.0
    op_id: str | None = None
    status: str = "PENDING"
    failures: int = 0
    result: dict[str, Any] = field(default_factory=dict)
    _next_poll: float = 0.0
    _holding: bool = False

    @property
    def root_count(self) -> int | None:
        """Top-level objects of the completed operation (the records its result holds), when reported."""
        value = self.result.get("rootObjectCount")
        return int(value) if value not in (None, "") else None

    def poll(self) -> bool:
        """Advance the job without blocking; True once its result is ready (COMPLETED)."""
        if self.status == "COMPLETED":
            return True
        now = time.monotonic()
        if now < self._next_poll:
            return False
        self._next_poll = now + self.poll_interval_s
        if self.op_id is None:
            self._start()
            return False
        node = self.client.query(POLL, {"id": self.op_id}, what=f"{self.label} bulk poll").get("node") or {}
        self.status = node.get("status") or "UNKNOWN"
        if self.status == "COMPLETED":
            self.result = node
            self._release()
            log.info(
                "shopify/%s: bulk operation %s completed, %s objects", self.label, self.op_id, node.get("objectCount")
            )
            return True
        if self.status in ("FAILED", "CANCELED", "EXPIRED"):
            self._release()
            self.failures += 1
            log.warning(
                "shopify/%s: bulk operation %s %s (%s) after %s objects; running it again (%d/%d)",
                self.label,
                self.op_id,
                self.status,
                node.get("errorCode"),
                node.get("objectCount"),
                self.failures,
                self.attempts,
            )
            if self.failures >= self.attempts:
                raise BulkOperationFailed(
                    f"shopify/{self.label}: bulk operation {self.status} {self.failures} times "
                    f"(last: {self.op_id}, {node.get('errorCode')}); its partial data was not loaded"
                )
            self.op_id, self.status = None, "PENDING"
        return False

    def _start(self) -> None:
        if not self._holding:
            if not self.slots.take():
                return
            self._holding = True
        data = self.client.query(RUN, {"query": self.query}, what=f"{self.label} bulk run")["bulkOperationRunQuery"]
        errors = data.get("userErrors") or []
        if errors:
            if any(e.get("code") in BUSY_CODES for e in errors):  # another client holds the shop's slots: wait
                log.info("shopify/%s: waiting for a bulk slot (%s)", self.label, errors[0].get("message"))
                return
            raise ShopifyGraphQLError(
                f"shopify/{self.label}: bulk query refused: {'; '.join(e.get('message', '') for e in errors)}",
                tuple(str(e.get("code")) for e in errors),
            )
        self.op_id = data["bulkOperation"]["id"]
        # whatever the answer says, the result (its URL, size, counts) comes from a poll: until then it is submitted
        self.status = "SUBMITTED"
        log.info("shopify/%s: bulk operation %s started", self.label, self.op_id)

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            self.slots.give()

    def refreshed_url(self) -> str | None:
        """A freshly signed result URL (each read of the operation signs a new one)."""
        node = self.client.query(POLL, {"id": self.op_id}, what=f"{self.label} bulk poll").get("node") or {}
        if node.get("status") != "COMPLETED":
            raise BulkOperationFailed(f"shopify/{self.label}: bulk operation {self.op_id} is {node.get('status')}")
        self.result = node
        return node.get("url")


def download(job: BulkJob, session: ResilientSession, directory: str) -> str | None:
    """The job's JSONL in a local file (None: the operation found nothing), complete and checked."""
    if int(job.result.get("objectCount") or 0) == 0:
        return None  # the operation matched nothing: Shopify gives no file
    url = job.result.get("url") or job.refreshed_url()
    if not url:
        raise IngestionHTTPError(
            f"shopify/{job.label}: bulk operation {job.op_id} completed with {job.result.get('objectCount')} "
            "objects but no result URL"
        )
    expected = int(job.result.get("fileSize") or 0)
    fd, path = tempfile.mkstemp(prefix="shopify-bulk-", suffix=".jsonl", dir=directory)
    os.close(fd)
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        have = os.path.getsize(path)
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with session.get(url, headers=headers, stream=True) as response:
                if response.status_code not in (200, 206):
                    raise IngestionHTTPError(
                        f"shopify/{job.label}: result download -> HTTP {response.status_code}: {response.text[:200]}"
                    )
                mode = "ab" if response.status_code == 206 else "wb"
                with open(path, mode) as out:
                    for chunk in response.iter_content(CHUNK):
                        out.write(chunk)
        except IngestionHTTPError as exc:
            if "ExpiredToken" not in str(exc):
                raise
            log.info("shopify/%s: the result URL expired; signing it again", job.label)
            url = job.refreshed_url()  # type: ignore[assignment]
            continue
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            log.warning(
                "shopify/%s: result download broke off (%s), resuming (%d)", job.label, type(exc).__name__, attempt
            )
            continue
        size = os.path.getsize(path)
        if size == expected:
            return path
        log.warning(
            "shopify/%s: result has %d bytes, the operation reported %d: fetching it again (%d)",
            job.label,
            size,
            expected,
            attempt,
        )
        if size > expected:
            open(path, "wb").close()
        elif size < expected and attempt < DOWNLOAD_ATTEMPTS:
            continue
    os.unlink(path)
    raise IngestionHTTPError(f"shopify/{job.label}: the bulk result could not be downloaded whole")


def records(path: str, label: str, page_size: int = 1000, total: int | None = None) -> Iterator[list[dict[str, Any]]]:
    """The records of a grouped JSONL result, each with its connections' nodes as lists, a page at a time
    (``total``: the operation's root objects, for the progress lines' share and ETA)."""
    progress = Progress("shopify", f"{label} (bulk)", total=total)
    page: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    by_id: dict[str, dict[str, Any]] = {}

    def index(obj: Any) -> None:
        """Every object with an id inside the record can own a connection (a refund its refund line items)."""
        if isinstance(obj, dict):
            if isinstance(obj.get("id"), str):
                by_id.setdefault(obj["id"], obj)
            for value in obj.values():
                if isinstance(value, list):
                    for item in value:
                        index(item)

    with open(path, "rb") as lines:
        for number, line in enumerate(lines, start=1):
            obj = orjson.loads(line)  # dlt's own JSON library: a few times faster than json on these lines
            parent_id = obj.pop("__parentId", None)
            if parent_id is None:
                if current is not None:
                    page.append(current)
                    if len(page) >= page_size:
                        progress.page(len(page))
                        yield page
                        page = []
                current = strip(obj)
                by_id = {}
                index(current)
                continue
            parent = by_id.get(parent_id)
            if parent is None:
                raise IngestionHTTPError(
                    f"shopify/{label}: bulk result line {number}: parent {parent_id} is not the record being read "
                    "(the result is not grouped: run the operation with groupObjects: true)"
                )
            name = CONNECTION_OF_TYPE.get(obj.get("__typename", ""))
            if name is None:
                raise IngestionHTTPError(
                    f"shopify/{label}: bulk result line {number}: unknown node type {obj.get('__typename')!r}"
                )
            parent.setdefault(name, []).append(strip(obj))
            if isinstance(obj.get("id"), str):
                by_id[obj["id"]] = obj
    if current is not None:
        page.append(current)
    if page:
        progress.page(len(page))
        yield page
    progress.done()
