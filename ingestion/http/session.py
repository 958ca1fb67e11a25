"""The one HTTP session all sources use: retries with backoff, every form of ``Retry-After``, pacing.

dlt's own retry reads ``Retry-After`` only as an integer or an HTTP date; Shopify sends ``2.0``.
Errors name the source, resource and request but never the credentials (they travel in headers,
which are never logged).
"""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from core.settings import settings
from ingestion.http.pacing import Pacer, unlimited
from ingestion.http.redact import install as install_redaction
from ingestion.http.redact import redact

install_redaction()  # every log record of the process: no userinfo of a source URL

log = logging.getLogger("salesdw.ingestion")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class IngestionHTTPError(RuntimeError):
    """A request that still failed after the retry budget, or failed in a way retrying cannot fix."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))  # stored by Dagster and dlt's trace: never the URL's credentials


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: ``2``, ``2.0`` or an HTTP date."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def describe(request: requests.PreparedRequest) -> str:
    """Method and path only: query strings may carry cursors, never print more than needed."""
    parts = urlsplit(request.url or "")
    host = parts.netloc.rpartition("@")[2]  # never the userinfo (http://key:secret@host)
    return f"{request.method} {parts.scheme}://{host}{parts.path}"


class ResilientSession(requests.Session):
    """A ``requests.Session`` whose ``send`` retries transient failures and malformed JSON bodies."""

    def __init__(
        self,
        source: str,
        resource: str = "",
        *,
        pacer: Pacer | None = None,
        max_attempts: int = 8,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
        timeout_s: float | None = None,
    ) -> None:
        super().__init__()
        self.source, self.resource = source, resource
        self.pacer = pacer or unlimited()
        self.max_attempts, self.backoff_s, self.backoff_max_s = max_attempts, backoff_s, backoff_max_s
        # a read that takes longer is abandoned and retried (SALESDW_HTTP_TIMEOUT_S overrides the 30 s)
        self.timeout_s = timeout_s if timeout_s is not None else settings().http_timeout_s
        self.stats = {"requests": 0, "retries": 0, "throttled": 0}

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout_s)
        where = f"{self.source}{'/' + self.resource if self.resource else ''}: {describe(request)}"
        problem = ""
        # Response hooks (dlt's paginate adds raise_for_status) would fire inside every attempt, before
        # this loop can retry a 429/5xx: hold them back and run them on the final response only.
        hooks, request.hooks = request.hooks, {"response": []}
        renewed = False
        for attempt in range(1, self.max_attempts + 1):
            self.stats["requests"] += 1
            self.pacer.wait()
            try:
                response = super().send(request, **kwargs)
            except TRANSIENT_ERRORS as exc:
                problem = f"{type(exc).__name__}"
                wait = self._backoff(attempt)
            else:
                self.pacer.observe(response.headers)
                if response.status_code in RETRY_STATUSES:
                    problem = f"HTTP {response.status_code}"
                    if response.status_code == 429:
                        self.stats["throttled"] += 1
                        self.pacer.throttled()
                    hinted = parse_retry_after(response.headers.get("Retry-After"))
                    wait = hinted if hinted is not None else self._backoff(attempt)
                elif response.ok and _json_typed(response) and not _is_json(response):
                    problem = "truncated or malformed JSON body"
                    wait = self._backoff(attempt)
                elif response.status_code == 401 and not renewed and hasattr(self.auth, "invalidate"):
                    # the token expired or was revoked early: one new token, one more try
                    renewed = True
                    self.auth.invalidate()
                    request = self.auth(request)
                    problem, wait = "HTTP 401 (access token refused: renewed it)", 0.0
                elif response.status_code >= 400:  # not retryable: say what the vendor said
                    raise IngestionHTTPError(f"{where} -> HTTP {response.status_code}: {response.text[:300]}")
                else:
                    try:
                        for hook in hooks.get("response", []):
                            response = hook(response, **kwargs) or response
                    except requests.HTTPError as exc:  # its message quotes the full URL, credentials included
                        raise IngestionHTTPError(f"{where}: {exc}") from None
                    return response
            if attempt < self.max_attempts:
                self.stats["retries"] += 1
                log.warning(
                    "%s: %s (attempt %d/%d), retrying in %.1fs", where, problem, attempt, self.max_attempts, wait
                )
                time.sleep(wait)
        raise IngestionHTTPError(f"{where} failed after {self.max_attempts} attempts: {problem}")


def _json_typed(response: requests.Response) -> bool:
    """A JSON document (``application/json``, ``*+json``), not JSON Lines or another streamed body."""
    mime = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return mime == "application/json" or mime.endswith("+json")


def _is_json(response: requests.Response) -> bool:
    try:
        json.loads(response.content)
    except ValueError:
        return False
    return True
