"""HubSpot CRM v3: limits, the objects and properties read, the rate-limit buckets and their headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ingestion.http.pacing import Reading

API = "crm/v3"
LIST_PAGE_SIZE = 100  # list endpoints: limit ≤ 100
HISTORY_PAGE_SIZE = 50  # ... but at most 50 records come back when propertiesWithHistory is asked
SEARCH_PAGE_SIZE = 200  # search: limit ≤ 200
SEARCH_MAX_RESULTS = 10_000  # search: after + limit may not pass 10,000
CURSOR_KEY = "max_modified_at"  # resource state key (the deals' former list-only cursor is not reused)

DEAL_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
)
DEAL_PROPERTIES = (
    "dealname",
    "amount",
    "deal_currency_code",
    "dealstage",
    "pipeline",
    "closedate",
    "createdate",
    "hs_lastmodifieddate",
    "hubspot_owner_id",
    "hs_is_closed_won",
    *(f"hs_date_entered_{s}" for s in DEAL_STAGES),
    "hs_is_closed",
    "hs_is_closed_lost",
    "hs_deal_stage_probability",
    "hs_forecast_category",
    "hubspot_owner_assigneddate",
    "days_to_close",
    "num_associated_contacts",
    *(f"hs_date_exited_{s}" for s in DEAL_STAGES),
)
# propertiesWithHistory -> the nested table (of deals) that holds the property's history
# (amount, closedate and forecast category histories rebuild any past month's pipeline as it was then)
DEAL_HISTORY = {
    "dealstage": "stage_history",
    "hubspot_owner_id": "owner_history",
    "amount": "amount_history",
    "closedate": "closedate_history",
    "hs_forecast_category": "forecast_category_history",
}
DEAL_ASSOCIATIONS = ("companies", "contacts")


@dataclass(frozen=True)
class CrmObject:
    name: str  # as in the path, and the resource/table name
    modified: str  # the last-modified property searches filter and sort on
    properties: tuple[str, ...]
    timestamps: tuple[str, ...]  # datetime properties among them

    def columns(self) -> dict[str, Any]:
        """Declared columns: every property exists (typed) even before a record sets it, and when one
        record arrives twice in a load, the latest ``updatedAt`` is kept."""
        cols: dict[str, Any] = {
            f"properties__{p}": {"data_type": "timestamp" if p in self.timestamps else "text", "nullable": True}
            for p in self.properties
        }
        cols["archived_at"] = {"data_type": "timestamp", "nullable": True}
        cols["updated_at"] = {"data_type": "timestamp", "dedup_sort": "desc"}
        return cols


DEALS = CrmObject(
    "deals",
    "hs_lastmodifieddate",
    DEAL_PROPERTIES,
    (
        "closedate",
        "createdate",
        "hs_lastmodifieddate",
        "hubspot_owner_assigneddate",
        *(f"hs_date_entered_{s}" for s in DEAL_STAGES),
        *(f"hs_date_exited_{s}" for s in DEAL_STAGES),
    ),
)
CONTACTS = CrmObject(
    "contacts",
    "lastmodifieddate",
    (
        "email",
        "firstname",
        "lastname",
        "phone",
        "jobtitle",
        "company",
        "associatedcompanyid",
        "hubspot_owner_id",
        "lifecyclestage",
        "createdate",
        "lastmodifieddate",
        "hs_object_id",
    ),
    ("createdate", "lastmodifieddate"),
)
COMPANIES = CrmObject(
    "companies",
    "hs_lastmodifieddate",
    (
        "name",
        "domain",
        "industry",
        "city",
        "state",
        "country",
        "numberofemployees",
        "phone",
        "hubspot_owner_id",
        "lifecyclestage",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ),
    ("createdate", "hs_lastmodifieddate"),
)
GOAL_TARGETS = CrmObject(
    "goal_targets",
    "hs_lastmodifieddate",
    (
        "hs_goal_name",
        "hs_target_amount",
        "hs_start_datetime",
        "hs_end_datetime",
        "hubspot_owner_id",
        "hs_assignee_user_id",
        "hs_created_by_user_id",
        "hs_goal_target_group_id",
        "hs_group_correlation_uuid",
        "hs_createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ),
    ("hs_start_datetime", "hs_end_datetime", "hs_createdate", "hs_lastmodifieddate"),
)

# one pacer per HubSpot bucket: the API bucket (100 per rolling 10 s for a private app, with headers) and
# the search bucket (5 per rolling second, no headers: paced below it after a 429)
API_BUCKET = (100, 10.0)
SEARCH_BUCKET = (5, 4.0)
# dlt nested tables (child tables) the warehouse reads
NESTED_TABLES = (
    "owners__teams",
    "deals__stage_history",
    "deals__owner_history",
    "deals__amount_history",
    "deals__closedate_history",
    "deals__forecast_category_history",
    "deals__companies",
    "deals__contacts",
    "deal_pipelines__stages",
)


def rate_limit_reading(headers: Mapping[str, str]) -> Reading:
    """``X-HubSpot-RateLimit-Max`` requests per ``X-HubSpot-RateLimit-Interval-Milliseconds``."""
    try:
        capacity = float(headers["X-HubSpot-RateLimit-Max"])
        interval_s = float(headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", 10_000)) / 1000
        remaining = headers.get("X-HubSpot-RateLimit-Remaining")
    except (KeyError, ValueError):
        return None, None, None
    return capacity, capacity / interval_s, float(remaining) if remaining is not None else None
