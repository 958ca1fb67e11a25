"""Amazon Ads API source into ``raw_amazon_ads``: the advertiser's profiles and the daily figures of every Sponsored
Products campaign (reporting v3 ``spCampaigns``), authenticated through Login with Amazon.

Reports (``sp_campaign_days``): per profile, the days from the cursor (the newest day loaded less ``lookback_days``,
≥ 15: Amazon's 14-day attribution restates purchases and sales, and invalid-click credits lower cost, for two
weeks) or ``start_date`` to ``end_date`` (default today, UTC), in windows of at most 31 days. Each window is a
report: created (``POST /reporting/reports``; a 425 "duplicate of <id>" means Amazon already has that report
pending, which is then polled), polled with a growing interval (up to ``max_in_flight`` reports at once, the
polls of a round spread over them), and, once COMPLETED, its pre-signed URL downloaded without Amazon's headers
(an S3 URL), decompressed and parsed (numbers as Decimal, never float). A FAILED report is created again; an
expired URL is fetched fresh from the report; a file that does not decompress (cut short) is downloaded again.
Rows merge on profile × campaign × date, so re-read days are restated in place and a re-run adds nothing; the
cursors (one per profile) move only once every window was read. Broken rows go to ``raw_amazon_ads.quarantine``.

Config (dlt section ``amazon_ads``: ``[sources.amazon_ads]`` or ``SOURCES__AMAZON_ADS__*``): ``client_id``,
``client_secret``, ``refresh_token`` (the Ads app's LWA credentials), ``token_url``, ``base_url`` (the region's
endpoint), ``profile_ids`` (default: every profile of ``/v2/profiles``), ``start_date``, ``end_date``,
``lookback_days``, ``poll_interval_s``, ``max_in_flight``, and the rates the pacers keep to once Amazon has
throttled (``create_reports_per_s``, ``polls_per_s``; default the low tier of Amazon's dynamic reporting throttles).
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
from ingestion.http.pacing import Pacer
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

__all__ = ["NESTED_TABLES", "amazon_ads_source", "windows"]

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


@dataclass
class Job:
    profile: dict[str, Any]
    start: date
    end: date
    attempts: int = 0
    report_id: str | None = None
    created_at: float = 0.0

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

    def client(resource: str, limit: tuple[float, float]) -> Any:
        return rest_client(
            "amazon_ads", resource, base_url, auth=auth, headers=headers, pacer=Pacer(*limit, eager=True)
        )  # Amazon Ads sends no rate-limit headers

    profiles_client = client("profiles", PROFILES_LIMIT)
    create_client = client("create_report", (CREATE_REPORT_LIMIT[0], create_reports_per_s))
    poll_client = client("get_report", (GET_REPORT_LIMIT[0], polls_per_s))
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
        wait = poll_interval_s
        while queue or in_flight:
            while queue and len(in_flight) < max_in_flight:
                job = queue.popleft()
                job.attempts += 1
                job.report_id, job.created_at = create(job), time.monotonic()
                in_flight.append(job)
            done_any = False
            for job in list(in_flight):
                report = poll(job)
                status = report.get("status")
                if status == "COMPLETED":
                    in_flight.remove(job)
                    done_any = True
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
                    for good in checked(
                        contract, page, lambda good, j=job: [_raw_row(r, j, j.report_id) for r in good]
                    ):
                        if isinstance(good, list):
                            for r in good:
                                newest[r["profile_id"]] = max(newest.get(r["profile_id"], r["date"]), r["date"])
                        yield good
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
            if in_flight and not done_any:
                time.sleep(wait)
                wait = min(POLL_MAX_S, wait * 1.5)
            elif done_any:
                wait = poll_interval_s
        for profile_id, day in newest.items():  # every window read: the cursors move
            cursors[profile_id] = max(day, date.fromisoformat(cursors.get(profile_id, day.isoformat()))).isoformat()
        state["max_date_by_profile"] = cursors

    return profiles, sp_campaign_days
