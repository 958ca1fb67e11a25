"""Amazon Ads API source into ``raw_amazon_ads``: the advertiser's profiles and the daily figures of every Sponsored
Products campaign (reporting v3 ``spCampaigns``), authenticated through Login with Amazon.

Reports (``sp_campaign_days``): per profile, the days from the cursor (the newest day loaded less ``lookback_days``,
≥ 15: Amazon's 14-day attribution restates purchases and sales, and invalid-click credits lower cost, for two
weeks) or ``start_date`` to ``end_date`` (default today, UTC), in windows of at most 31 days. Each window is a
report: created (``POST /reporting/reports``; a 425 "duplicate of <id>" means Amazon already has that report
pending, which is then polled), polled on its own schedule (``poll_interval_s`` after its creation, then growing
×1.5 up to a minute; up to ``max_in_flight`` reports at once), and, once COMPLETED, its pre-signed URL downloaded
without Amazon's headers (an S3 URL), decompressed and parsed (numbers as Decimal, never float). A FAILED report is
created again; an expired URL is fetched fresh from the report; a file that does not decompress (cut short) is
downloaded again.
Rows merge on profile × campaign × date, so re-read days are restated in place and a re-run adds nothing; the
cursors (one per profile) move only once every window was read. Broken rows go to ``raw_amazon_ads.quarantine``.

Config (dlt section ``amazon_ads``: ``[sources.amazon_ads]`` or ``SOURCES__AMAZON_ADS__*``): ``client_id``,
``client_secret``, ``refresh_token`` (the Ads app's LWA credentials), ``token_url``, ``base_url`` (the region's
endpoint), ``profile_ids`` (default: every profile of ``/v2/profiles``), ``start_date``, ``end_date``,
``lookback_days``, ``poll_interval_s``, ``max_in_flight``, and the rates the pacers keep to
(``create_reports_per_s``, ``polls_per_s``; default the low tier of Amazon's dynamic reporting throttles).

Pacing: createReport and getReport are separate buckets, each with its pacer (:func:`report_pacer`). Amazon announces
no limits and answers an empty bucket with a 429 and ``Retry-After`` only: after the first 429 its own pace explains,
a pacer keeps to the rate that ``Retry-After`` shows (if slower than configured), so one 429 per bucket teaches the
tier and none follows. The loop never blocks on one bucket while the other has a token: it creates reports while
the create bucket has one (and there is room in flight), polls the reports that are due while the poll bucket has
one, and otherwise sleeps until the first of the two can go.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import time
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import dlt

from ingestion.contracts import checked
from ingestion.http.auth import RefreshTokenAuth
from ingestion.http.client import rest_client
from ingestion.http.pacing import RetryAfterPacer
from ingestion.http.session import IngestionHTTPError, ResilientSession
from ingestion.sources.amazon_ads.contracts import parse_day, sp_campaign_days_contract
from ingestion.sources.amazon_ads.settings import (
    CLIENT_ID_HEADER,
    CREATE_CONTENT_TYPE,
    CREATE_REPORT_LIMIT,
    DEFAULT_BASE_URL,
    DEFAULT_START_DATE,
    DEFAULT_TOKEN_URL,
    DOWNLOAD_ATTEMPTS,
    GET_REPORT_LIMIT,
    LOOKBACK_DAYS,
    MAX_IN_FLIGHT,
    MAX_WINDOW_DAYS,
    NESTED_TABLES,
    POLL_INTERVAL_S,
    POLL_MAX_S,
    POLL_TIMEOUT_S,
    PROFILES_LIMIT,
    PROFILES_PATH,
    REPORT_ATTEMPTS,
    REPORT_CONFIGURATION,
    REPORTS_PATH,
    SCOPE_HEADER,
)

__all__ = ["NESTED_TABLES", "amazon_ads_source", "report_pacer", "windows"]

log = logging.getLogger("salesdw.ingestion")
DUPLICATE = re.compile(r"duplicate of\s*:\s*([0-9a-fA-F-]{36})")
MONEY = {"data_type": "decimal", "precision": 18, "scale": 2}


class ReportError(RuntimeError):
    """A report that cannot be had: FAILED too often, never completed, or a file that never came through whole."""


def windows(start: date, end: date, days: int = MAX_WINDOW_DAYS) -> list[tuple[date, date]]:
    """[start, end] cut into consecutive windows of at most ``days`` days (both ends inclusive)."""
    out = []
    while start <= end:
        last = min(end, start + timedelta(days=days - 1))
        out.append((start, last))
        start = last + timedelta(days=1)
    return out


def report_pacer(limit: tuple[float, float]) -> RetryAfterPacer:
    """A pacer for one of Amazon's reporting throttles: (burst, requests per second), paced from the first request
    (Amazon Ads announces its limits in no header), and from the first 429 its own pace explains at the rate that
    429's Retry-After shows, if slower (Amazon throttles dynamically: the configured rate may be a faster tier)."""
    return RetryAfterPacer(*limit, eager=True)


@dataclass
class Job:
    profile: dict[str, Any]
    start: date
    end: date
    attempts: int = 0
    report_id: str | None = None
    created_at: float = 0.0
    due: float = 0.0  # when to poll the report next
    interval: float = 0.0  # the wait after that poll, if the report is still pending

    @property
    def profile_id(self) -> str:
        return str(self.profile["profileId"])

    @property
    def label(self) -> str:
        return f"profile {self.profile_id} {self.start}..{self.end}"


def _raw_row(row: dict[str, Any], job: Job, report_id: str) -> dict[str, Any]:
    return {
        "profile_id": job.profile_id,
        "campaign_id": str(row["campaignId"]),
        "date": parse_day(row["date"]),
        "campaign_name": row.get("campaignName"),
        "campaign_status": row.get("campaignStatus"),
        "campaign_budget_amount": row.get("campaignBudgetAmount"),
        "campaign_budget_currency_code": row.get("campaignBudgetCurrencyCode"),
        "currency": job.profile.get("currencyCode"),
        "impressions": row["impressions"],
        "clicks": row["clicks"],
        "cost": Decimal(row["cost"]),
        "purchases_14d": row["purchases14d"],
        "sales_14d": Decimal(row["sales14d"]),
        "units_sold_clicks_14d": row["unitsSoldClicks14d"],
        "report_id": report_id,
    }


@dlt.source(name="amazon_ads", section="amazon_ads")
def amazon_ads_source(
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    refresh_token: str = dlt.secrets.value,
    token_url: str = DEFAULT_TOKEN_URL,
    base_url: str = DEFAULT_BASE_URL,
    profile_ids: Sequence[str] | None = None,
    start_date: str = DEFAULT_START_DATE,
    end_date: str | None = None,
    lookback_days: int = LOOKBACK_DAYS,
    poll_interval_s: float = POLL_INTERVAL_S,
    max_in_flight: int = MAX_IN_FLIGHT,
    create_reports_per_s: float = CREATE_REPORT_LIMIT[1],
    polls_per_s: float = GET_REPORT_LIMIT[1],
) -> Any:
    auth = RefreshTokenAuth(
        "amazon_ads", token_url, client_id, client_secret, refresh_token, basic_client_auth=False
    )  # LWA: the client credentials in the form, the token as Authorization: Bearer
    headers = {CLIENT_ID_HEADER: client_id}

    def client(resource: str, pacer: RetryAfterPacer) -> Any:
        return rest_client("amazon_ads", resource, base_url, auth=auth, headers=headers, pacer=pacer)

    create_pacer = report_pacer((CREATE_REPORT_LIMIT[0], create_reports_per_s))
    poll_pacer = report_pacer((GET_REPORT_LIMIT[0], polls_per_s))
    profiles_client = client("profiles", report_pacer(PROFILES_LIMIT))
    create_client = client("create_report", create_pacer)
    poll_client = client("get_report", poll_pacer)
    files = ResilientSession("amazon_ads", "report_files")  # the pre-signed S3 URL: no Amazon auth, no headers

    def read_profiles() -> list[dict[str, Any]]:
        listed = json.loads(profiles_client.get(PROFILES_PATH).content, parse_float=Decimal)
        if profile_ids:
            wanted = {str(p) for p in profile_ids}
            missing = wanted - {str(p["profileId"]) for p in listed}
            if missing:
                raise IngestionHTTPError(f"amazon_ads: profile(s) {sorted(missing)} not among this login's profiles")
            listed = [p for p in listed if str(p["profileId"]) in wanted]
        return listed

    @dlt.resource(name="profiles", primary_key="profile_id", write_disposition="merge")
    def profiles() -> Iterator[list[dict[str, Any]]]:
        yield [
            {
                "profile_id": str(p["profileId"]),
                "country_code": p.get("countryCode"),
                "currency_code": p.get("currencyCode"),
                "timezone": p.get("timezone"),
                "marketplace_id": (p.get("accountInfo") or {}).get("marketplaceStringId"),
                "account_id": (p.get("accountInfo") or {}).get("id"),
                "account_type": (p.get("accountInfo") or {}).get("type"),
                "account_name": (p.get("accountInfo") or {}).get("name"),
            }
            for p in read_profiles()
        ]

    def create(job: Job) -> str:
        body = {
            "name": f"salesdw spCampaigns {job.profile_id} {job.start}..{job.end}",
            "startDate": job.start.isoformat(),
            "endDate": job.end.isoformat(),
            "configuration": REPORT_CONFIGURATION,
        }
        try:
            response = create_client.post(
                REPORTS_PATH,
                data=json.dumps(body),
                headers={SCOPE_HEADER: job.profile_id, "Content-Type": CREATE_CONTENT_TYPE},
            )
        except IngestionHTTPError as exc:
            # 425: the same report is pending already (e.g. our own create whose answer was lost): poll that one
            match = DUPLICATE.search(str(exc)) if "HTTP 425" in str(exc) else None
            if match is None:
                raise
            log.info("amazon_ads: %s is a duplicate of report %s, polling it", job.label, match.group(1))
            return match.group(1)
        return str(response.json()["reportId"])

    def poll(job: Job) -> dict[str, Any]:
        return poll_client.get(f"{REPORTS_PATH}/{job.report_id}", headers={SCOPE_HEADER: job.profile_id}).json()

    def download(job: Job, report: dict[str, Any]) -> list[dict[str, Any]]:
        """The report's rows; a file cut short is fetched again, an expired URL renewed from the report."""
        problem = ""
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            try:
                response = files.get(report["url"])
                return json.loads(gzip.decompress(response.content), parse_float=Decimal)
            except IngestionHTTPError as exc:
                if "HTTP 403" not in str(exc):
                    raise
                problem = "the URL expired or was refused (HTTP 403)"
                report = poll(job)  # a fresh pre-signed URL
            except (EOFError, OSError, zlib.error, ValueError) as exc:
                problem = f"the file does not decompress or parse ({type(exc).__name__})"
            log.warning("amazon_ads: %s: %s (attempt %d), downloading again", job.label, problem, attempt)
            time.sleep(min(2.0, 0.1 * 2**attempt))
        raise ReportError(f"amazon_ads: {job.label}: report {job.report_id} failed to download: {problem}")

    @dlt.resource(
        name="sp_campaign_days",
        primary_key=("profile_id", "campaign_id", "date"),
        write_disposition="merge",
        columns={
            "profile_id": {"data_type": "text"},
            "campaign_id": {"data_type": "text"},
            "date": {"data_type": "date"},
            **{c: dict(MONEY) for c in ("cost", "sales_14d", "campaign_budget_amount")},
            **{c: {"data_type": "bigint"} for c in ("impressions", "clicks", "purchases_14d", "units_sold_clicks_14d")},
        },
    )
    def sp_campaign_days() -> Iterator[Any]:
        state = dlt.current.resource_state()
        cursors: dict[str, str] = dict(state.get("max_date_by_profile", {}))
        first = date.fromisoformat(start_date)
        last = date.fromisoformat(end_date) if end_date else datetime.now(UTC).date()
        queue: deque[Job] = deque()
        for p in read_profiles():
            seen = cursors.get(str(p["profileId"]))
            begin = max(first, date.fromisoformat(seen) - timedelta(days=lookback_days)) if seen else first
            queue += [Job(p, s, e) for s, e in windows(begin, last)]
        contract = sp_campaign_days_contract()
        newest: dict[str, date] = {}
        in_flight: list[Job] = []

        def rows_of(job: Job, report: dict[str, Any]) -> Iterator[Any]:
            rows = download(job, report)
            page = [
                {
                    **r,
                    "_recordId": f"{job.profile_id}:{r.get('campaignId')}:{r.get('date')}",
                    "_profileCurrency": job.profile.get("currencyCode"),
                    "_windowStart": job.start.isoformat(),
                    "_windowEnd": job.end.isoformat(),
                }
                for r in rows
            ]
            for good in checked(contract, page, lambda good, j=job: [_raw_row(r, j, j.report_id) for r in good]):
                if isinstance(good, list):
                    for r in good:
                        newest[r["profile_id"]] = max(newest.get(r["profile_id"], r["date"]), r["date"])
                yield good

        # The two throttles are separate buckets: a create never waits for its bucket while a poll could be made,
        # nor a poll for its bucket while a report could be created; each report is polled on its own schedule
        # (poll_interval_s after its creation, then ×1.5 per poll up to POLL_MAX_S), and only when due.
        while queue or in_flight:
            busy = False
            while queue and len(in_flight) < max_in_flight and create_pacer.delay() <= 0:
                job = queue.popleft()
                job.attempts += 1
                job.report_id, job.created_at = create(job), time.monotonic()
                job.due, job.interval = job.created_at + poll_interval_s, poll_interval_s * 1.5
                in_flight.append(job)
                busy = True
            for job in sorted((j for j in in_flight if j.due <= time.monotonic()), key=lambda j: j.due):
                if poll_pacer.delay() > 0 or (queue and len(in_flight) < max_in_flight and create_pacer.delay() <= 0):
                    break  # the poll bucket is empty, or a report can be created: back to the top
                report = poll(job)
                busy = True
                status = report.get("status")
                if status == "COMPLETED":
                    in_flight.remove(job)
                    yield from rows_of(job, report)
                elif status == "FAILED":
                    in_flight.remove(job)
                    if job.attempts >= REPORT_ATTEMPTS:
                        raise ReportError(
                            f"amazon_ads: {job.label}: report failed {job.attempts} times: {report.get('failureReason')}"
                        )
                    log.warning(
                        "amazon_ads: %s: report FAILED (%s), creating it again", job.label, report.get("failureReason")
                    )
                    queue.append(job)
                elif time.monotonic() - job.created_at > POLL_TIMEOUT_S:
                    raise ReportError(f"amazon_ads: {job.label}: report {job.report_id} still {status} after hours")
                else:
                    job.due, job.interval = time.monotonic() + job.interval, min(POLL_MAX_S, job.interval * 1.5)
            if not busy:  # nothing could be done now: sleep until a create or a poll can be
                now, waits = time.monotonic(), []
                if queue and len(in_flight) < max_in_flight:
                    waits.append(create_pacer.delay())
                if in_flight:
                    waits.append(max(min(j.due for j in in_flight) - now, poll_pacer.delay()))
                time.sleep(max(0.0, min(waits)))
        for profile_id, day in newest.items():  # every window read: the cursors move
            cursors[profile_id] = max(day, date.fromisoformat(cursors.get(profile_id, day.isoformat()))).isoformat()
        state["max_date_by_profile"] = cursors

    return profiles, sp_campaign_days
