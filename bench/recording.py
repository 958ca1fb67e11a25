"""The sandbox as the benchmarks run it: recording every vendor request it answers, server side.

A 429 the client never reports (or a request a client retried) is still counted; each record holds the arrival
time, the vendor, the rate-limit bucket of the route, the path, the status and whether it was a throttling answer
(a 429, or Meta's code 17 / 80000 body).
"""

from __future__ import annotations

import threading
import time
from typing import Any, NamedTuple

from sandbox.protocol import Request, Response
from sandbox.server import SandboxApp


class Seen(NamedTuple):
    arrived: float
    vendor: str
    bucket: str
    path: str
    status: int
    throttled: bool


class RecordingApp(SandboxApp):
    """The sandbox, recording every vendor request it answers (control endpoints excluded) in ``seen``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[Seen] = []
        self._seen_lock = threading.Lock()

    def dispatch(self, req: Request) -> tuple[Response, Any]:  # type: ignore[override]
        arrived = time.monotonic()
        response, fault = super().dispatch(req)
        if req.path.startswith("/_sandbox/"):
            return response, fault
        vendor = self._vendor_of(req.path)
        bucket = next(
            (r.bucket for _, r in self.routes if r.method == req.method and r.pattern.fullmatch(req.path)), "?"
        )
        throttled = response.status == 429 or (
            isinstance(response.body, dict) and (response.body.get("error") or {}).get("code") in (17, 80000)
        )
        with self._seen_lock:
            self.seen.append(
                Seen(arrived, vendor.NAME if vendor else "?", bucket, req.path, response.status, throttled)
            )
        return response, fault

    @property
    def requests(self) -> int:
        return len(self.seen)
