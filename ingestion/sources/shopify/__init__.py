"""Shopify source (GraphQL Admin API) into ``raw_shopify``: orders (line items, discount applications, shipping
lines, refunds with their refund line items, transactions, the session that placed them), customers, products
(variants with their inventory item's unit cost) and abandoned checkouts (line items, cart attributes).

How it reads (docs/architecture.md: "Shopify on GraphQL"):

- **Full loads** (a resource's first run, or a changed window larger than ``bulk_min_records``) run bulk query
  operations: orders split by creation time into ``order_windows`` operations of about equal size, abandoned
  checkouts into ``checkout_windows``, customers into ``customer_windows``, all resources' operations running at once up to the shop's limit of five; results are
  streamed from a file and re-assembled record by record (``bulk.py``).
- **Small incremental windows** page through ``orders(query: "updated_at:>=…")`` sorted by update time, with
  every nested connection drained past its first page (``graphql.py``), paced by the reported bucket.
- The cursor is the highest ``updatedAt`` seen, less ``lookback_minutes`` on the next run, committed with the load.
- **Credentials**: a Dev Dashboard app's ``client_id``/``client_secret`` (client-credentials grant, 24-hour tokens
  renewed before they expire and again on a 401), or, for stores connected before 2026, a legacy static
  ``access_token``.

Records are checked against their contracts on the way in (bad ones go to quarantine with the reason) and merged
on their global id. The former REST source is ``rest.py`` (one more release, for comparison; not read by dbt).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt

from ingestion.contracts import Contract
from ingestion.http.auth import ClientCredentialsAuth, StaticTokenAuth
from ingestion.http.pacing import CostPacer
from ingestion.http.session import ResilientSession
from ingestion.incremental import UpdateCursor, incremental_pages, parse_instant, utc_iso
from ingestion.sources.shopify import bulk as bulk_ops
from ingestion.sources.shopify.contracts import (
    graphql_checkouts_contract,
    graphql_customers_contract,
    graphql_orders_contract,
    graphql_products_contract,
)
from ingestion.sources.shopify.graphql import AdminGraphQL, count, paged
from ingestion.sources.shopify.queries import bulk_query
from ingestion.sources.shopify.settings import (
    GRAPHQL_API_VERSION,
    GRAPHQL_BUCKET,
    GRAPHQL_NESTED_TABLES,
    GRAPHQL_RESTORE_PER_S,
    MAX_CONCURRENT_BULK,
    TOKEN_PATH,
)

NESTED_TABLES = GRAPHQL_NESTED_TABLES
__all__ = ["NESTED_TABLES", "shopify_source"]


def _nullable(data_type: str, *names: str) -> dict[str, dict[str, Any]]:
    """Hints for fields the store may leave null in a whole load, so their columns exist, typed (fresh dicts)."""
    return {name: {"name": name, "data_type": data_type, "nullable": True} for name in names}


_VISIT = "customer_journey_summary__last_visit__"
ORDER_COLUMNS = {
    **_nullable("timestamp", "closed_at", "cancelled_at"),
    **_nullable("text", "cancel_reason", "email", "customer__id", "customer__legacy_resource_id"),
    **_nullable("text", *(f"{_VISIT}{f}" for f in ("landing_page", "referrer_url", "source"))),
    **_nullable("text", *(f"{_VISIT}utm_parameters__{f}" for f in ("source", "medium", "campaign", "content", "term"))),
}
CHECKOUT_COLUMNS = {
    **_nullable("timestamp", "completed_at"),
    **_nullable(
        "text", "customer__id", "customer__legacy_resource_id", "customer__default_email_address__email_address"
    ),
}


Window = tuple[datetime | None, datetime | None]


def _windows(bounds: list[datetime]) -> list[Window]:
    """Consecutive creation-time windows between ``bounds``, open at both ends: together they cover everything."""
    return list(zip([None, *bounds], [*bounds, None], strict=True))


def balanced_bounds(
    start: datetime, end: datetime, parts: int, created_before: Callable[[datetime], int]
) -> list[datetime]:
    """``parts - 1`` creation times splitting [start, end] into windows of about equal record counts: the count of
    records created before each of ``4 × parts`` evenly spaced instants, interpolated (a growing business has
    many more records in its last months than in its first)."""
    if parts <= 1 or end <= start:
        return []
    samples = 4 * parts
    points = [start + (end - start) * i / samples for i in range(samples + 1)]
    counts = [0, *(created_before(p) for p in points[1:-1]), created_before(end)]
    total = counts[-1]
    if total == 0:
        return [start + (end - start) * i / parts for i in range(1, parts)]
    bounds = []
    for k in range(1, parts):
        target = total * k / parts
        i = next(i for i in range(1, len(counts)) if counts[i] >= target)
        span = counts[i] - counts[i - 1]
        share = (target - counts[i - 1]) / span if span else 0.0
        bounds.append(points[i - 1] + (points[i] - points[i - 1]) * share)
    return bounds


def _search(updated_since: datetime | None, created: tuple[datetime | None, datetime | None], extra: str) -> str:
    terms = [extra] if extra else []
    if updated_since is not None:
        terms.append(f"updated_at:>='{utc_iso(updated_since)}'")
    if created[0] is not None:
        terms.append(f"created_at:>='{utc_iso(created[0])}'")
    if created[1] is not None:
        terms.append(f"created_at:<'{utc_iso(created[1])}'")
    return " ".join(terms)


@dlt.source(name="shopify", max_table_nesting=4)  # refunds > refund line items > money bags
def shopify_source(
    shop_url: str = dlt.config.value,
    client_id: str | None = dlt.config.value,
    client_secret: str | None = dlt.secrets.value,
    access_token: str | None = dlt.secrets.value,
    start_date: str = "2023-11-01T00:00:00Z",
    api_version: str = GRAPHQL_API_VERSION,
    lookback_minutes: int = 60,
    bulk_min_records: int = 250,
    order_windows: int = 10,
    checkout_windows: int = 8,
    customer_windows: int = 2,
    page_size: int = 50,
    nested_page_size: int = 10,
    poll_interval_s: float = 1.0,
    bulk_attempts: int = 3,
) -> Any:
    if client_id and client_secret:
        auth: Any = ClientCredentialsAuth(
            "shopify",
            f"{shop_url.rstrip('/')}{TOKEN_PATH}",
            client_id,
            client_secret,
            header="X-Shopify-Access-Token",
            prefix="",
        )
    elif access_token:
        auth = StaticTokenAuth("X-Shopify-Access-Token", access_token)
    else:
        raise ValueError(
            "shopify: set sources.shopify.client_id and client_secret (a Dev Dashboard app) or, for a store "
            "connected before 2026, sources.shopify.access_token"
        )
    client = AdminGraphQL(shop_url, api_version, auth, CostPacer(GRAPHQL_BUCKET, GRAPHQL_RESTORE_PER_S))
    slots = bulk_ops.BulkSlots(MAX_CONCURRENT_BULK if api_version >= "2026-01" else 1)
    downloads = ResilientSession("shopify", "bulk-result")
    lookback = timedelta(minutes=lookback_minutes)
    # resource -> (first-load lower bound on updated_at, creation-time windows of a full load, extra search terms)
    plans = {
        "orders": (start_date, order_windows, "status:any"),
        "customers": (None, customer_windows, ""),
        "products": (None, 1, ""),
        "abandoned_checkouts": (start_date, checkout_windows, ""),
    }
    # Read in full on every run: a variant's unit cost lives on its inventory item, and a cost change moves the
    # item's updatedAt, not the product's (Shopify's products search has no inventory-item filter). A shop has few
    # products (60 here: two pages), so this is cheaper than a second resource over inventoryItems(query:
    # "updated_at:>=..."); docs/costs.md.
    full_every_run = {"products"}
    board: dict[str, list[bulk_ops.BulkJob] | str] = {}  # resource -> its bulk jobs, or its paged search

    def plan_all() -> None:
        """Plan every resource's read when the first one starts, so that all the bulk operations of the run are
        submitted at once and run on Shopify side by side (up to the shop's limit), whichever resource dlt
        extracts first; each resource then waits for its own."""
        if board:
            return
        now = datetime.now(UTC)
        for resource, (first_load_since, windows, extra) in plans.items():
            cursor = UpdateCursor(first_load_since or start_date, lookback, resource=resource)
            since = cursor.start if (cursor.previous is not None or first_load_since is not None) else None
            if resource in full_every_run:
                since = None
            if cursor.previous is not None:
                search = _search(since, (None, None), extra)
                if count(client, resource, search) < bulk_min_records:
                    board[resource] = search
                    continue
                windows = 1
            created_from = parse_instant(start_date) if since is None else since
            bounds = balanced_bounds(
                created_from,
                now,
                windows,
                lambda at, r=resource, s=since, x=extra: count(client, r, _search(s, (None, at), x)),
            )
            board[resource] = [
                bulk_ops.BulkJob(
                    client,
                    slots,
                    bulk_query(resource, _search(since, window, extra)),
                    f"{resource}[{n + 1}/{windows}]" if windows > 1 else resource,
                    attempts=bulk_attempts,
                    poll_interval_s=poll_interval_s,
                )
                for n, window in enumerate(_windows(bounds))
            ]

    def bulk_jobs() -> list[bulk_ops.BulkJob]:
        return [job for jobs in board.values() if isinstance(jobs, list) for job in jobs]

    def read(resource: str, contract: Contract) -> Iterator[Any]:
        """The resource's records changed since the last run (less the lookback), bulk or paged, checked."""
        plan_all()
        first_load_since = plans[resource][0]
        cursor = UpdateCursor(first_load_since or start_date, lookback, resource=resource)
        planned = board[resource]
        if isinstance(planned, str):
            pages = paged(client, resource, planned, page_size, nested_page_size)
            yield from incremental_pages(cursor, pages, lambda r: r.get("updatedAt"), contract)
            return
        directory = tempfile.mkdtemp(prefix="salesdw-shopify-")
        try:
            pages = _bulk_pages(planned, downloads, directory)
            yield from incremental_pages(cursor, pages, lambda r: r.get("updatedAt"), contract)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def _bulk_pages(mine: list[bulk_ops.BulkJob], session: ResilientSession, directory: str) -> Iterator[list[Any]]:
        """Each of this resource's jobs' records once it completes. While waiting, every job of the run is polled
        (so the others start as slots free up) and an empty page hands the turn to dlt's other resources (dlt's
        round robin), so one resource's results are read while another's operations still run."""
        pending = list(mine)
        while pending:
            ready = None
            for job in bulk_jobs():
                done = job.poll()
                if done and job in pending and ready is None:
                    ready = job
            if ready is None:  # nothing of ours yet: an empty page lets dlt read the resources whose jobs are done
                time.sleep(poll_interval_s / 8)
                yield []
                continue
            pending.remove(ready)
            path = bulk_ops.download(ready, session, directory)
            if path is not None:
                yield from bulk_ops.records(path, ready.label, total=ready.root_count)
                os.unlink(path)

    @dlt.resource(
        name="orders",
        primary_key="id",
        write_disposition="merge",
        columns=ORDER_COLUMNS,
        nested_hints={"transactions": {"columns": _nullable("text", "parent_transaction__id")}},
    )
    def orders() -> Iterator[Any]:
        """Orders of every status since ``start_date``."""
        yield from read("orders", graphql_orders_contract())

    @dlt.resource(
        name="customers",
        primary_key="id",
        write_disposition="merge",
        columns=_nullable("text", "note", "last_order__id", "last_order__legacy_resource_id", "last_order__name"),
    )
    def customers() -> Iterator[Any]:
        """Customers (PII: email and names), all of them; updated with each change of their orders."""
        yield from read("customers", graphql_customers_contract())

    @dlt.resource(name="products", primary_key="id", write_disposition="merge")
    def products() -> Iterator[Any]:
        """Products, all of them on every run, with their variants and each variant's inventory item (unit cost and its
        updatedAt: a cost change does not move the product's updatedAt, docs/costs.md)."""
        yield from read("products", graphql_products_contract())

    @dlt.resource(
        name="abandoned_checkouts",
        primary_key="id",
        write_disposition="merge",
        columns=CHECKOUT_COLUMNS,
        nested_hints={"line_items": {"columns": _nullable("text", "variant_title")}},
    )
    def abandoned_checkouts() -> Iterator[Any]:
        """Abandoned checkouts since ``start_date``; PII (emails) stays in raw and staging hashes it."""
        yield from read("abandoned_checkouts", graphql_checkouts_contract())

    return orders, customers, products, abandoned_checkouts
