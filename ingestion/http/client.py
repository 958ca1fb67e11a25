"""A dlt ``RESTClient`` over the shared resilient session: the one way every source talks HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests.auth import AuthBase

from ingestion.http.progress import Progress
from ingestion.http.session import ResilientSession


def rest_client(
    source: str,
    resource: str,
    base_url: str,
    *,
    auth: AuthBase | None = None,
    headers: dict[str, str] | None = None,
    paginator: BasePaginator | None = None,
    **session_options: Any,
) -> RESTClient:
    session = ResilientSession(source, resource, **session_options)
    return RESTClient(
        base_url=base_url.rstrip("/") + "/",
        headers=headers,
        auth=auth,  # type: ignore[arg-type]
        paginator=paginator,
        session=session,
    )


def pages(client: RESTClient, path: str, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
    """``client.paginate`` with progress reporting (pages, rows, rows/s) for the client's source/resource."""
    session: ResilientSession = client.session  # type: ignore[assignment]
    progress = Progress(session.source, session.resource)
    for page in client.paginate(path, **kwargs):
        progress.page(len(page))
        yield list(page)
    progress.done()
