"""HubSpot CRM v3 source: every CRM resource the warehouse reads, into ``raw_crm``.

Resources (tables), all merged on HubSpot's ``id`` unless said otherwise:

- ``deals``: every deal, archived (deleted) ones included and flagged ``archived`` with ``archived_at``;
  properties as ``properties__<name>`` (HubSpot sends strings). Nested tables, replaced with their deal on
  every merge: ``deals__stage_dates`` (one row per stage of its pipeline the deal entered: the calculated
  ``hs_v2_date_entered/exited_<stage id>``, requested for every stage of every pipeline that
  ``GET /crm/v3/pipelines/deals`` lists, lifted out of the properties),
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
  50 records per page when history is asked. The ids the search finds changed are read in batches
  (``POST /crm/v3/objects/deals/batch/read``, 100 per call, with history) and their associations with the
  v4 batch API (``POST /crm/v4/associations/deals/{companies,contacts}/batch/read``, 1,000 ids per call),
  unless paging the whole list is fewer requests (many changes): then the list is paged and filtered to the
  window like the first load. A first load always pages the list with history and inline associations:
  ⌈n/50⌉ requests, never more than ⌈n/100⌉ list pages + ⌈n/100⌉ batch reads + 2⌈n/1000⌉ association reads
  (``first_load_costs``). Either way every deal row carries its complete history and associations, so its
  nested rows are replaced whole. No deal is read by itself.
- Merges: a record that survived a merge carries ``hs_merged_object_ids``. ``deal_merges``,
  ``contact_merges`` and ``company_merges`` (dlt transformers of those resources, merged on ``id``) hold one
  row per merged-away id: ``merged_into_id`` the survivor. The merged-away record's own row stays in raw as
  last seen (traceable); staging leaves out every id in the merges table, so a merged group counts once.
- Extra properties: ``extra_properties`` (``sources.hubspot.extra_properties``, env
  ``SOURCES__HUBSPOT__EXTRA_PROPERTIES``; see ``parse_extra_properties``) adds custom properties per object
  to what is read; they land as ``properties__<name>`` (text) and staging passes them through.

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
    ASSOCIATIONS_BATCH_SIZE,
    BATCH_READ_SIZE,
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
    MERGED_IDS,
    NESTED_TABLES,
    SEARCH_BUCKET,
    SEARCH_MAX_RESULTS,
    SEARCH_PAGE_SIZE,
    STAGE_ENTERED,
    STAGE_EXITED,
    CrmObject,
    parse_extra_properties,
    rate_limit_reading,
)

__all__ = [
    "DEAL_PROPERTIES",
    "HISTORY_PAGE_SIZE",
    "NESTED_TABLES",
    "deal_row",
    "first_load_costs",
    "hubspot_source",
    "merged_rows",
    "search_modified",
]

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


ASSOCIATION_TYPE = {"companies": "deal_to_company", "contacts": "deal_to_contact"}


def batch_read(
    client: RESTClient, obj: str, ids: list[str], properties: Iterable[str], with_history: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """``POST /crm/v3/objects/{obj}/batch/read`` in calls of ``BATCH_READ_SIZE`` ids. An id merged away answers
    with the survivor (read once); ids gone since they were found (HTTP 207, OBJECT_NOT_FOUND) are left to the
    archived pass of the same run."""
    out: dict[str, dict[str, Any]] = {}
    body: dict[str, Any] = {"properties": list(properties), "propertiesWithHistory": list(with_history)}
    for i in range(0, len(ids), BATCH_READ_SIZE):
        chunk = ids[i : i + BATCH_READ_SIZE]
        data = client.post(f"{API}/objects/{obj}/batch/read", json={**body, "inputs": [{"id": x} for x in chunk]})
        for record in data.json().get("results") or []:
            out.setdefault(record["id"], record)
    return list(out.values())


def batch_associations(client: RESTClient, obj: str, to: str, ids: list[str]) -> dict[str, list[str]]:
    """``POST /crm/v4/associations/{obj}/{to}/batch/read``: id -> associated ids (ascending), every page of
    every id (``paging.next.after`` per id), ``ASSOCIATIONS_BATCH_SIZE`` inputs per call."""
    found: dict[str, list[str]] = {i: [] for i in ids}
    todo: list[dict[str, Any]] = [{"id": i} for i in ids]
    while todo:
        chunk, todo = todo[:ASSOCIATIONS_BATCH_SIZE], todo[ASSOCIATIONS_BATCH_SIZE:]
        data = client.post(f"crm/v4/associations/{obj}/{to}/batch/read", json={"inputs": chunk}).json()
        for result in data.get("results") or []:
            rid = str(result["from"]["id"])
            found.setdefault(rid, []).extend(str(t["toObjectId"]) for t in result.get("to") or [])
            after = ((result.get("paging") or {}).get("next") or {}).get("after")
            if after:
                todo.append({"id": rid, "after": after})
    return {k: sorted(set(v), key=int) for k, v in found.items()}


def first_load_costs(n: int) -> dict[str, int]:
    """Requests a first load of ``n`` deals takes each documented way: the list with history and inline
    associations (50 a page), or the list without history (100 a page) plus batch reads with history and
    v4 association reads of the ids it lists."""
    return {
        "list_with_history": math.ceil(n / HISTORY_PAGE_SIZE),
        "list_then_batch": 2 * math.ceil(n / BATCH_READ_SIZE)
        + len(DEAL_ASSOCIATIONS) * math.ceil(n / ASSOCIATIONS_BATCH_SIZE),
    }


def changed_costs(changed: int, total: int) -> dict[str, int]:
    """Requests left to read ``changed`` deals (the first search page read) among ``total``: the rest of the
    search, batch reads and v4 association reads; or a count and every list page with history."""
    return {
        "search_then_batch": math.ceil(changed / SEARCH_PAGE_SIZE)
        - 1
        + math.ceil(changed / BATCH_READ_SIZE)
        + len(DEAL_ASSOCIATIONS) * math.ceil(changed / ASSOCIATIONS_BATCH_SIZE),
        "list_with_history": 1 + math.ceil(total / HISTORY_PAGE_SIZE),
    }


def merged_rows(page: list[Any]) -> list[dict[str, Any]]:
    """A row per id merged into a record of ``page`` (its ``hs_merged_object_ids``): ``id`` the merged-away
    record, ``merged_into_id`` the survivor, ``survivor_updated_at`` when the survivor was last modified."""
    out = []
    for record in page:
        if not isinstance(record, dict) or not isinstance(record.get("properties"), dict):
            continue  # a quarantine row
        merged = record["properties"].get(MERGED_IDS) or ""
        for old in filter(None, (m.strip() for m in merged.split(";"))):
            if old != record["id"]:
                out.append({"id": old, "merged_into_id": record["id"], "survivor_updated_at": record["updatedAt"]})
    return out


def deal_row(record: dict[str, Any]) -> dict[str, Any]:
    """A deal as loaded: the record, with its property histories, stage dates and associations lifted into
    lists (nested tables ``deals__<DEAL_HISTORY table>``, ``deals__stage_dates``, ``deals__companies``,
    ``deals__contacts``); history and association entries stay as HubSpot sends them."""
    row = {k: v for k, v in record.items() if k not in ("propertiesWithHistory", "associations")}
    properties = dict(record.get("properties") or {})
    dates: dict[str, dict[str, Any]] = {}
    for name in list(properties):
        for prefix, column in ((STAGE_ENTERED, "entered_at"), (STAGE_EXITED, "exited_at")):
            if name.startswith(prefix):
                value = properties.pop(name)
                if value:
                    dates.setdefault(name.removeprefix(prefix), {})[column] = value
    row["properties"] = properties
    row["stage_dates"] = [
        {"stage_id": stage, "entered_at": d.get("entered_at"), "exited_at": d.get("exited_at")}
        for stage, d in sorted(dates.items())
    ]
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
    extra_properties: Any = None,
) -> Any:
    lookback = timedelta(minutes=lookback_minutes)
    extra = parse_extra_properties(extra_properties)
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

    pipelines_read: list[list[dict[str, Any]]] = []

    def read_pipelines() -> list[dict[str, Any]]:
        """``GET /crm/v3/pipelines/deals`` once per run: the deals resource (its stage ids) and deal_pipelines."""
        if not pipelines_read:
            api = client("deal_pipelines")
            found = [p for page in pages(api, f"{API}/pipelines/deals", data_selector="results") for p in page]
            pipelines_read.append(found)
        return pipelines_read[0]

    def crm_objects(obj: CrmObject, contract: Contract | None) -> Iterator[Any]:
        """Contacts, companies, goal targets: list (first load) or search, then the archived ones."""
        api, search = client(obj.name), search_client(obj.name)
        cursor = UpdateCursor(start_date, lookback, key=CURSOR_KEY)
        properties = (*obj.properties, *extra.get(obj.name, ()))
        params = {"limit": LIST_PAGE_SIZE, "properties": ",".join(properties)}
        if cursor.previous is None:
            live = list_pages(api, obj.name, {**params, "archived": "false"}, cursor.start)
        else:
            live = search_modified(search, obj.name, obj.modified, cursor.start, properties)
        archived = list_pages(api, obj.name, {**params, "archived": "true"}, cursor.start)
        yield from incremental_pages(cursor, chain(live, archived), changed_at, contract)

    # a history entry's value stays HubSpot's string (closedate values would otherwise be parsed as timestamps,
    # and a cleared date, "", would then split the column)
    @dlt.resource(
        name="deals",
        primary_key="id",
        write_disposition="merge",
        columns=DEALS.columns(extra.get("deals", ())),
        nested_hints={
            **{
                table: {"columns": {"value": {"name": "value", "data_type": "text", "nullable": True}}}
                for table in DEAL_HISTORY.values()
            },
            "stage_dates": {
                "columns": {
                    "stage_id": {"name": "stage_id", "data_type": "text", "nullable": False},
                    "entered_at": {"name": "entered_at", "data_type": "timestamp", "nullable": True},
                    "exited_at": {"name": "exited_at", "data_type": "timestamp", "nullable": True},
                }
            },
        },
    )
    def deals() -> Iterator[Any]:
        """HubSpot deals (archived ones flagged) with their histories, stage dates and associations."""
        api, search = client("deals"), search_client("deals")
        cursor = UpdateCursor(start_date, lookback, key=CURSOR_KEY)
        contract = deals_contract()
        pipelines = read_pipelines()
        stage_dates = [
            f"{prefix}{s['id']}" for p in pipelines for s in p["stages"] for prefix in (STAGE_ENTERED, STAGE_EXITED)
        ]
        properties = (*DEAL_PROPERTIES, *stage_dates, *extra.get("deals", ()))
        listed = {
            "properties": ",".join(properties),
            "propertiesWithHistory": ",".join(DEAL_HISTORY),
            "associations": ",".join(DEAL_ASSOCIATIONS),
            "limit": LIST_PAGE_SIZE,
        }

        def in_batches(hits: Iterable[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
            """The found ids read in batches (history) with their v4 associations, 1,000 ids at a time."""
            ids = list(dict.fromkeys(h["id"] for page in hits for h in page))
            for i in range(0, len(ids), ASSOCIATIONS_BATCH_SIZE):
                records = batch_read(api, "deals", ids[i : i + ASSOCIATIONS_BATCH_SIZE], properties, DEAL_HISTORY)
                live_ids = [r["id"] for r in records if not r.get("archived")]
                linked = {to: batch_associations(api, "deals", to, live_ids) for to in DEAL_ASSOCIATIONS}
                for r in records:
                    r["associations"] = {  # shaped as the list endpoint's inline associations
                        to: {"results": [{"id": x, "type": ASSOCIATION_TYPE[to]} for x in linked[to].get(r["id"], [])]}
                        for to in DEAL_ASSOCIATIONS
                    }
                yield records

        live: Iterable[list[dict[str, Any]]]
        if cursor.previous is None:  # first_load_costs: the list with history is never more requests
            live = list_pages(api, "deals", {**listed, "archived": "false"}, cursor.start)
        else:
            totals: list[int] = []
            hits = search_modified(search, "deals", DEALS.modified, cursor.start, [DEALS.modified], totals)
            first = next(hits, [])
            changed = totals[0] if totals else 0
            # the list costs at least a count and a page per 50 changed deals: count the whole only when needed
            batched = changed_costs(changed, changed)
            if batched["search_then_batch"] > batched["list_with_history"]:
                costs = changed_costs(changed, search_total(search, "deals", DEALS.modified))
            else:
                costs = batched
            if costs["list_with_history"] < costs["search_then_batch"]:
                hits.close()
                live = list_pages(api, "deals", {**listed, "archived": "false"}, cursor.start)
            else:
                live = in_batches(chain([first], hits))
        archived = list_pages(api, "deals", {**listed, "archived": "true"}, cursor.start)
        deal_rows = ([deal_row(r) for r in page] for page in chain(live, archived))
        yield from incremental_pages(cursor, deal_rows, changed_at, contract)

    @dlt.resource(
        name="contacts",
        primary_key="id",
        write_disposition="merge",
        columns=CONTACTS.columns(extra.get("contacts", ())),
    )
    def contacts() -> Iterator[Any]:
        """HubSpot contacts (PII: email, names, phone), archived ones flagged; primary company as a property."""
        yield from crm_objects(CONTACTS, None)

    @dlt.resource(
        name="companies",
        primary_key="id",
        write_disposition="merge",
        columns=COMPANIES.columns(extra.get("companies", ())),
    )
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
        yield read_pipelines()

    def merges(parent: Any, name: str) -> Any:
        """``<object>_merges``: one row per record merged away into a survivor of ``parent`` (fed by its pages)."""

        @dlt.transformer(
            name=name,
            data_from=parent,
            primary_key="id",
            write_disposition="merge",
            columns={
                "merged_into_id": {"data_type": "text", "nullable": False},
                "survivor_updated_at": {"data_type": "timestamp", "nullable": True, "dedup_sort": "desc"},
            },
        )
        def merged(page: Any) -> Iterator[Any]:
            rows = merged_rows(page if isinstance(page, list) else [page])
            if rows:
                yield rows

        return merged

    return (
        deals,
        contacts,
        companies,
        goal_targets,
        owners,
        deal_pipelines,
        merges(deals, "deal_merges"),
        merges(contacts, "contact_merges"),
        merges(companies, "company_merges"),
    )
