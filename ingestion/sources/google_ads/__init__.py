"""Google Ads API (REST ``GoogleAdsService.SearchStream``) into ``raw_google_ads``: daily ad-group stats and campaigns.

- ``ad_group_stats``: one row per customer × ad group × day (GAQL ``FROM ad_group`` segmented by ``segments.date``):
  cost (micros), impressions, clicks, conversions and conversion value as Google reports them, with the campaign and
  the account's currency; merged on (customer_id, ad_group_id, date). Incremental on ``segments.date``: the newest
  date loaded per customer is kept in dlt state, and every run re-reads from ``lookback_days`` (≥ 7) before it,
  because Google restates recent days (conversions arrive for days, invalid-click credits lower spend): the merge
  replaces the restated rows. A first load reads from ``start_date`` one calendar year per searchStream; an
  incremental run is one stream.
- ``campaigns``: every campaign of each customer (status, channel type, start/end date, daily budget), merged on
  (customer_id, campaign_id); read whole on every run (a few rows).

Rows breaking ``contracts.py`` (an unknown currency, a negative or non-numeric metric...) go to
``raw_google_ads.quarantine`` with the reason, in the same load.

Auth: Google OAuth 2.0 (a refresh token of an installed-app client traded at ``token_url`` for hour-long access
tokens, renewed before they expire), the ``developer-token`` header, and ``login-customer-id`` (the manager account
the customers are reached through; omit to reach them directly). Config (dlt section ``google_ads``:
``[sources.google_ads]`` or ``SOURCES__GOOGLE_ADS__*``): ``developer_token``, ``client_id``, ``client_secret``,
``refresh_token`` (secrets), ``login_customer_id``, ``customer_ids`` (a list; dashes allowed), ``base_url``,
``token_url``, ``api_version``, ``start_date``, ``lookback_days``, ``end_date`` (default: tomorrow, UTC).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import dlt

from ingestion.contracts import checked
from ingestion.http.auth import RefreshTokenAuth
from ingestion.http.client import rest_client
from ingestion.http.pacing import Pacer
from ingestion.http.progress import Progress
from ingestion.incremental import UpdateCursor, incremental_pages
from ingestion.sources.google_ads.contracts import ad_group_stats_contract, campaigns_contract
from ingestion.sources.google_ads.settings import (
    API_VERSION,
    DEFAULT_BASE_URL,
    DEFAULT_TOKEN_URL,
    LOOKBACK_DAYS,
    MIN_LOOKBACK_DAYS,
    NESTED_TABLES,
    PACE,
    SEARCH_STREAM_PATH,
    START_DATE,
    ad_group_stats_query,
    campaigns_query,
)

__all__ = ["NESTED_TABLES", "google_ads_source", "year_windows"]


def normalize_customer_id(value: str | int) -> str:
    """``456-123-7890`` (as the Google Ads UI writes it) -> ``4561237890``."""
    digits = str(value).replace("-", "").strip()
    if not digits.isdigit():
        raise ValueError(f"google_ads: customer id {value!r} is not a Google Ads customer id (10 digits)")
    return digits


def year_windows(start: date, end: date) -> list[tuple[date, date]]:
    """[start, end] cut at calendar years: one searchStream each."""
    out = []
    while start <= end:
        last = min(date(start.year, 12, 31), end)
        out.append((start, last))
        start = last + timedelta(days=1)
    return out


def _stream(client: Any, path: str, query: str, progress: Progress) -> Iterator[list[dict[str, Any]]]:
    """The rows of one searchStream, batch by batch (doubles parsed as Decimal, never float)."""
    response = client.post(path, json={"query": query})
    batches = json.loads(response.content, parse_float=Decimal)
    if isinstance(batches, dict):  # an error object the session let through would be a bug: say so
        raise RuntimeError(f"google_ads: searchStream answered an object, not a stream: {str(batches)[:200]}")
    for batch in batches:
        if "error" in batch:  # an error after the first batch comes as the last element of the stream
            raise RuntimeError(f"google_ads: searchStream failed mid-stream: {json.dumps(batch['error'])[:300]}")
        results = batch.get("results", [])
        progress.page(len(results))
        yield results


def _row_date(record: dict[str, Any]) -> str | None:
    """The row's ``segments.date`` for the cursor (None when it is not a date: the contract quarantines the row)."""
    value = (record.get("segments") or {}).get("date")
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        return None


def _int(value: Any) -> int:
    return int(str(value))


def ad_group_stats_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in records:
        metrics = r.get("metrics", {})
        out.append(
            {
                "customer_id": r["customer"]["id"],
                "campaign_id": r["campaign"]["id"],
                "campaign_name": r["campaign"].get("name"),
                "ad_group_id": r["adGroup"]["id"],
                "ad_group_name": r["adGroup"].get("name"),
                "ad_group_status": r["adGroup"].get("status"),
                "date": date.fromisoformat(r["segments"]["date"]),
                "currency": r["customer"]["currencyCode"],
                "cost_micros": _int(metrics.get("costMicros", 0)),
                "impressions": _int(metrics.get("impressions", 0)),
                "clicks": _int(metrics.get("clicks", 0)),
                "conversions": Decimal(str(metrics.get("conversions", 0))),
                "conversions_value": Decimal(str(metrics.get("conversionsValue", 0))),
            }
        )
    return out


def campaign_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "customer_id": r["customer"]["id"],
            "campaign_id": r["campaign"]["id"],
            "campaign_name": r["campaign"].get("name"),
            "status": r["campaign"].get("status"),
            "channel_type": r["campaign"].get("advertisingChannelType"),
            "start_date": date.fromisoformat(r["campaign"]["startDate"]),
            "end_date": date.fromisoformat(r["campaign"]["endDate"]) if r["campaign"].get("endDate") else None,
            "budget_amount_micros": _int(r.get("campaignBudget", {}).get("amountMicros", 0)),
            "currency": r["customer"]["currencyCode"],
            "time_zone": r["customer"].get("timeZone"),
        }
        for r in records
    ]


def _keyed(records: list[dict[str, Any]], *paths: str) -> list[dict[str, Any]]:
    """The records with ``recordKey`` (the contract's record id) = the values at ``paths`` joined by ':'."""
    for r in records:
        parts = []
        for path in paths:
            value: Any = r
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            parts.append(str(value))
        r["recordKey"] = ":".join(parts)
    return records


@dlt.source(name="google_ads", section="google_ads")
def google_ads_source(
    developer_token: str = dlt.secrets.value,
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    refresh_token: str = dlt.secrets.value,
    customer_ids: Sequence[str] = dlt.config.value,
    login_customer_id: str | None = None,
    base_url: str = DEFAULT_BASE_URL,
    token_url: str = DEFAULT_TOKEN_URL,
    api_version: str = API_VERSION,
    start_date: str = START_DATE,
    lookback_days: int = LOOKBACK_DAYS,
    end_date: str | None = None,
) -> Any:
    if lookback_days < MIN_LOOKBACK_DAYS:
        raise ValueError(
            f"google_ads: lookback_days {lookback_days} is shorter than Google's restatements "
            f"(at least {MIN_LOOKBACK_DAYS} days)"
        )
    if isinstance(customer_ids, str):  # a single id, or a JSON list given as text
        customer_ids = json.loads(customer_ids) if customer_ids.strip().startswith("[") else [customer_ids]
    customers = [normalize_customer_id(c) for c in customer_ids]
    auth = RefreshTokenAuth("google_ads", token_url, client_id, client_secret, refresh_token, basic_client_auth=False)
    headers = {"developer-token": developer_token}
    if login_customer_id:
        headers["login-customer-id"] = normalize_customer_id(login_customer_id)

    def client(resource: str) -> Any:
        return rest_client("google_ads", resource, base_url, auth=auth, headers=headers, pacer=Pacer(*PACE))

    def last_day() -> date:
        return date.fromisoformat(end_date) if end_date else datetime.now(UTC).date() + timedelta(days=1)

    @dlt.resource(
        name="ad_group_stats",
        primary_key=("customer_id", "ad_group_id", "date"),
        write_disposition="merge",
        columns={
            "date": {"data_type": "date"},
            "cost_micros": {"data_type": "bigint"},
            "impressions": {"data_type": "bigint"},
            "clicks": {"data_type": "bigint"},
            # doubles in the API (data-driven attribution credits fractions): kept to the micro, rounded in staging
            "conversions": {"data_type": "decimal", "precision": 18, "scale": 6},
            "conversions_value": {"data_type": "decimal", "precision": 18, "scale": 6},
            "campaign_name": {"data_type": "text", "nullable": True},
            "ad_group_name": {"data_type": "text", "nullable": True},
            "ad_group_status": {"data_type": "text", "nullable": True},
        },
    )
    def ad_group_stats() -> Iterator[Any]:
        stats_client = client("ad_group_stats")
        for customer in customers:
            cursor = UpdateCursor(start_date, timedelta(days=lookback_days), key=f"max_date_{customer}")
            path = SEARCH_STREAM_PATH.format(version=api_version, customer_id=customer)
            progress = Progress("google_ads", f"ad_group_stats/{customer}")

            def batches(start: date, path: str = path, progress: Progress = progress) -> Iterator[list[dict[str, Any]]]:
                for first, last in year_windows(start, last_day()):
                    query = ad_group_stats_query(first.isoformat(), last.isoformat())
                    for batch in _stream(stats_client, path, query, progress):
                        yield _keyed(batch, "customer.id", "adGroup.id", "segments.date")
                progress.done()

            yield from incremental_pages(
                cursor,
                batches(cursor.start.date()),
                _row_date,
                ad_group_stats_contract(),
                rows=ad_group_stats_rows,
            )

    @dlt.resource(
        name="campaigns",
        primary_key=("customer_id", "campaign_id"),
        write_disposition="merge",
        columns={
            "start_date": {"data_type": "date"},
            "end_date": {"data_type": "date", "nullable": True},
            "budget_amount_micros": {"data_type": "bigint"},
            "campaign_name": {"data_type": "text", "nullable": True},
            "time_zone": {"data_type": "text", "nullable": True},
        },
    )
    def campaigns() -> Iterator[Any]:
        campaigns_client = client("campaigns")
        contract = campaigns_contract()
        for customer in customers:
            path = SEARCH_STREAM_PATH.format(version=api_version, customer_id=customer)
            progress = Progress("google_ads", f"campaigns/{customer}")
            for batch in _stream(campaigns_client, path, campaigns_query(), progress):
                yield from checked(contract, _keyed(batch, "customer.id", "campaign.id"), campaign_rows)
            progress.done()

    return ad_group_stats, campaigns
