"""HubSpot CRM v3 source: every CRM resource the warehouse reads, into ``raw_crm``.

Resources (tables), all merged on HubSpot's ``id`` unless said otherwise:

- ``deals``: every deal, archived (deleted) ones included and flagged ``archived`` with ``archived_at``;
  properties as ``properties__<name>`` (HubSpot sends strings), the ``hs_date_entered/exited_<stage>``
  properties included. Nested tables, replaced with their deal on every merge:
  ``deals__stage_history`` (``propertiesWithHistory=dealstage``: one row per stage the deal entered,
  with the timestamp and who moved it), ``deals__owner_history`` (``hubspot_owner_id``: reassignments),
  ``deals__amount_history``, ``deals__closedate_history`` (the rep's expected close date while open, moved
  by slips; the close time once closed) and ``deals__forecast_category_history`` (``hs_forecast_category``),
  ``deals__companies`` and ``deals__contacts`` (the deal's associations; an archived deal has none left).
- ``contacts`` (the primary company in ``properties__associatedcompanyid``; PII: email, names, phone),
  ``companies``, ``goal_targets`` (monthly quota per owner: ``hs_target_amount`` for
  ``hs_start_datetime``..``hs_end_datetime``, ``hubspot_owner_id``), archived ones flagged like deals.
- ``owners`` with ``owners__teams`` (primary team = territory), archived owners flagged; read whole.
- ``deal_pipelines`` with ``deal_pipelines__stages``: small, replaced on every load.

Incremental reads: each object resource keeps an update cursor (the highest last-modified time seen,
committed with the load) and re-reads from the cursor less the lookback.

- First load (no cursor): the list endpoint, paged by ``after`` (ascending ids, so a record changing
  while we page is never skipped; one seen twice is deduplicated by the merge, latest ``updatedAt`` wins).
- Then: ``POST /crm/v3/objects/{obj}/search`` on ``hs_lastmodifieddate``/``lastmodifieddate`` ≥ start,
  sorted ascending. HubSpot refuses to page a search past 10,000 results, so the window is narrowed as
  we go: every page is a new search starting at the last modification time read (keyset paging; the
  ``after`` offset only skips the records already read at exactly that millisecond). No search ever
  reaches the cap (unless more than 10,000 records share one millisecond: then it fails loudly), and a
  record modified while we page moves past the keyset and is read again instead of shifting an offset.
- Archived records are never found by search: the list endpoint with ``archived=true`` is paged every
  run and kept from the window on (``archivedAt``/``updatedAt`` ≥ start), so deletions reach the warehouse.
- Deals: search cannot return property history or associations, and the list endpoint returns at most
  50 records per page when history is asked. The deals changed in the window are read one by one
  (``GET /crm/v3/objects/deals/{id}`` with history and associations), unless paging the whole list is
  fewer requests (many changes): then the list is paged and filtered to the window like the first load.
  Either way every deal row carries its complete history and associations, so its nested rows are
  replaced whole.

Pacing: one pacer per HubSpot rate-limit bucket. The API bucket (100 requests per rolling 10 s for a
private app) follows the ``X-HubSpot-RateLimit-*`` headers; the search bucket (5 requests per second)
sends no headers, so its pacer stays idle until a 429 and then paces below the published rate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

import dlt
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from ingestion.contracts import Contract
from ingestion.http.client import pages, rest_client
from ingestion.http.pacing import Pacer
from ingestion.http.progress import Progress
from ingestion.http.session import IngestionHTTPError, ResilientSession
from ingestion.incremental import UpdateCursor, incremental_pages, parse_instant
from ingestion.sources.hubspot.contracts import deals_contract, goal_targets_contract
from ingestion.sources.hubspot.settings import (
    API,
    API_BUCKET,
    COMPANIES,
    CONTACTS,
    CURSOR_KEY,
    DEAL_ASSOCIATIONS,
    DEAL_HISTORY,
    DEAL_PROPERTIES,
    DEALS,
    GOAL_TARGETS,
    HISTORY_PAGE_SIZE,
    LIST_PAGE_SIZE,
    NESTED_TABLES,
    SEARCH_BUCKET,
    SEARCH_MAX_RESULTS,
    SEARCH_PAGE_SIZE,
    CrmObject,
    rate_limit_reading,
)

__all__ = ["DEAL_PROPERTIES", "HISTORY_PAGE_SIZE", "NESTED_TABLES", "deal_row", "hubspot_source", "search_modified"]

# --- reading ---

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_millis(value: str | datetime) -> int:
    """Exact epoch milliseconds (no float rounding) of an instant, as HubSpot filters take them; HubSpot
    writes datetime values as ISO-8601 or (older properties) as epoch-millisecond strings."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return (parse_instant(value) - _EPOCH) // timedelta(milliseconds=1)


def changed_at(record: dict[str, Any]) -> datetime:
    """When a record last changed: ``updatedAt``, or its archival if later."""
    stamps = [parse_instant(record["updatedAt"])]
    if record.get("archivedAt"):
        stamps.append(parse_instant(record["archivedAt"]))
    return max(stamps)


def list_pages(client: RESTClient, obj: str, params: dict[str, Any], since: datetime) -> Iterator[list[dict[str, Any]]]:
    """``GET /crm/v3/objects/{obj}`` page by page, keeping the records changed since ``since``."""
    for page in pages(client, f"{API}/objects/{obj}", params=params, data_selector="results"):
        kept = [r for r in page if changed_at(r) >= since]
        if kept:
            yield kept


def _search_body(prop: str, since_ms: int | None, properties: Iterable[str], limit: int, after: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": limit,
    }
    if since_ms is not None:
        body["filterGroups"] = [{"filters": [{"propertyName": prop, "operator": "GTE", "value": str(since_ms)}]}]
    if after:
        body["after"] = str(after)
    return body


def search_total(client: RESTClient, obj: str, prop: str, since: datetime | None = None) -> int:
    """How many (live) records a search finds: all of them, or those modified since ``since``."""
    body = _search_body(prop, epoch_millis(since) if since else None, [prop], 1, 0)
    return int(client.post(f"{API}/objects/{obj}/search", json=body).json()["total"])


def search_modified(
    client: RESTClient, obj: str, prop: str, since: datetime, properties: Iterable[str], totals: list[int] | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Live records with ``prop`` ≥ ``since``, ascending by ``prop``, one search per page (keyset paging).

    Each search starts at the last ``prop`` value read and skips (``after``) the records already read at
    exactly that value, so ``after + limit`` stays far below ``SEARCH_MAX_RESULTS`` however large the
    window is. Only a run of more than ``SEARCH_MAX_RESULTS`` records modified in the same millisecond
    could not be read this way; that fails instead of silently losing records. ``totals`` (if given)
    receives the first search's ``total``: how many records the whole window holds.
    """
    session: ResilientSession = client.session  # type: ignore[assignment]
    progress = Progress(session.source, session.resource)
    properties = tuple(dict.fromkeys([*properties, prop]))
    low, skip = epoch_millis(since), 0  # skip: records already read whose prop == low
    while True:
        limit = min(SEARCH_PAGE_SIZE, SEARCH_MAX_RESULTS - skip)
        if limit < 1:
            raise IngestionHTTPError(
                f"hubspot/{obj}: more than {SEARCH_MAX_RESULTS} records have {prop} = {low} (epoch ms): HubSpot "
                "search cannot page past its result cap; read this object from the list endpoint (full refresh)"
            )
        data = client.post(f"{API}/objects/{obj}/search", json=_search_body(prop, low, properties, limit, skip)).json()
        results = data.get("results") or []
        if totals is not None and not totals:
            totals.append(int(data.get("total", len(results))))
        progress.page(len(results))
        if results:
            yield results
        if not results or not (data.get("paging") or {}).get("next"):
            break
        stamps = [epoch_millis(r["properties"][prop]) for r in results]
        last = stamps[-1]
        if last == low:
            skip += len(results)
        else:
            low, skip = last, sum(1 for s in stamps if s == last)
    progress.done()


def read_one(client: RESTClient, obj: str, record_id: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """``GET /crm/v3/objects/{obj}/{id}``; None when it is gone (archived since it was found: the
    archived pass of the same run reads it)."""
    try:
        return client.get(f"{API}/objects/{obj}/{record_id}", params=params).json()
    except IngestionHTTPError as exc:
        if "HTTP 404" in str(exc):
            return None
        raise


def deal_row(record: dict[str, Any]) -> dict[str, Any]:
    """A deal as loaded: the record, with its property histories and associations lifted into lists
    (nested tables ``deals__<DEAL_HISTORY table>``, ``deals__companies``, ``deals__contacts``); their
    entries stay as HubSpot sends them."""
    row = {k: v for k, v in record.items() if k not in ("propertiesWithHistory", "associations")}
    history = record.get("propertiesWithHistory") or {}
    for prop, table in DEAL_HISTORY.items():
        row[table] = list(reversed(history.get(prop) or []))  # HubSpot: newest first; loaded oldest first
    associations = record.get("associations") or {}
    for to in DEAL_ASSOCIATIONS:
        row[to] = list((associations.get(to) or {}).get("results") or [])
    return row


@dlt.source(name="hubspot", max_table_nesting=1)
def hubspot_source(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    start_date: str = "2023-11-01T00:00:00Z",
    lookback_minutes: int = 60,
) -> Any:
    lookback = timedelta(minutes=lookback_minutes)
    # one pacer per HubSpot bucket, shared by every resource
    api_pacer = Pacer(*API_BUCKET, read_headers=rate_limit_reading)
    search_pacer = Pacer(*SEARCH_BUCKET)

    def client(resource: str) -> RESTClient:
        return rest_client(
            "hubspot",
            resource,
            base_url,
            auth=BearerTokenAuth(access_token),
            pacer=api_pacer,
            paginator=JSONResponseCursorPaginator(cursor_path="paging.next.after", cursor_param="after"),
        )

    def search_client(resource: str) -> RESTClient:
        return rest_client(
            "hubspot", f"{resource}.search", base_url, auth=BearerTokenAuth(access_token), pacer=search_pacer
        )

    def crm_objects(obj: CrmObject, contract: Contract | None) -> Iterator[Any]:
        """Contacts, companies, goal targets: list (first load) or search, then the archived ones."""
        api, search = client(obj.name), search_client(obj.name)
        cursor = UpdateCursor(start_date, lookback, key=CURSOR_KEY)
        params = {"limit": LIST_PAGE_SIZE, "properties": ",".join(obj.properties)}
        if cursor.previous is None:
            live = list_pages(api, obj.name, {**params, "archived": "false"}, cursor.start)
        else:
            live = search_modified(search, obj.name, obj.modified, cursor.start, obj.properties)
        archived = list_pages(api, obj.name, {**params, "archived": "true"}, cursor.start)
        yield from incremental_pages(cursor, chain(live, archived), changed_at, contract)

    # a history entry's value stays HubSpot's string (closedate values would otherwise be parsed as timestamps,
    # and a cleared date, "", would then split the column)
    @dlt.resource(
        name="deals",
        primary_key="id",
        write_disposition="merge",
        columns=DEALS.columns(),
        nested_hints={
            table: {"columns": {"value": {"name": "value", "data_type": "text", "nullable": True}}}
            for table in DEAL_HISTORY.values()
        },
    )
    def deals() -> Iterator[Any]:
        """HubSpot deals (archived ones flagged) with stage and owner history and their associations."""
        api, search = client("deals"), search_client("deals")
        cursor = UpdateCursor(start_date, lookback, key=CURSOR_KEY)
        contract = deals_contract()
        detail = {
            "properties": ",".join(DEAL_PROPERTIES),
            "propertiesWithHistory": ",".join(DEAL_HISTORY),
            "associations": ",".join(DEAL_ASSOCIATIONS),
        }
        listed = {**detail, "limit": LIST_PAGE_SIZE}

        def one_by_one(hits: Iterable[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
            seen: set[str] = set()
            for page in hits:
                found = [read_one(api, "deals", h["id"], detail) for h in page if h["id"] not in seen]
                seen.update(h["id"] for h in page)
                yield [r for r in found if r is not None]

        def listing_is_cheaper(changed: int) -> bool:
            if changed <= 1:
                return False
            # the rest of the search and a read per deal, against a count and every list page
            one_by_one_cost = math.ceil(changed / SEARCH_PAGE_SIZE) - 1 + changed
            listing_cost = 1 + math.ceil(search_total(search, "deals", DEALS.modified) / HISTORY_PAGE_SIZE)
            return listing_cost < one_by_one_cost

        live: Iterable[list[dict[str, Any]]]
        if cursor.previous is None:
            live = list_pages(api, "deals", {**listed, "archived": "false"}, cursor.start)
        else:
            totals: list[int] = []
            hits = search_modified(search, "deals", DEALS.modified, cursor.start, [DEALS.modified], totals)
            first = next(hits, [])
            if listing_is_cheaper(totals[0] if totals else 0):
                hits.close()
                live = list_pages(api, "deals", {**listed, "archived": "false"}, cursor.start)
            else:
                live = one_by_one(chain([first], hits))
        archived = list_pages(api, "deals", {**listed, "archived": "true"}, cursor.start)
        deal_rows = ([deal_row(r) for r in page] for page in chain(live, archived))
        yield from incremental_pages(cursor, deal_rows, changed_at, contract)

    @dlt.resource(name="contacts", primary_key="id", write_disposition="merge", columns=CONTACTS.columns())
    def contacts() -> Iterator[Any]:
        """HubSpot contacts (PII: email, names, phone), archived ones flagged; primary company as a property."""
        yield from crm_objects(CONTACTS, None)

    @dlt.resource(name="companies", primary_key="id", write_disposition="merge", columns=COMPANIES.columns())
    def companies() -> Iterator[Any]:
        """HubSpot companies (the B2B customers), archived ones flagged."""
        yield from crm_objects(COMPANIES, None)

    @dlt.resource(name="goal_targets", primary_key="id", write_disposition="merge", columns=GOAL_TARGETS.columns())
    def goal_targets() -> Iterator[Any]:
        """HubSpot goal targets: one monthly bookings quota per owner (hs_target_amount, account currency)."""
        yield from crm_objects(GOAL_TARGETS, goal_targets_contract())

    @dlt.resource(
        name="owners",
        primary_key="id",
        write_disposition="merge",
        columns={"updated_at": {"data_type": "timestamp", "dedup_sort": "desc"}},
    )
    def owners() -> Iterator[Any]:
        """CRM owners (sales reps) with their teams (primary team = territory); archived owners flagged."""
        api = client("owners")
        for archived in ("false", "true"):
            yield from pages(
                api, f"{API}/owners", params={"limit": LIST_PAGE_SIZE, "archived": archived}, data_selector="results"
            )

    # nesting 2: a stage's metadata (isClosed, probability) flattens into columns of deal_pipelines__stages
    @dlt.resource(name="deal_pipelines", primary_key="id", write_disposition="replace", max_table_nesting=2)
    def deal_pipelines() -> Iterator[Any]:
        """Deal pipelines with their stages (order, closed flag, win probability); replaced on every load."""
        yield from pages(client("deal_pipelines"), f"{API}/pipelines/deals", data_selector="results")

    return deals, contacts, companies, goal_targets, owners, deal_pipelines
