"""Amazon SP-API source: orders with their order items into ``raw_amazon``, authenticated through LWA."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any, Iterator

import dlt
import requests
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from ingestion.client import pages, rest_client
from ingestion.contracts import Contract, amount_present, checked, currency_known, each, quantity_positive
from ingestion.http import IngestionHTTPError, ResilientSession
from ingestion.incremental import UpdateCursor, utc_iso
from ingestion.pacing import Pacer, amazon_reading

MARKETPLACES = ("ATVPDKIKX0DER", "A1F83G8C2ARO7P", "A1PA6795UKMFR9")  # US, UK, DE


def orders_contract() -> Contract:
    return Contract("amazon", "orders", "AmazonOrderId", checks=(
        currency_known("OrderTotal.CurrencyCode"),
        each("OrderItems", quantity_positive("QuantityOrdered"), amount_present("ItemPrice.Amount"),
             currency_known("ItemPrice.CurrencyCode")),
    ), integer_fields=("OrderItems.QuantityOrdered",))


class LwaAuth(requests.auth.AuthBase):
    """Login with Amazon: trades the refresh token for an access token and renews it before expiry."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, refresh_token: str) -> None:
        self.token_url, self.client_id = token_url, client_id
        self._client_secret, self._refresh_token = client_secret, refresh_token
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self._session = ResilientSession("amazon", "lwa-token")

    def _access_token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() > self._expires_at - 60:
                response = self._session.post(self.token_url, data={
                    "grant_type": "refresh_token", "refresh_token": self._refresh_token,
                    "client_id": self.client_id, "client_secret": self._client_secret})
                if not response.ok:  # the body names the problem; it never echoes the secrets
                    raise IngestionHTTPError(f"amazon/lwa-token: POST {self.token_url} -> HTTP "
                                             f"{response.status_code}: {response.text[:200]}")
                body = response.json()
                self._token, self._expires_at = body["access_token"], time.monotonic() + body["expires_in"]
            return self._token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["x-amz-access-token"] = self._access_token()
        return request


@dlt.source(name="amazon", max_table_nesting=2)
def amazon_source(
    endpoint: str = dlt.config.value,
    token_url: str = dlt.config.value,
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    refresh_token: str = dlt.secrets.value,
    marketplace_ids: tuple[str, ...] = MARKETPLACES,
    start_date: str = "2025-01-01T00:00:00Z",
    lookback_minutes: int = 60,
) -> Any:
    auth = LwaAuth(token_url, client_id, client_secret, refresh_token)
    # per-operation token buckets as SP-API publishes them (rate/s, burst)
    orders_client = rest_client("amazon", "orders", endpoint, auth=auth,
                                pacer=Pacer(capacity=20, refill_per_s=0.0167, read_headers=amazon_reading),
                                paginator=JSONResponseCursorPaginator(cursor_path="payload.NextToken",
                                                                      cursor_param="NextToken"))
    items_client = rest_client("amazon", "order_items", endpoint, auth=auth,
                               pacer=Pacer(capacity=30, refill_per_s=0.5, read_headers=amazon_reading))

    @dlt.resource(name="orders", primary_key="amazon_order_id", write_disposition="merge")
    def orders() -> Iterator[list[dict[str, Any]]]:
        """Orders changed in the window, each with its ``OrderItems`` (a nested table, replaced on merge)."""
        cursor = UpdateCursor(start_date, timedelta(minutes=lookback_minutes))
        contract = orders_contract()
        params = {"MarketplaceIds": ",".join(marketplace_ids), "LastUpdatedAfter": utc_iso(cursor.start),
                  "MaxResultsPerPage": 100}
        for page in pages(orders_client, "orders/v0/orders", params=params, data_selector="payload.Orders"):
            for order in page:
                cursor.observe(order["LastUpdateDate"])
                order["OrderItems"] = items_client.get(
                    f"orders/v0/orders/{order['AmazonOrderId']}/orderItems").json()["payload"]["OrderItems"]
            yield from checked(contract, page)
        cursor.commit()

    return orders
