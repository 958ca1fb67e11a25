"""A client of Shopify's GraphQL Admin API on the shared HTTP layer: cost-paced queries, THROTTLED retries, clear
errors, and paged reading with every nested connection drained.

- Pacing: before a query the client waits until the app's bucket (as the last ``extensions.cost.throttleStatus``
  reported it, restored at its ``restoreRate`` since) holds the query's requested cost (as that query last
  requested). A ``THROTTLED`` answer waits for the missing points and retries; so do 429s and 5xx (the session).
- ``MAX_COST_EXCEEDED``: a paged query whose requested cost is over the single-query limit is retried with half
  the page size (the limit is on requested cost, which grows with ``first``).
- Errors Shopify reports in the body (HTTP 200 ``errors``, or ``userErrors`` of a mutation) raise
  :class:`ShopifyGraphQLError` naming the operation and quoting Shopify's message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import requests

from ingestion.http.pacing import CostPacer
from ingestion.http.progress import Progress
from ingestion.http.session import IngestionHTTPError, ResilientSession
from ingestion.sources.shopify.queries import CONNECTION_OF_TYPE, ROOTS, Selection, drain_query, page_query

log = logging.getLogger("salesdw.ingestion")
THROTTLE_RETRIES = 20
DRAIN_PAGE = 50  # nodes per query when draining a connection (halved while over the cost limit)


class ShopifyGraphQLError(IngestionHTTPError):
    """Shopify answered with GraphQL errors (or a mutation's userErrors) that retrying cannot fix."""

    def __init__(self, message: str, codes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.codes = codes


class AdminGraphQL:
    def __init__(
        self, shop_url: str, version: str, auth: requests.auth.AuthBase, pacer: CostPacer | None = None
    ) -> None:
        self.url = f"{shop_url.rstrip('/')}/admin/api/{version}/graphql.json"
        self.session = ResilientSession("shopify", "graphql")
        self.session.auth = auth
        self.pacer = pacer or CostPacer()
        self._requested: dict[str, float] = {}  # what each query text last requested
        self.stats = {"queries": 0, "throttled": 0, "points": 0.0}

    def query(self, text: str, variables: dict[str, Any] | None = None, *, what: str = "query") -> dict[str, Any]:
        """``data`` of ``text`` with ``variables``; waits for the bucket, retries THROTTLED."""
        for _ in range(THROTTLE_RETRIES):
            self.pacer.wait(self._requested.get(text, 10.0))
            self.stats["queries"] += 1
            response = self.session.post(self.url, json={"query": text, "variables": variables or {}})
            try:
                body = response.json()
            except ValueError as exc:  # the session retried malformed bodies already: this is a real problem
                raise IngestionHTTPError(f"shopify/{what}: the answer was not JSON: {response.text[:200]}") from exc
            cost = (body.get("extensions") or {}).get("cost") or {}
            self.pacer.observe(cost.get("throttleStatus"))
            if cost.get("requestedQueryCost") is not None:
                self._requested[text] = float(cost["requestedQueryCost"])
            if cost.get("actualQueryCost") is not None:
                self.stats["points"] += float(cost["actualQueryCost"])
            errors = body.get("errors")
            if errors:
                codes = (
                    tuple(str((e.get("extensions") or {}).get("code", "")) for e in errors if isinstance(e, dict))
                    if isinstance(errors, list)
                    else ()
                )
                if "THROTTLED" in codes:
                    self.stats["throttled"] += 1
                    status = cost.get("throttleStatus") or {}
                    need = float(cost.get("requestedQueryCost") or 0) - float(status.get("currentlyAvailable") or 0)
                    time.sleep(max(0.05, need / float(status.get("restoreRate") or 50.0)))
                    continue
                messages = [
                    e.get("message", str(e)) if isinstance(e, dict) else str(e)
                    for e in (errors if isinstance(errors, list) else [errors])
                ]
                raise ShopifyGraphQLError(f"shopify/{what}: GraphQL errors: {'; '.join(messages)[:500]}", codes)
            data = body.get("data")
            if not isinstance(data, dict):
                raise ShopifyGraphQLError(f"shopify/{what}: the answer has no data: {str(body)[:200]}")
            return data
        raise ShopifyGraphQLError(f"shopify/{what}: still THROTTLED after {THROTTLE_RETRIES} waits", ("THROTTLED",))


def strip(node: dict[str, Any]) -> dict[str, Any]:
    node.pop("__typename", None)
    return node


def _flatten(client: AdminGraphQL, record: dict[str, Any], selection: Selection) -> dict[str, Any]:
    """A paged record in the loaded shape: each connection ``{pageInfo, nodes}`` drained into the list of its
    nodes (the pages past the first fetched through ``node(id:)``), lists of objects flattened the same way."""
    strip(record)
    for name, inner in selection.connections.items():
        conn = record.get(name) or {}
        nodes = [_flatten(client, n, inner) for n in conn.get("nodes") or []]
        info = conn.get("pageInfo") or {}
        after = info.get("endCursor")
        page = DRAIN_PAGE
        while info.get("hasNextPage"):
            try:
                data = client.query(
                    drain_query(selection.typename, name, inner, page),
                    {"id": record["id"], "after": after},
                    what=f"{selection.typename}.{name}",
                )
            except ShopifyGraphQLError as exc:
                if "MAX_COST_EXCEEDED" in exc.codes and page > 1:
                    page = max(1, page // 2)
                    continue
                raise
            page = (data.get("node") or {}).get(name) or {}
            nodes += [_flatten(client, n, inner) for n in page.get("nodes") or []]
            info = page.get("pageInfo") or {}
            after = info.get("endCursor")
        record[name] = nodes
    for name, inner in selection.lists.items():
        record[name] = [_flatten(client, item, inner) for item in record.get(name) or []]
    return record


def paged(
    client: AdminGraphQL, resource: str, search: str | None, page_size: int, inner_page: int
) -> Iterator[list[dict[str, Any]]]:
    """The resource's records matching ``search``, by update time, a page at a time, nested connections drained."""
    root, selection = ROOTS[resource]
    progress = Progress("shopify", f"{resource} (paged)")
    after: str | None = None
    size = page_size
    while True:
        try:
            data = client.query(
                page_query(resource, size, inner_page), {"first": size, "after": after, "query": search}, what=resource
            )
        except ShopifyGraphQLError as exc:
            if "MAX_COST_EXCEEDED" in exc.codes and size > 1:
                size = max(1, size // 2)
                inner_page = max(1, min(inner_page, size * 2))
                log.info("shopify/%s: query cost over the limit, page size now %d", resource, size)
                continue
            raise
        conn = data[root]
        records = [_flatten(client, node, selection) for node in conn.get("nodes") or []]
        progress.page(len(records))
        yield records
        info = conn.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            break
        after = info.get("endCursor")
    progress.done()


def count(client: AdminGraphQL, resource: str, search: str | None) -> int:
    root = ROOTS[resource][0]
    field_name = "abandonedCheckoutsCount" if root == "abandonedCheckouts" else f"{root}Count"
    data = client.query(
        f"query Count($query: String) {{ {field_name}(query: $query, limit: null) {{ count precision }} }}",
        {"query": search},
        what=f"{resource} count",
    )
    return int((data.get(field_name) or {}).get("count") or 0)


__all__ = ["CONNECTION_OF_TYPE", "AdminGraphQL", "ShopifyGraphQLError", "count", "paged", "strip"]
