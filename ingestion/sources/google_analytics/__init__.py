"""Web sessions by day and traffic source (Google Analytics 4 Data API) into ``raw_ga4.traffic_daily``.

One report, ``runReport`` on the property: dimensions date × sessionDefaultChannelGroup × sessionSource ×
sessionMedium × sessionCampaignName × sessionCampaignId, metrics sessions, engagedSessions, ecommercePurchases,
purchaseRevenue (the property's currency, from the report's ``metadata.currencyCode``), one row per combination
and day, merged on property × those dimensions (a re-run never duplicates).

Read: a first small report over ``yesterday``..``today`` learns the property's today (its clock, not ours: the
sandbox's is simulated) and the quota; then windows of ``window_days`` from the cursor to that day, each paged by
``offset`` until ``rowCount`` rows are read, ordered by every dimension (a stable order for offset paging).
Incremental: the cursor is the latest date loaded; each run starts ``lookback_days`` (default 3) before it, because
GA4 completes the last day's sessions late; the re-read days merge onto their rows with the completed figures.
Pacing: every request asks ``returnPropertyQuota``; when the hour's remaining tokens (the lower of the property's
and the project's) would fall below ``quota_reserve_tokens``, the source pauses (``QuotaPacer``); a 429
RESOURCE_EXHAUSTED is retried with backoff by the shared session. Rows that break the contract (``contracts.py``)
go to ``raw_ga4.quarantine`` with the reason, in the same load.

Config (dlt section ``google_analytics``: ``[sources.google_analytics]`` or ``SOURCES__GOOGLE_ANALYTICS__*``):
``property_id`` (numeric), ``access_token`` (an OAuth bearer token with analytics.readonly; secret), ``base_url``
(default Google's), ``start_date`` (YYYY-MM-DD, the first day of a first load).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dlt
from dlt.sources.helpers.rest_client import RESTClient

from ingestion.http.client import rest_client
from ingestion.http.progress import Progress
from ingestion.http.session import IngestionHTTPError
from ingestion.incremental import UpdateCursor, incremental_pages
from ingestion.sources.google_analytics.contracts import parse_date, row_key, traffic_contract, typed
from ingestion.sources.google_analytics.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_START_DATE,
    DIMENSIONS,
    KEY_COLUMNS,
    LOOKBACK_DAYS,
    MAX_QUOTA_WAIT_S,
    METRICS,
    MIN_LOOKBACK_DAYS,
    PAGE_SIZE,
    QUOTA_PAUSE_S,
    QUOTA_RESERVE_TOKENS,
    RUN_REPORT_PATH,
    WINDOW_DAYS,
)

__all__ = ["NESTED_TABLES", "QuotaPacer", "google_analytics_source"]
NESTED_TABLES: tuple[str, ...] = ()
log = logging.getLogger("salesdw.ingestion")


class QuotaPacer:
    """Paces reports by the property quota GA4 returns in each response (``returnPropertyQuota``).

    GA4 tells what a request cost (``consumed``) and what remains (``remaining``), never when tokens return: when
    the hour's remaining tokens, less the next report's expected cost (the last one's), would fall below
    ``reserve``, it pauses ``pause_s`` and lets the next response tell again; after ``max_wait_s`` of pauses, or
    when the day's tokens are gone, it fails (the cursor is not moved: the next run reads the same window).
    """

    def __init__(self, reserve: int, pause_s: float, max_wait_s: float) -> None:
        self.reserve, self.pause_s, self.max_wait_s = reserve, pause_s, max_wait_s
        self.hour_left: int | None = None
        self.day_left: int | None = None
        self.cost = 1
        self.waited_s = 0.0
        self.pauses = 0

    def observe(self, quota: dict[str, Any] | None) -> None:
        if not quota:
            return

        def left(name: str) -> int | None:
            status = quota.get(name)
            return int(status.get("remaining", 0)) if isinstance(status, dict) else None

        hourly = [v for v in (left("tokensPerHour"), left("tokensPerProjectPerHour")) if v is not None]
        self.hour_left = min(hourly) if hourly else None
        self.day_left = left("tokensPerDay")
        consumed = (quota.get("tokensPerProjectPerHour") or quota.get("tokensPerHour") or {}).get("consumed")
        if consumed:
            self.cost = int(consumed)

    def wait(self) -> None:
        if self.day_left is not None and self.day_left < self.cost:
            raise IngestionHTTPError(
                f"google_analytics: the property's tokens of the day are used up ({self.day_left} left, a report "
                f"costs {self.cost}); the next run resumes from the same window"
            )
        while self.hour_left is not None and self.hour_left - self.cost < self.reserve:
            if self.waited_s + self.pause_s > self.max_wait_s:
                raise IngestionHTTPError(
                    f"google_analytics: {self.hour_left} tokens of the hour left (reserve {self.reserve}) after "
                    f"{self.waited_s:.0f}s of pauses; the next run resumes from the same window"
                )
            log.info(
                "google_analytics: %d tokens of the hour left (reserve %d), pausing %.0fs",
                self.hour_left,
                self.reserve,
                self.pause_s,
            )
            time.sleep(self.pause_s)
            self.waited_s += self.pause_s
            self.pauses += 1
            self.hour_left = None  # unknown until the next response: GA4 does not say when tokens return


def _report_body(start: str, end: str, offset: int, limit: int, dimensions: list[str]) -> dict[str, Any]:
    return {
        "dateRanges": [{"startDate": start, "endDate": end}],
        "dimensions": [{"name": d} for d in dimensions],
        "metrics": [{"name": m} for m in METRICS],
        "orderBys": [{"dimension": {"dimensionName": d, "orderType": "ALPHANUMERIC"}} for d in dimensions],
        "offset": offset,
        "limit": limit,
        "keepEmptyRows": False,
        "returnPropertyQuota": True,
    }


def flatten(body: dict[str, Any], property_id: str) -> list[dict[str, Any]]:
    """The report's rows as flat records keyed by raw column (by header name, whatever GA4's column order)."""
    dims = [h["name"] for h in body.get("dimensionHeaders", [])]
    mets = [h["name"] for h in body.get("metricHeaders", [])]
    missing = [n for n in (*DIMENSIONS, *METRICS) if n not in dims + mets]
    if missing and body.get("rows"):
        raise IngestionHTTPError(f"google_analytics: the report lacks {missing} (headers {dims + mets})")
    currency = (body.get("metadata") or {}).get("currencyCode")
    out = []
    for row in body.get("rows", []):
        values = {n: v.get("value") for n, v in zip(dims, row.get("dimensionValues", []), strict=False)}
        values |= {n: v.get("value") for n, v in zip(mets, row.get("metricValues", []), strict=False)}
        record: dict[str, Any] = {"property_id": property_id}
        record |= {column: values.get(name) for name, column in {**DIMENSIONS, **METRICS}.items()}
        record["currency_code"] = currency
        record["row_key"] = row_key(record)
        out.append(record)
    return out


def windows(start: date, end: date, days: int) -> Iterator[tuple[date, date]]:
    while start <= end:
        last = min(end, start + timedelta(days=days - 1))
        yield start, last
        start = last + timedelta(days=1)


@dlt.source(name="google_analytics", section="google_analytics")
def google_analytics_source(
    property_id: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    start_date: str = DEFAULT_START_DATE,
    lookback_days: int = LOOKBACK_DAYS,
    window_days: int = WINDOW_DAYS,
    page_size: int = PAGE_SIZE,
    quota_reserve_tokens: int = QUOTA_RESERVE_TOKENS,
    quota_pause_s: float = QUOTA_PAUSE_S,
    max_quota_wait_s: float = MAX_QUOTA_WAIT_S,
) -> Any:
    """Daily sessions, engaged sessions, purchases and revenue of the GA4 property by traffic source."""
    property_id = str(property_id).removeprefix("properties/")
    if not property_id.isdigit():
        raise ValueError(f"google_analytics: property_id must be the numeric GA4 property id, not {property_id!r}")
    if lookback_days < MIN_LOOKBACK_DAYS:
        raise ValueError(
            f"google_analytics: lookback_days must be at least {MIN_LOOKBACK_DAYS} (GA4 completes the last day late)"
        )
    path = RUN_REPORT_PATH.format(property_id=property_id)
    dimensions = list(DIMENSIONS)

    @dlt.resource(
        name="traffic_daily",
        primary_key=KEY_COLUMNS,
        write_disposition="merge",
        columns={
            "date": {"data_type": "date"},
            "sessions": {"data_type": "bigint"},
            "engaged_sessions": {"data_type": "bigint"},
            "ecommerce_purchases": {"data_type": "bigint"},
            "purchase_revenue": {"data_type": "decimal", "precision": 18, "scale": 2},
            "currency_code": {"data_type": "text"},
        },
    )
    def traffic_daily() -> Iterator[Any]:
        client = rest_client(
            "google_analytics", "traffic_daily", base_url, headers={"Authorization": f"Bearer {access_token}"}
        )
        pacer = QuotaPacer(quota_reserve_tokens, quota_pause_s, max_quota_wait_s)
        cursor = UpdateCursor(start_date, timedelta(days=lookback_days), key="last_date")
        today = _property_today(client, path, pacer)
        start = cursor.start.date()
        yield from incremental_pages(
            cursor,
            _pages(client, path, property_id, pacer, windows(start, today, window_days), page_size, dimensions),
            lambda row: _iso(row.get("date")),
            traffic_contract(),
            lambda rows: [typed(r) for r in rows],
        )

    return traffic_daily


def _iso(value: Any) -> str | None:
    day = parse_date(value)
    return day.isoformat() if day else None


def _post(client: RESTClient, path: str, body: dict[str, Any], pacer: QuotaPacer) -> dict[str, Any]:
    pacer.wait()
    answer = client.post(path, json=body).json()
    pacer.observe(answer.get("propertyQuota"))
    return answer


def _property_today(client: RESTClient, path: str, pacer: QuotaPacer) -> date:
    """The property's today: the latest date of a report over yesterday..today (our UTC date if it has none)."""
    body = {
        "dateRanges": [{"startDate": "yesterday", "endDate": "today"}],
        "dimensions": [{"name": "date"}],
        "metrics": [{"name": "sessions"}],
        "keepEmptyRows": True,
        "returnPropertyQuota": True,
    }
    answer = _post(client, path, body, pacer)
    days = [parse_date(r["dimensionValues"][0]["value"]) for r in answer.get("rows", [])]
    known = [d for d in days if d is not None]
    return max(known) if known else datetime.now(UTC).date()


def _pages(
    client: RESTClient,
    path: str,
    property_id: str,
    pacer: QuotaPacer,
    spans: Iterator[tuple[date, date]],
    page_size: int,
    dimensions: list[str],
) -> Iterator[list[dict[str, Any]]]:
    progress = Progress("google_analytics", "traffic_daily")
    for first, last in spans:
        offset = 0
        while True:
            answer = _post(
                client, path, _report_body(first.isoformat(), last.isoformat(), offset, page_size, dimensions), pacer
            )
            page = flatten(answer, property_id)
            progress.page(len(page))
            if page:
                yield page
            offset += len(page)
            if not page or offset >= int(answer.get("rowCount", 0)):
                break
    progress.done()
