"""Meta's throttling, on the shared HTTP layer: a pacer that follows the Business Use Case usage headers, and a
transport adapter that turns Graph's error bodies into what the shared session understands.

Graph answers a throttled call with HTTP 400 (code 80000 for ads_insights, 4/17/613 for the older limits,
``is_transient: true``), which the shared session would take for a final client error: the adapter rewrites it to
a 429 with ``Retry-After`` (the header's ``estimated_time_to_regain_access``), so it is retried like any vendor's
429. Any other Graph error that retrying cannot fix (``is_transient: false``, or a 4xx: a bad token, too much
data) is raised at once as :class:`MetaAPIError`, with Meta's code and subcode (the body never echoes the token).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ingestion.http.pacing import Pacer
from ingestion.http.session import IngestionHTTPError, describe
from ingestion.sources.meta_ads.settings import SLOW_DOWN_AT_PCT, STOP_AT_PCT, Usage, read_usage

log = logging.getLogger("salesdw.ingestion")
THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})


class MetaAPIError(IngestionHTTPError):
    """A Graph API error that retrying does not fix."""

    def __init__(self, message: str, code: int | None, subcode: int | None) -> None:
        super().__init__(message)
        self.code, self.subcode = code, subcode


class UsagePacer(Pacer):
    """Paces calls by the ads_insights usage Meta reports on every response (percent of the hourly budget).

    Below ``SLOW_DOWN_AT_PCT`` calls go at full speed. From there the calls left before ``STOP_AT_PCT`` are spread
    over the time until the score is back to 0 (``X-Ad-Account-Usage`` ``reset_time_duration``). At
    ``STOP_AT_PCT`` the pacer waits for the score to fall: first as long as a steady decay would need to reach
    ``SLOW_DOWN_AT_PCT``, and if the score has not fallen by the next call, the whole reset time. A throttled
    answer (``estimated_time_to_regain_access`` > 0) waits that long. The cost of one call (percent) is learned
    from consecutive readings (at least 1, the header's resolution).
    """

    def __init__(self) -> None:
        super().__init__(capacity=math.inf, refill_per_s=math.inf)
        self.usage: Usage | None = None
        self.seen_at = 0.0
        self.step = 1.0
        self.calls_since = 0
        self.stopped_at: float | None = None  # the score when the pacer last waited at the stop line

    def observe(self, headers: Mapping[str, str]) -> None:
        usage = read_usage(headers)
        if usage is None:
            return
        with self.lock:
            previous = self.usage
            if previous is not None and self.calls_since == 1 and usage.pct > previous.pct:
                self.step = max(1.0, usage.pct - previous.pct)
            self.usage, self.seen_at, self.calls_since = usage, time.monotonic(), 0
            self.active = True

    def _delay(self, now: float) -> float:
        u = self.usage
        if u is None:
            return 0.0
        elapsed = now - self.seen_at
        if u.regain_s > 0:
            return u.regain_s - elapsed
        score = u.pct + self.step * self.calls_since
        reset = u.reset_s if u.reset_s is not None else 60.0
        if score + self.step >= STOP_AT_PCT:
            if self.stopped_at is not None and score >= self.stopped_at:
                self.stopped_at = None
                return reset - elapsed  # the score did not fall: wait until it is back to 0
            self.stopped_at = score
            return reset * (1 - SLOW_DOWN_AT_PCT / score) - elapsed
        self.stopped_at = None
        if score >= SLOW_DOWN_AT_PCT:
            calls_left = max(1.0, (STOP_AT_PCT - score) / self.step)
            return reset / calls_left - elapsed
        return 0.0

    def wait(self) -> None:
        with self.lock:
            delay = self._delay(time.monotonic())
            if delay > 0:
                log.info("meta_ads: ads_insights usage at %.0f%%, waiting %.1fs", self.usage.pct, delay)  # type: ignore[union-attr]
                time.sleep(delay)
                self.waited_s += delay
            self.calls_since += 1

    def throttled(self) -> None:
        with self.lock:
            self.active = True


def graph_error(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


class GraphErrorAdapter(HTTPAdapter):
    """Graph's throttling answers become 429s (retried); its other final errors raise :class:`MetaAPIError`."""

    def __init__(self, resource: str) -> None:
        super().__init__()
        self.resource = resource

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = super().send(request, *args, **kwargs)
        if response.status_code < 400:
            return response
        error = graph_error(response)
        if error is None:
            return response  # not Graph's body (a proxy's page, a cut body): the session decides
        code, subcode, transient = error.get("code"), error.get("error_subcode"), error.get("is_transient")
        if code in THROTTLE_CODES or (response.status_code < 500 and transient is True):
            usage = read_usage(response.headers)
            response.status_code = 429
            if usage is not None and usage.regain_s > 0:
                response.headers["Retry-After"] = str(usage.regain_s)
            return response
        if response.status_code < 500 or transient is False:
            raise MetaAPIError(
                f"meta_ads/{self.resource}: {describe(request)} -> HTTP {response.status_code}: Graph error code "
                f"{code}, subcode {subcode}: {error.get('message')}",
                code,
                subcode,
            )
        return response
