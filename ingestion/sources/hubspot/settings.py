"""HubSpot CRM v3: limits, the objects and properties read, the rate-limit buckets and their headers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ingestion.http.pacing import Reading

API = "crm/v3"
LIST_PAGE_SIZE = 100  # list endpoints: limit ≤ 100
HISTORY_PAGE_SIZE = 50  # ... but at most 50 records come back when propertiesWithHistory is asked
SEARCH_PAGE_SIZE = 200  # search: limit ≤ 200
SEARCH_MAX_RESULTS = 10_000  # search: after + limit may not pass 10,000
BATCH_READ_SIZE = 100  # POST /crm/v3/objects/{obj}/batch/read: ≤ 100 inputs (with propertiesWithHistory too)
ASSOCIATIONS_BATCH_SIZE = 1_000  # POST /crm/v4/associations/{from}/{to}/batch/read: ≤ 1,000 inputs
CURSOR_KEY = "max_modified_at"  # resource state key (the deals' former list-only cursor is not reused)

# The calculated stage dates, per stage of every pipeline (the stage ids come from GET /crm/v3/pipelines/deals):
# when the deal last entered / exited the stage. Lifted out of the properties into deals__stage_dates.
STAGE_ENTERED = "hs_v2_date_entered_"
STAGE_EXITED = "hs_v2_date_exited_"
MERGED_IDS = "hs_merged_object_ids"  # a survivor's merged-away record ids, semicolon-separated
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
    "hs_is_closed",
    "hs_is_closed_lost",
    "hs_deal_stage_probability",
    "hs_forecast_category",
    "hubspot_owner_assigneddate",
    "days_to_close",
    "num_associated_contacts",
    MERGED_IDS,
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

    def columns(self, extra: tuple[str, ...] = ()) -> dict[str, Any]:
        """Declared columns: every property exists (typed) even before a record sets it (the extra, custom
        ones as text), and when one record arrives twice in a load, the latest ``updatedAt`` is kept."""
        cols: dict[str, Any] = {
            f"properties__{p}": {"data_type": "timestamp" if p in self.timestamps else "text", "nullable": True}
            for p in (*self.properties, *extra)
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
        MERGED_IDS,
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
        MERGED_IDS,
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
    "deals__stage_dates",
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


def parse_extra_properties(value: Any) -> dict[str, tuple[str, ...]]:
    """``sources.hubspot.extra_properties``: the custom properties to read per object, beyond the standard ones.
    A mapping ``{"deals": ["a", "b"], "contacts": ["c"]}`` (TOML table, or JSON in the env var
    ``SOURCES__HUBSPOT__EXTRA_PROPERTIES``) or the short form ``"deals:a,b;contacts:c"``."""
    if value in (None, "", {}):
        return {}
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            value = json.loads(text)
        else:
            value = {}
            for part in filter(None, (p.strip() for p in text.split(";"))):
                obj, _, names = part.partition(":")
                value[obj.strip()] = [n for n in names.split(",")]
    if not isinstance(value, Mapping):
        raise ValueError(f"sources.hubspot.extra_properties: expected a mapping of object -> names, got {value!r}")
    out: dict[str, tuple[str, ...]] = {}
    for obj, names in value.items():
        if obj not in ("deals", "contacts", "companies"):
            raise ValueError(f"sources.hubspot.extra_properties: unknown object {obj!r} (deals, contacts, companies)")
        listed = names.split(",") if isinstance(names, str) else list(names)
        out[obj] = tuple(dict.fromkeys(n.strip() for n in listed if n and n.strip()))
    return out
