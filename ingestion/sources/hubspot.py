"""HubSpot CRM v3 source: deals (with stage entry dates) and owners into ``raw_crm``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterator

import dlt
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from ingestion.client import pages, rest_client
from ingestion.contracts import Contract, amount_present, checked, currency_known
from ingestion.incremental import UpdateCursor, parse_instant
from ingestion.pacing import Pacer, hubspot_reading

DEAL_STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
               "contractsent", "closedwon", "closedlost")
DEAL_PROPERTIES = ("dealname", "amount", "deal_currency_code", "dealstage", "pipeline", "closedate",
                   "createdate", "hs_lastmodifieddate", "hubspot_owner_id", "hs_is_closed_won",
                   *(f"hs_date_entered_{s}" for s in DEAL_STAGES))


def deals_contract() -> Contract:
    return Contract("hubspot", "deals", "id", checks=(
        currency_known("properties.deal_currency_code"),
        amount_present("properties.amount"),  # every deal of this business is priced; a booking needs it
    ))


@dlt.source(name="hubspot", max_table_nesting=1)
def hubspot_source(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    start_date: str = "2024-01-01T00:00:00Z",
    lookback_minutes: int = 60,
) -> Any:
    pacer = Pacer(capacity=100, refill_per_s=10.0, read_headers=hubspot_reading)  # one bucket per account

    def client(resource: str):
        return rest_client("hubspot", resource, base_url, auth=BearerTokenAuth(access_token), pacer=pacer,
                           paginator=JSONResponseCursorPaginator(cursor_path="paging.next.after",
                                                                 cursor_param="after"))

    @dlt.resource(name="deals", primary_key="id", write_disposition="merge")
    def deals() -> Iterator[list[dict[str, Any]]]:
        # The list endpoint has no update filter: page through all, keep what changed in the window.
        cursor = UpdateCursor(start_date, timedelta(minutes=lookback_minutes))
        contract = deals_contract()
        # Live deals, then archived (deleted) ones: an archived deal arrives flagged `archived`, so a
        # deletion in the CRM reaches the warehouse instead of leaving a stale live row behind.
        for archived in ("false", "true"):
            params = {"limit": 100, "archived": archived, "properties": ",".join(DEAL_PROPERTIES)}
            for page in pages(client("deals"), "crm/v3/objects/deals", params=params, data_selector="results"):
                changed = [d for d in page if parse_instant(d["updatedAt"]) >= cursor.start]
                for deal in changed:
                    cursor.observe(deal["updatedAt"])
                yield from checked(contract, changed)
        cursor.commit()

    @dlt.resource(name="owners", primary_key="id", write_disposition="merge")
    def owners() -> Iterator[list[dict[str, Any]]]:
        yield from pages(client("owners"), "crm/v3/owners", params={"limit": 100}, data_selector="results")

    return deals, owners
