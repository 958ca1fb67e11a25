"""Meta (Facebook/Instagram) Marketing API, Ads Insights, into ``raw_meta.campaign_insights``.

One row per ad account × campaign × day (``level=campaign``, ``time_increment=1``), merged on account_id,
campaign_id and date_start, so a re-read day replaces its row: ``spend`` DECIMAL(18,2) in the account's currency
(``account_currency``), ``impressions``, ``clicks``, and ``actions`` / ``action_values`` as dlt nested tables
(``campaign_insights__actions``, ``campaign_insights__action_values``: ``action_type``, ``value``), replaced with
their row. The purchase comes three times (``purchase``, ``offsite_conversion.fb_pixel_purchase``,
``omni_purchase``): the same conversions; staging reads ``omni_purchase`` only.

Windows, per ad account (cursor: the latest ``date_start`` loaded, in dlt state): the first load (or a gap longer
than ``sync_max_days``) reads ``start_date`` .. today through async report runs (POST, polled with exponential
backoff until ``Job Completed``; a failed run is submitted again), in runs of at most ``async_window_days``; an
incremental load re-reads ``lookback_days`` (8: Meta restates conversions for 7 days) before the cursor with the
synchronous call (and falls back to a report run if Meta says the window is too much data). Pages of
``page_size`` rows follow ``paging.next``; a row served twice (a page shifted while paging) is kept once.

Pacing: every Graph response carries the ads_insights Business Use Case usage; the pacer (``throttle.py``) slows
down from 75 % and waits at 90 %, so a load stays under 100 % (error 80000); a throttled answer is still retried
after Meta's ``estimated_time_to_regain_access``. Rows that break the contract (``contracts.py``: unknown
currency, negative spend...) go to ``raw_meta.quarantine`` with the reason.

Config (dlt section ``meta_ads``: ``[sources.meta_ads]`` or ``SOURCES__META_ADS__*``): ``access_token`` (a system
user's token, secret), ``ad_account_ids`` (a list, with or without ``act_``), ``base_url`` (default Graph's),
``api_version`` (default ``v24.0``), ``start_date`` (at most 37 months back: Meta keeps no older insights),
``end_date`` (default: today, UTC).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import dlt
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator

from ingestion.http.client import pages, rest_client
from ingestion.http.session import IngestionHTTPError
from ingestion.incremental import UpdateCursor, incremental_pages
from ingestion.sources.meta_ads.contracts import insights_contract
from ingestion.sources.meta_ads.settings import (
    API_VERSION,
    ASYNC_WINDOW_DAYS,
    DEFAULT_BASE_URL,
    FIELDS,
    INSIGHTS_PATH,
    LOOKBACK_DAYS,
    NESTED_TABLES,
    PAGE_SIZE,
    PRIMARY_KEY,
    REPORT_INSIGHTS_PATH,
    REPORT_RUN_PATH,
    SYNC_MAX_DAYS,
)
from ingestion.sources.meta_ads.throttle import GraphErrorAdapter, MetaAPIError, UsagePacer

__all__ = ["NESTED_TABLES", "MetaAPIError", "meta_ads_source", "shape_rows"]

log = logging.getLogger("salesdw.ingestion")
RESOURCE = "campaign_insights"
TOO_MUCH_DATA = (1, 99)  # Graph's "Please reduce the amount of data you're asking for"
SUBMIT_ATTEMPTS = 3


def _actions(items: Iterable[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"action_type": a["action_type"], "value": Decimal(str(a["value"]))} for a in items or []]


def shape_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Graph's strings typed: spend Decimal, counts int, days dates, action values Decimal."""
    return [
        {
            "insight_key": r["insight_key"],
            "account_id": str(r["account_id"]),
            "account_currency": r["account_currency"],
            "campaign_id": str(r["campaign_id"]),
            "campaign_name": r.get("campaign_name"),
            "spend": Decimal(str(r["spend"])),
            "impressions": int(r.get("impressions") or 0),
            "clicks": int(r.get("clicks") or 0),
            "date_start": date.fromisoformat(r["date_start"]),
            "date_stop": date.fromisoformat(r["date_stop"]),
            "actions": _actions(r.get("actions")),
            "action_values": _actions(r.get("action_values")),
        }
        for r in records
    ]


def _spans(since: date, until: date, days: int) -> Iterator[tuple[date, date]]:
    start = since
    while start <= until:
        stop = min(until, start + timedelta(days=days - 1))
        yield start, stop
        start = stop + timedelta(days=1)


@dlt.source(name="meta_ads", section="meta_ads", max_table_nesting=1)
def meta_ads_source(
    access_token: str = dlt.secrets.value,
    ad_account_ids: list[str] = dlt.config.value,
    base_url: str = DEFAULT_BASE_URL,
    api_version: str = API_VERSION,
    start_date: str = "2023-11-01",
    end_date: str | None = None,
    lookback_days: int = LOOKBACK_DAYS,
    sync_max_days: int = SYNC_MAX_DAYS,
    async_window_days: int = ASYNC_WINDOW_DAYS,
    page_size: int = PAGE_SIZE,
    poll_initial_s: float = 0.2,
    poll_max_s: float = 30.0,
    poll_timeout_s: float = 3600.0,
) -> Any:
    accounts = [str(a).removeprefix("act_") for a in ad_account_ids]
    client = rest_client(
        "meta_ads",
        RESOURCE,
        base_url,
        paginator=JSONLinkPaginator(next_url_path="paging.next"),
        pacer=UsagePacer(),  # one for all accounts: the Business Use Case budget is the business's
    )
    session = client.session
    session.headers["Authorization"] = f"Bearer {access_token}"  # never in a URL (next links stay token-free)
    adapter = GraphErrorAdapter(RESOURCE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    root = base_url.rstrip("/") + "/"

    def params(since: date, until: date) -> dict[str, Any]:
        return {
            "level": "campaign",
            "time_increment": "1",
            "time_range": f'{{"since":"{since.isoformat()}","until":"{until.isoformat()}"}}',
            "fields": ",".join(FIELDS),
            "limit": page_size,
        }

    def keyed(records: Iterable[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        """Each record's key added; a record served twice in one window (a shifted page) kept once."""
        seen: set[str] = set()
        for page in records:
            out = []
            for r in page:
                r["insight_key"] = f"{r.get('account_id')}:{r.get('campaign_id')}:{r.get('date_start')}"
                if r["insight_key"] not in seen:
                    seen.add(r["insight_key"])
                    out.append(r)
            yield out

    def submit(account: str, since: date, until: date) -> str:
        url = root + INSIGHTS_PATH.format(version=api_version, account_id=account)
        return str(session.post(url, data=params(since, until)).json()["report_run_id"])

    def status(run_id: str) -> str:
        body = session.get(root + REPORT_RUN_PATH.format(version=api_version, report_run_id=run_id)).json()
        status = str(body.get("async_status"))
        if status == "Job Completed" and int(body.get("async_percent_completion") or 0) < 100:
            return "Job Running"
        return status

    def report_runs(account: str, spans: list[tuple[date, date]]) -> Iterator[list[dict[str, Any]]]:
        """One report run per span, submitted together (Meta runs them side by side), polled round by round
        with exponential backoff; each completed run's pages are read; a failed run is submitted again."""
        runs = {submit(account, *span): (span, 1) for span in spans}
        delay, deadline = poll_initial_s, time.monotonic() + poll_timeout_s
        while runs:
            for run_id, (span, attempt) in list(runs.items()):
                state = status(run_id)
                if state == "Job Completed":
                    del runs[run_id]
                    log.info("meta_ads: report run %s (act_%s, %s..%s) completed", run_id, account, *span)
                    path = REPORT_INSIGHTS_PATH.format(version=api_version, report_run_id=run_id)
                    yield from pages(client, path, params={"limit": page_size}, data_selector="data")
                elif state in ("Job Failed", "Job Skipped"):
                    del runs[run_id]
                    if attempt >= SUBMIT_ATTEMPTS:
                        raise IngestionHTTPError(
                            f"meta_ads/{RESOURCE}: report run for act_{account} {span[0]}..{span[1]}: {state} "
                            f"{attempt} times"
                        )
                    log.warning("meta_ads: report run %s %s (attempt %d), submitting again", run_id, state, attempt)
                    runs[submit(account, *span)] = (span, attempt + 1)
            if not runs:
                return
            if time.monotonic() > deadline:
                raise IngestionHTTPError(f"meta_ads/{RESOURCE}: report runs {sorted(runs)} not done after polling")
            time.sleep(delay)
            delay = min(poll_max_s, delay * 2)

    def window(account: str, since: date, until: date) -> Iterator[list[dict[str, Any]]]:
        if (until - since).days + 1 <= sync_max_days:
            started = False
            try:
                for page in pages(
                    client,
                    INSIGHTS_PATH.format(version=api_version, account_id=account),
                    params=params(since, until),
                    data_selector="data",
                ):
                    started = True
                    yield page
                return
            except MetaAPIError as exc:
                if started or (exc.code, exc.subcode) != TOO_MUCH_DATA:
                    raise
                log.info(
                    "meta_ads: act_%s %s..%s is too much data synchronously, using a report run", account, since, until
                )
        yield from report_runs(account, list(_spans(since, until, async_window_days)))

    @dlt.resource(
        name=RESOURCE,
        primary_key=PRIMARY_KEY,
        write_disposition="merge",
        columns={
            "spend": {"data_type": "decimal", "precision": 18, "scale": 2},
            "impressions": {"data_type": "bigint"},
            "clicks": {"data_type": "bigint"},
            "date_start": {"data_type": "date"},
            "date_stop": {"data_type": "date"},
            "account_id": {"data_type": "text"},
            "campaign_id": {"data_type": "text"},
        },
    )
    def campaign_insights() -> Iterator[Any]:
        today = date.fromisoformat(end_date) if end_date else datetime.now(UTC).date()
        for account in accounts:
            cursor = UpdateCursor(start_date, timedelta(days=lookback_days), key=f"max_date_start_act_{account}")
            since = cursor.start.date()
            yield from incremental_pages(
                cursor,
                keyed(window(account, since, today)),
                lambda r: r.get("date_start"),
                insights_contract(),
                rows=shape_rows,
            )

    return campaign_insights
