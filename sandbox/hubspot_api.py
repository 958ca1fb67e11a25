"""HubSpot CRM v3 (docs/architecture.md: API contracts), as the public docs describe it, served from the CRM part of the world.

- ``GET /crm/v3/objects/{deals|contacts|companies|goal_targets}`` (object type ids ``0-3``/``0-1``/``0-2``/
  ``0-74`` too): ``limit`` 1..100 (default 10; at most 50 are returned when ``propertiesWithHistory`` is
  asked), ``after``, ``properties``, ``propertiesWithHistory``, ``associations``, ``archived``.
  Records come in ascending id order; ``paging.next.after`` is the next record's id; no ``paging`` on the
  last page. ``archived=true`` lists only the archived (deleted) records, with ``archivedAt``.
- ``GET /crm/v3/objects/{obj}/{id}`` (``idProperty``, ``archived`` and the same property options). An id merged
  away into another record answers with the survivor (its own id); the survivor has ``hs_merged_object_ids``.
- ``POST /crm/v3/objects/{obj}/batch/read``: ``inputs`` [{id}] ≤ 100 (with ``propertiesWithHistory`` too: the docs
  lower only the list endpoint's page), ``properties`` and ``propertiesWithHistory`` (required), ``idProperty``,
  ``archived``; ``{"status", "results", "startedAt", "completedAt"}``, HTTP 207 with ``numErrors``/``errors``
  (``OBJECT_NOT_FOUND``, ``context.ids``) for ids found nowhere.
- ``POST /crm/v4/associations/{from}/{to}/batch/read``: ``inputs`` [{id, after?}] ≤ 1,000; per id ``from``, ``to``
  [{toObjectId, associationTypes}], ``paging.next.after`` past ``ASSOCIATIONS_PAGE_SIZE``.
- ``POST /crm/v3/objects/{obj}/search``: ``filterGroups`` (OR of ANDs; ≤ 5 groups, ≤ 6 filters each,
  ≤ 18 in all), operators EQ NEQ LT LTE GT GTE BETWEEN IN NOT_IN HAS_PROPERTY NOT_HAS_PROPERTY
  CONTAINS_TOKEN NOT_CONTAINS_TOKEN, datetime values as epoch millis or ISO-8601; ``sorts``; ``query``;
  ``properties``; ``limit`` ≤ 200 (default 10); ``after`` (an offset). Response ``{"total", "results",
  "paging": {"next": {"after"}}}``; archived records are never found; ``after + limit`` past 10,000 is a
  400, as HubSpot refuses to page beyond 10,000 results. Own rate-limit bucket (5 requests/s, policy
  ``SECONDLY``) and no ``X-HubSpot-RateLimit-*`` headers, like the real search endpoints.
- ``GET /crm/v3/owners`` (``limit`` ≤ 500, ``after``, ``email``, ``archived``) and ``/crm/v3/owners/{id}``:
  ``teams`` = the owner's territory (primary team) and, for everyone with a manager, the manager's team
  (secondary; the sandbox numbers a manager's team with the manager's owner id).
- ``GET /crm/v3/pipelines/deals[/{id}[/stages]]``: the ``default`` pipeline (7 named stages) and Renewals
  (numeric pipeline and stage ids).
- ``GET /crm/v3/properties/{obj}[/{name}]``: property definitions (type, fieldType, options...): the stage dates
  ``hs_v2_date_entered/exited_<stage id>`` (and the legacy ``hs_date_*``) of every stage of every pipeline, and
  the portal's custom properties (``hubspotDefined: false``).
- ``GET /properties/v2/{obj}/properties`` (legacy): the same definitions as a bare JSON list, v2-shaped.
- ``GET /crm/v3/schemas``: custom object schemas (none in this portal: ``{"results": []}``).
- Standard object types every portal has (``products``, ``line_items``, ``tickets``, ``quotes``... see
  ``STANDARD_TYPES``) are accepted as ``associations`` (none are returned) and list as empty.
- List-valued parameters (``properties``, ``propertiesWithHistory``, ``associations``) may be repeated
  (``properties=a&properties=b``, as HubSpot documents them) or comma-separated, or both.
- Unknown paths: HubSpot's error body (404, ``OBJECT_NOT_FOUND``) with ``X-HubSpot-Correlation-Id``.
- Goal targets: one per quota-carrying owner and month, ``hs_target_amount`` in USD,
  ``hs_start_datetime``/``hs_end_datetime`` the month, ``hubspot_owner_id`` the owner and
  ``hs_assignee_user_id`` the owner's user id.

Errors use HubSpot's body ``{"status": "error", "message", "correlationId", "category"}``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import fnmatch
import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlencode

from sandbox.crm_world import (
    CLOSED_STAGES,
    CONTACT_CHANNELS,
    CONTRACT_TERMS,
    LOST_STAGES,
    PIPELINES,
    PIPELINES_BY_ID,
    QUOTA_GOAL_NAME,
    STAGE_PROBABILITY,
    Change,
    Company,
    Contact,
    CrmWorld,
    Deal,
    GoalTarget,
    Owner,
)
from sandbox.protocol import Request, Response, iso_z, route
from sandbox.sim import TERRITORIES
from sandbox.world import World

DEMO_ACCESS_TOKEN = "pat-sandbox-demo-token"
LIST_MAX_LIMIT = 100
HISTORY_MAX_LIMIT = 50  # "usage of propertiesWithHistory reduces the maximum number of objects per request"
BATCH_MAX_INPUTS = 100  # batch read: at most 100 inputs (propertiesWithHistory does not lower it in the docs)
ASSOCIATIONS_BATCH_MAX_INPUTS = 1_000  # v4 associations batch read: at most 1,000 ids per request
ASSOCIATIONS_PAGE_SIZE = 500  # v4: associations of one record per page (then paging.next.after for that id)
SEARCH_MAX_LIMIT = 200
SEARCH_MAX_RESULTS = 10_000
OWNERS_MAX_LIMIT = 500
PIPELINE_CREATED = datetime(2024, 11, 1, 9, 0, tzinfo=UTC)


# --- property definitions ---


class Prop(NamedTuple):
    name: str
    label: str
    type: str  # string | number | datetime | enumeration | bool
    field_type: str
    group: str
    options: tuple[tuple[str, str], ...] = ()
    calculated: bool = False
    custom: bool = False  # defined by the portal (hubspotDefined: false)


def _enum(*values: str) -> tuple[tuple[str, str], ...]:
    return tuple((v, v.replace("_", " ").title()) for v in values)


def _calculated_flag(name: str, label: str) -> Prop:
    """A boolean deal property HubSpot calculates (``hs_is_closed``, ...), with its true/false options."""
    return Prop(
        name,
        label,
        "bool",
        "booleancheckbox",
        "dealinformation",
        (("true", "True"), ("false", "False")),
        calculated=True,
    )


def _lifecycle_stage(group: str) -> Prop:
    """``lifecyclestage``, the same enumeration on contacts and companies."""
    return Prop(
        "lifecyclestage",
        "Lifecycle Stage",
        "enumeration",
        "radio",
        group,
        _enum("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"),
    )


_STAGE_PROBABILITY = STAGE_PROBABILITY


def _stage_date_props(prefix: str, verb: str) -> tuple[Prop, ...]:
    """One calculated datetime per stage of every pipeline: ``{prefix}<stage id>``."""
    return tuple(
        Prop(
            f"{prefix}{s}",
            f'Date {verb} "{label} ({p.label})"',
            "datetime",
            "calculation_equation",
            "dealstages",
            calculated=True,
        )
        for p in PIPELINES
        for s, label, _ in p.stages
    )


_MERGED_IDS = "hs_merged_object_ids"


def _merged_prop(group: str) -> Prop:
    return Prop(_MERGED_IDS, "Merged record IDs", "enumeration", "checkbox", group, calculated=True)


DEAL_PROPS = (
    Prop("amount", "Amount", "number", "number", "dealinformation"),
    Prop("closedate", "Close Date", "datetime", "date", "dealinformation"),
    Prop("createdate", "Create Date", "datetime", "date", "dealinformation"),
    Prop("days_to_close", "Days to close", "number", "calculation_equation", "dealinformation", calculated=True),
    Prop(
        "deal_currency_code", "Currency", "enumeration", "select", "dealinformation", _enum("EUR", "GBP", "USD", "CAD")
    ),
    Prop("dealname", "Deal Name", "string", "text", "dealinformation"),
    Prop(
        "dealstage",
        "Deal Stage",
        "enumeration",
        "radio",
        "dealinformation",
        tuple((s, label) for p in PIPELINES for s, label, _ in p.stages),
    ),
    Prop("hs_deal_stage_probability", "Deal probability", "number", "number", "dealinformation", calculated=True),
    Prop(
        "hs_forecast_category",
        "Forecast category",
        "enumeration",
        "select",
        "dealinformation",
        (
            ("OMIT", "Not forecasted"),
            ("PIPELINE", "Pipeline"),
            ("BEST_CASE", "Best case"),
            ("COMMIT", "Commit"),
            ("CLOSED", "Closed won"),
        ),
    ),
    _calculated_flag("hs_is_closed", "Is Deal Closed?"),
    _calculated_flag("hs_is_closed_lost", "Is closed lost"),
    _calculated_flag("hs_is_closed_won", "Is Closed Won"),
    Prop("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "dealinformation", calculated=True),
    Prop("hs_object_id", "Record ID", "number", "number", "dealinformation", calculated=True),
    Prop("hubspot_owner_assigneddate", "Owner assigned date", "datetime", "date", "dealinformation", calculated=True),
    Prop("hubspot_owner_id", "Deal owner", "enumeration", "select", "dealinformation"),
    Prop(
        "num_associated_contacts",
        "Number of Associated Contacts",
        "number",
        "number",
        "dealinformation",
        calculated=True,
    ),
    Prop(
        "pipeline",
        "Pipeline",
        "enumeration",
        "select",
        "dealinformation",
        tuple((p.pipeline_id, p.label) for p in PIPELINES),
    ),
    _merged_prop("dealinformation"),
    # legacy stage dates, and the current (v2) calculated ones, for every stage of every pipeline
    *_stage_date_props("hs_date_entered_", "entered"),
    *_stage_date_props("hs_date_exited_", "exited"),
    *_stage_date_props("hs_v2_date_entered_", "entered"),
    *_stage_date_props("hs_v2_date_exited_", "exited"),
    # custom properties the company added
    Prop(
        "partner_referral",
        "Partner referral",
        "bool",
        "booleancheckbox",
        "dealinformation",
        (("true", "Yes"), ("false", "No")),
        custom=True,
    ),
    Prop(
        "contract_term_months",
        "Contract term (months)",
        "number",
        "select",
        "dealinformation",
        tuple((str(t), f"{t} months") for t in CONTRACT_TERMS),
        custom=True,
    ),
)
CONTACT_PROPS = (
    Prop("associatedcompanyid", "Primary Associated Company ID", "number", "number", "contactinformation"),
    Prop("company", "Company Name", "string", "text", "contactinformation"),
    Prop("createdate", "Create Date", "datetime", "date", "contactinformation"),
    Prop("email", "Email", "string", "text", "contactinformation"),
    Prop("firstname", "First Name", "string", "text", "contactinformation"),
    Prop("hs_object_id", "Record ID", "number", "number", "contactinformation", calculated=True),
    Prop("hubspot_owner_id", "Contact owner", "enumeration", "select", "contactinformation"),
    Prop("jobtitle", "Job Title", "string", "text", "contactinformation"),
    Prop("lastmodifieddate", "Last Modified Date", "datetime", "date", "contactinformation", calculated=True),
    Prop("lastname", "Last Name", "string", "text", "contactinformation"),
    _lifecycle_stage("contactinformation"),
    Prop("phone", "Phone Number", "string", "phonenumber", "contactinformation"),
    _merged_prop("contactinformation"),
    Prop(
        "preferred_channel",
        "Preferred channel",
        "enumeration",
        "select",
        "contactinformation",
        _enum(*CONTACT_CHANNELS),
        custom=True,
    ),
)
COMPANY_PROPS = (
    Prop("city", "City", "string", "text", "companyinformation"),
    Prop("country", "Country/Region", "string", "text", "companyinformation"),
    Prop("createdate", "Create Date", "datetime", "date", "companyinformation"),
    Prop("domain", "Company Domain Name", "string", "text", "companyinformation"),
    Prop("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "companyinformation", calculated=True),
    Prop("hs_object_id", "Record ID", "number", "number", "companyinformation", calculated=True),
    Prop("hubspot_owner_id", "Company owner", "enumeration", "select", "companyinformation"),
    Prop(
        "industry",
        "Industry",
        "enumeration",
        "select",
        "companyinformation",
        _enum("RESTAURANTS", "HOSPITALITY", "FOOD_BEVERAGES", "FOOD_PRODUCTION", "WHOLESALE"),
    ),
    _lifecycle_stage("companyinformation"),
    Prop("name", "Name", "string", "text", "companyinformation"),
    Prop("numberofemployees", "Number of Employees", "number", "number", "companyinformation"),
    Prop("phone", "Phone Number", "string", "phonenumber", "companyinformation"),
    Prop("state", "State/Region", "string", "text", "companyinformation"),
    _merged_prop("companyinformation"),
)
GOAL_PROPS = (
    Prop("hs_assignee_user_id", "Assignee user ID", "number", "number", "goal_target_information"),
    Prop("hs_created_by_user_id", "Created by user ID", "number", "number", "goal_target_information"),
    Prop("hs_createdate", "Create Date", "datetime", "date", "goal_target_information"),
    Prop("hs_end_datetime", "End date", "datetime", "date", "goal_target_information"),
    Prop("hs_goal_name", "Goal name", "string", "text", "goal_target_information"),
    Prop("hs_goal_target_group_id", "Goal target group ID", "number", "number", "goal_target_information"),
    Prop("hs_group_correlation_uuid", "Group correlation UUID", "string", "text", "goal_target_information"),
    Prop("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "goal_target_information", calculated=True),
    Prop("hs_object_id", "Record ID", "number", "number", "goal_target_information", calculated=True),
    Prop("hs_start_datetime", "Start date", "datetime", "date", "goal_target_information"),
    Prop("hs_target_amount", "Target amount", "number", "number", "goal_target_information"),
    Prop("hubspot_owner_id", "Owner", "enumeration", "select", "goal_target_information"),
)


@dataclass(frozen=True)
class ObjectType:
    name: str  # plural, as in the path
    singular: str
    type_id: str
    props: tuple[Prop, ...]
    defaults: tuple[str, ...]  # returned when no ``properties`` are asked
    always: tuple[str, ...]  # returned whatever ``properties`` are asked
    modified: str  # the last-modified property searches filter on
    searchable: tuple[str, ...]  # what a search ``query`` looks in
    associable: tuple[str, ...]

    @property
    def defs(self) -> dict[str, Prop]:
        return {p.name: p for p in self.props}


OBJECTS = {
    "deals": ObjectType(
        "deals",
        "deal",
        "0-3",
        DEAL_PROPS,
        (
            "amount",
            "closedate",
            "createdate",
            "dealname",
            "dealstage",
            "hs_lastmodifieddate",
            "hs_object_id",
            "pipeline",
        ),
        ("createdate", "hs_lastmodifieddate", "hs_object_id"),
        "hs_lastmodifieddate",
        ("dealname",),
        ("companies", "contacts"),
    ),
    "contacts": ObjectType(
        "contacts",
        "contact",
        "0-1",
        CONTACT_PROPS,
        ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
        ("createdate", "hs_object_id", "lastmodifieddate"),
        "lastmodifieddate",
        ("firstname", "lastname", "email", "phone", "company"),
        ("companies", "deals"),
    ),
    "companies": ObjectType(
        "companies",
        "company",
        "0-2",
        COMPANY_PROPS,
        ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
        ("createdate", "hs_lastmodifieddate", "hs_object_id"),
        "hs_lastmodifieddate",
        ("name", "domain", "phone"),
        ("contacts", "deals"),
    ),
    "goal_targets": ObjectType(
        "goal_targets",
        "goal_target",
        "0-74",
        GOAL_PROPS,
        ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
        ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
        "hs_lastmodifieddate",
        ("hs_goal_name",),
        (),
    ),
}
_ALIASES = {
    **{o.name: o.name for o in OBJECTS.values()},
    **{o.singular: o.name for o in OBJECTS.values()},
    **{o.type_id: o.name for o in OBJECTS.values()},
    "goals": "goal_targets",
}


# Standard object types every portal has, with their type ids: the sandbox's portal holds none of them, so
# lists of them are empty and associations to them return none (the real API accepts them all).
STANDARD_TYPES = {
    "products": ("product", "0-7"),
    "line_items": ("line_item", "0-8"),
    "tickets": ("ticket", "0-5"),
    "quotes": ("quote", "0-14"),
    "calls": ("call", "0-48"),
    "emails": ("email", "0-49"),
    "meetings": ("meeting", "0-47"),
    "notes": ("note", "0-46"),
    "tasks": ("task", "0-27"),
    "communications": ("communication", "0-18"),
    "postal_mail": ("postal_mail", "0-116"),
    "feedback_submissions": ("feedback_submission", "0-19"),
    "invoices": ("invoice", "0-53"),
    "orders": ("order", "0-123"),
    "carts": ("cart", "0-142"),
    "payments": ("payment", "0-101"),
    "subscriptions": ("subscription", "0-69"),
    "leads": ("lead", "0-136"),
    "appointments": ("appointment", "0-421"),
    "courses": ("course", "0-410"),
    "listings": ("listing", "0-420"),
    "services": ("service", "0-162"),
    "users": ("user", "0-115"),
    "discounts": ("discount", "0-84"),
    "fees": ("fee", "0-85"),
    "taxes": ("tax", "0-86"),
}
_STANDARD_ALIASES = {
    **{name: name for name in STANDARD_TYPES},
    **{singular: name for name, (singular, _) in STANDARD_TYPES.items()},
    **{type_id: name for name, (_, type_id) in STANDARD_TYPES.items()},
}


def object_type(name: str) -> ObjectType | None:
    key = _ALIASES.get(name.lower())
    return OBJECTS[key] if key else None


def standard_type(name: str) -> str | None:
    """The plural name of a standard object type the sandbox's portal has no records of (None: not one)."""
    return _STANDARD_ALIASES.get(name.lower())


# --- rendering the world's records as HubSpot records ---


def fmt(value: Any) -> str | None:
    """A property value as HubSpot writes it: always a string (or null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_z(value, millis=True)
    return str(value)


@dataclass(eq=False)
class Rec:
    id: str
    props: dict[str, str | None]
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    history: Callable[[str], list[Change]]  # a property's changes, oldest first

    @property
    def int_id(self) -> int:
        return int(self.id)


def _deal_rec(d: Deal) -> Rec:
    closed = d.closed_at
    entered: dict[str, datetime] = {}
    exited: dict[str, datetime] = {}
    for i, (stage, at) in enumerate(d.stage_history):
        entered[stage] = at
        exited.pop(stage, None)
        if i + 1 < len(d.stage_history):
            exited[stage] = d.stage_history[i + 1][1]
    props: dict[str, Any] = {
        "amount": d.amount,
        "closedate": d.closedate,  # the rep's expected close date while open, the close time once closed
        "createdate": d.created_at,
        "dealname": d.name,
        "dealstage": d.stage,
        "deal_currency_code": d.currency,
        "hs_lastmodifieddate": d.updated_at,
        "hs_object_id": d.deal_id,
        "hs_is_closed": closed is not None,
        "hs_is_closed_won": d.is_won,
        "hs_is_closed_lost": d.stage in LOST_STAGES,
        "hubspot_owner_id": d.owner_id,
        "hubspot_owner_assigneddate": d.owner_history[-1][1] if d.owner_history else d.created_at,
        "hs_deal_stage_probability": _STAGE_PROBABILITY[d.stage],
        "hs_forecast_category": d.forecast_category,
        "pipeline": d.pipeline,
        "num_associated_contacts": len(d.contact_ids),
        "days_to_close": (closed - d.created_at).days if closed else None,
        **{f"hs_date_entered_{s}": at for s, at in entered.items()},
        **{f"hs_date_exited_{s}": at for s, at in exited.items()},
        **{f"hs_v2_date_entered_{s}": at for s, at in entered.items()},
        **{f"hs_v2_date_exited_{s}": at for s, at in exited.items()},
        _MERGED_IDS: d.merged_object_ids,
        **d.custom,
    }

    def history(name: str) -> list[Change]:
        return [c for c in d.changes if c.name == name]

    return Rec(d.deal_id, {k: fmt(v) for k, v in props.items()}, d.created_at, d.updated_at, d.archived_at, history)


def _record_rec(r: Company | Contact, rid: str, modified: str) -> Rec:
    props = {k: fmt(v) for k, v in r.values.items()}
    props.update({"hs_object_id": rid, modified: fmt(r.updated_at)})
    return Rec(rid, props, r.created_at, r.updated_at, None, r.history)


def _goal_rec(g: GoalTarget, seed_uuid: str) -> Rec:
    props = {
        "hs_assignee_user_id": g.user_id,
        "hs_created_by_user_id": g.user_id,
        "hs_createdate": g.created_at,
        "hs_end_datetime": g.end,
        "hs_goal_name": QUOTA_GOAL_NAME,
        "hs_goal_target_group_id": 5_000_000 + g.user_id,
        "hs_group_correlation_uuid": seed_uuid,
        "hs_lastmodifieddate": g.updated_at,
        "hs_object_id": g.goal_id,
        "hs_start_datetime": g.start,
        "hs_target_amount": g.amount_usd,
        "hubspot_owner_id": g.owner_id,
    }
    return Rec(g.goal_id, {k: fmt(v) for k, v in props.items()}, g.created_at, g.updated_at, None, lambda name: [])


@dataclass(eq=False)
class Index:
    """Per-world lookups, built lazily per object type: records in id order, associations, sort keys."""

    crm: CrmWorld
    _built: dict[str, tuple[list[Rec], list[int], list[Rec], list[int], dict[str, Rec]]] = field(default_factory=dict)
    _keys: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _assoc: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)
    searches: OrderedDict = field(default_factory=OrderedDict)  # search -> matching ids, most recent last
    lock: threading.RLock = field(default_factory=threading.RLock)  # the server is threaded

    def _build(self, obj: str) -> tuple[list[Rec], list[int], list[Rec], list[int], dict[str, Rec]]:
        with self.lock:
            return self._build_locked(obj)

    def _build_locked(self, obj: str) -> tuple[list[Rec], list[int], list[Rec], list[int], dict[str, Rec]]:
        if obj not in self._built:
            crm = self.crm
            if obj == "deals":
                recs = [_deal_rec(d) for d in crm.deals]
            elif obj == "contacts":
                recs = [_record_rec(c, c.contact_id, "lastmodifieddate") for c in crm.contacts]
            elif obj == "companies":
                recs = [_record_rec(c, c.company_id, "hs_lastmodifieddate") for c in crm.companies]
            else:
                group = str(uuid.UUID(hashlib.md5(f"goals:{crm.owners[0].owner_id}".encode()).hexdigest()))
                recs = [_goal_rec(g, group) for g in crm.goal_targets]
            recs.sort(key=lambda r: r.int_id)
            active = [r for r in recs if r.archived_at is None]
            archived = [r for r in recs if r.archived_at is not None]
            self._built[obj] = (
                active,
                [r.int_id for r in active],
                archived,
                [r.int_id for r in archived],
                {r.id: r for r in recs},
            )
        return self._built[obj]

    def records(self, obj: str, archived: bool = False) -> tuple[list[Rec], list[int]]:
        active, active_ids, gone, gone_ids, _ = self._build(obj)
        return (gone, gone_ids) if archived else (active, active_ids)

    def get(self, obj: str, rid: str) -> Rec | None:
        return self._build(obj)[4].get(rid)

    def resolve(self, obj: str, rid: str) -> Rec | None:
        """The record an id reads as: itself, or for an id merged away, the surviving record."""
        rec = self.get(obj, rid)
        if rec is None:
            merges = self.crm.deal_merges if obj == "deals" else self.crm.contact_merges if obj == "contacts" else {}
            survivor = merges.get(rid)
            rec = self.get(obj, survivor) if survivor else None
        return rec

    def sort_keys(self, obj: str, prop: Prop) -> dict[str, Any]:
        """Each record's typed value of ``prop`` (None when unset), for filters and sorts."""
        key = (obj, prop.name)
        with self.lock:
            return self._sort_keys_locked(obj, prop, key)

    def _sort_keys_locked(self, obj: str, prop: Prop, key: tuple[str, str]) -> dict[str, Any]:
        if key not in self._keys:
            active = self.records(obj)[0]
            self._keys[key] = {r.id: _typed(prop, r.props.get(prop.name)) for r in active}
        return self._keys[key]

    def associations(self, obj: str, to: str) -> dict[str, list[str]]:
        """id -> associated ids of type ``to`` (archived deals have no associations left)."""
        key = (obj, to)
        with self.lock:
            return self._associations_locked(obj, to, key)

    def _associations_locked(self, obj: str, to: str, key: tuple[str, str]) -> dict[str, list[str]]:
        if key not in self._assoc:
            crm = self.crm
            deals = [d for d in crm.deals if not d.is_archived]
            pairs: list[tuple[str, str]] = []  # (deal/contact/company id, other id) in the (obj, to) direction
            if {obj, to} == {"deals", "companies"}:
                pairs = [(d.deal_id, d.company_id) for d in deals if d.company_id]
            elif {obj, to} == {"deals", "contacts"}:
                pairs = [(d.deal_id, c) for d in deals for c in d.contact_ids]
            elif {obj, to} == {"contacts", "companies"}:
                pairs = [(c.contact_id, c.company_id) for c in crm.contacts if c.company_id]
            first = "deals" if "deals" in (obj, to) else "contacts"
            out: dict[str, list[str]] = {}
            for a, b in pairs:
                src, dst = (a, b) if obj == first else (b, a)
                out.setdefault(src, []).append(dst)
            self._assoc[key] = {k: sorted(set(v), key=int) for k, v in out.items()}
        return self._assoc[key]


@lru_cache(maxsize=4)
def index_of(crm: CrmWorld) -> Index:
    """The API's indexes of one world (``world.crm`` is rebuilt when the world advances)."""
    return Index(crm)


def _typed(prop: Prop, text: str | None) -> Any:
    if text is None:
        return None
    if prop.type == "datetime":
        return _millis(text)
    if prop.type == "number":
        return Decimal(text)
    return text.lower()


def _millis(text: str) -> int:
    """Epoch milliseconds from millis digits, an ISO-8601 datetime or a date (UTC midnight)."""
    text = str(text).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def _history_entry(c: Change) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": fmt(c.value) or "", "timestamp": iso_z(c.at, millis=True)}
    if c.user_id is not None:
        entry.update({"sourceType": "CRM_UI", "sourceId": f"userId:{c.user_id}", "updatedByUserId": c.user_id})
    else:
        entry["sourceType"] = "AUTOMATION_PLATFORM"
    return entry


def _property_history(rec: Rec, spec: ObjectType, name: str) -> list[dict[str, Any]]:
    """Newest first. Properties without tracked changes show their current value, set at creation."""
    changes = rec.history(name)
    if changes:
        return [_history_entry(c) for c in reversed(changes)]
    value = rec.props.get(name)
    if value is None:
        return []
    at = rec.updated_at if name == spec.modified else rec.created_at
    return [{"value": value, "timestamp": iso_z(at, millis=True), "sourceType": "CALCULATED"}]


def render(
    rec: Rec,
    spec: ObjectType,
    idx: Index,
    properties: list[str] | None,
    with_history: list[str] | None = None,
    associations: list[str] | None = None,
) -> dict[str, Any]:
    defs = spec.defs
    wanted = spec.defaults if properties is None else sorted({p for p in properties if p in defs} | set(spec.always))
    out: dict[str, Any] = {"id": rec.id, "properties": {k: rec.props.get(k) for k in sorted(wanted)}}
    if with_history:
        out["propertiesWithHistory"] = {p: _property_history(rec, spec, p) for p in with_history if p in defs}
    out["createdAt"] = iso_z(rec.created_at, millis=True)
    out["updatedAt"] = iso_z(rec.updated_at, millis=True)
    out["archived"] = rec.archived_at is not None
    if rec.archived_at is not None:
        out["archivedAt"] = iso_z(rec.archived_at, millis=True)
    if associations:
        linked: dict[str, Any] = {}
        for to in associations:
            ids = idx.associations(spec.name, to).get(rec.id) if rec.archived_at is None else None
            if ids:
                kind = f"{spec.singular}_to_{OBJECTS[to].singular}"
                linked[to] = {"results": [{"id": i, "type": kind} for i in ids]}
        if linked:
            out["associations"] = linked
    return out


# --- errors and request parsing ---


class ApiError(Exception):
    def __init__(self, message: str, status: int = 400, category: str = "VALIDATION_ERROR") -> None:
        super().__init__(message)
        self.status, self.category, self.message = status, category, message


def correlation_id(*parts: object) -> str:
    """Deterministic (same request, same world: same bytes) but shaped like HubSpot's UUIDs."""
    return str(uuid.UUID(hashlib.md5("|".join(map(str, parts)).encode()).hexdigest()))


def error(status: int, category: str, message: str, req: Request | None = None) -> Response:
    cid = correlation_id(req.method, req.path, sorted(req.query.items()), req.body) if req else correlation_id(message)
    return Response(status, {"status": "error", "message": message, "correlationId": cid, "category": category})


def _handles(fn: Callable[..., Response]) -> Callable[..., Response]:
    def wrapper(req: Request, world: World, **groups: str) -> Response:
        try:
            return fn(req, world, **groups)
        except ApiError as exc:
            return error(exc.status, exc.category, exc.message, req)

    wrapper.__name__ = fn.__name__
    return wrapper


def _spec(obj: str) -> ObjectType:
    spec = object_type(obj)
    if spec is None:
        raise ApiError(f"Unable to infer object type from: {obj}")
    return spec


def _names(req: Request, name: str) -> list[str] | None:
    """A list-valued parameter: HubSpot documents them repeated (``properties=a&properties=b``, OpenAPI
    ``explode: true``) and accepts comma-separated values too (``properties=a,b``); both, mixed, work here."""
    return req.values(name) or None


def _next_link(req: Request, nxt: str) -> str:
    """``paging.next.link``: the request's own parameters (repeats kept) with the next ``after``."""
    params = [(k, v) for k, v in req.all_pairs() if k != "after"] + [("after", nxt)]
    return f"{req.base_url}{req.path}?{urlencode(params)}"


def _limit(raw: Any, default: int, maximum: int, minimum: int = 1) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ApiError(f"Invalid value for limit: {raw!r}; must be an integer") from None
    if not minimum <= value <= maximum:
        raise ApiError(f"limit must be between {minimum} and {maximum}, got {value}")
    return value


def _associations(spec: ObjectType, names: list[str] | None) -> list[str] | None:
    if names is None:
        return None
    out = []
    for name in names:
        other = object_type(name)
        if other is None:
            if standard_type(name) is None:
                raise ApiError(f"Unable to infer object type from: {name}")
            continue  # a standard type with no records in this portal: no associations to return
        if other.name in spec.associable and other.name not in out:
            out.append(other.name)
    return out


def _is_true(raw: str | None) -> bool:
    return (raw or "false").strip().lower() == "true"


# --- objects: list, read ---


@_handles
def list_objects(req: Request, world: World, obj: str) -> Response:
    q = req.query
    if object_type(obj) is None and standard_type(obj) is not None:
        _limit(q.get("limit"), 10, LIST_MAX_LIMIT)
        return Response(200, {"results": []})
    spec = _spec(obj)
    limit = _limit(q.get("limit"), 10, LIST_MAX_LIMIT)
    with_history = _names(req, "propertiesWithHistory")
    if with_history:
        limit = min(limit, HISTORY_MAX_LIMIT)
    associations = _associations(spec, _names(req, "associations"))
    raw_after = q.get("after")
    try:
        after = int(raw_after) if raw_after not in (None, "") else 0
    except ValueError:
        raise ApiError(f"Invalid after value: {raw_after}") from None
    idx = index_of(world.crm)
    recs, ids = idx.records(spec.name, archived=_is_true(q.get("archived")))
    start = bisect.bisect_left(ids, after)
    page = recs[start : start + limit]
    properties = _names(req, "properties")
    body: dict[str, Any] = {"results": [render(r, spec, idx, properties, with_history, associations) for r in page]}
    if start + limit < len(recs):
        nxt = recs[start + limit].id
        body["paging"] = {"next": {"after": nxt, "link": _next_link(req, nxt)}}
    return Response(200, body)


@_handles
def read_object(req: Request, world: World, obj: str, object_id: str) -> Response:
    spec = _spec(obj)
    q = req.query
    idx = index_of(world.crm)
    archived = _is_true(q.get("archived"))
    id_property = q.get("idProperty")
    rec: Rec | None = None
    if id_property and id_property != "hs_object_id":
        if id_property not in spec.defs:
            raise ApiError(f"Property {id_property} does not exist for {spec.name}")
        wanted = object_id.strip().lower()
        pool = idx.records(spec.name, archived)[0]
        rec = next((r for r in pool if (r.props.get(id_property) or "").strip().lower() == wanted), None)
    else:
        rec = idx.resolve(spec.name, object_id)  # a merged-away id answers with the surviving record
        if rec is not None and (rec.archived_at is not None) != archived:
            rec = None
    if rec is None:
        raise ApiError("resource not found", 404, "OBJECT_NOT_FOUND")
    return Response(
        200,
        render(
            rec,
            spec,
            idx,
            _names(req, "properties"),
            _names(req, "propertiesWithHistory"),
            _associations(spec, _names(req, "associations")),
        ),
    )


# --- objects: search ---

OPERATORS = (
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
)


class _Filter(NamedTuple):
    prop: Prop
    op: str
    value: Any
    high: Any
    values: tuple[Any, ...]
    pattern: str | None


def _filter_value(prop: Prop, raw: Any, what: str) -> Any:
    if raw is None:
        raise ApiError(f"Filter on {prop.name} with this operator needs a {what}")
    try:
        return _typed(prop, str(raw))
    except (ValueError, InvalidOperation):
        raise ApiError(f"Invalid {what} {raw!r} for property {prop.name} of type {prop.type}") from None


def _parse_filter(spec: ObjectType, raw: Any) -> _Filter:
    if not isinstance(raw, dict):
        raise ApiError("Invalid input JSON: each filter must be an object")
    name, op = raw.get("propertyName"), raw.get("operator")
    if op not in OPERATORS:
        raise ApiError(
            f'Invalid input JSON: Cannot deserialize value of type `FilterOperator` from String "{op}": '
            f"not one of the values accepted for Enum class: [{', '.join(OPERATORS)}]"
        )
    prop = spec.defs.get(name or "")
    if prop is None:
        raise ApiError(f"There was a problem with the request: property {name!r} does not exist on {spec.name}")
    value = high = None
    values: tuple[Any, ...] = ()
    pattern = None
    if op in ("EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN"):
        value = _filter_value(prop, raw.get("value"), "value")
    if op == "BETWEEN":
        high = _filter_value(prop, raw.get("highValue"), "highValue")
    if op in ("IN", "NOT_IN"):
        listed = raw.get("values")
        if not isinstance(listed, list) or not listed:
            raise ApiError(f"Operator {op} on {name} needs a non-empty 'values' list")
        values = tuple(_filter_value(prop, v, "value") for v in listed)
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = str(raw.get("value", "")).lower()
    return _Filter(prop, op, value, high, values, pattern)


def _matches(f: _Filter, v: Any) -> bool:
    op = f.op
    if op == "HAS_PROPERTY":
        return v is not None
    if op == "NOT_HAS_PROPERTY":
        return v is None
    if op == "NEQ":
        return v != f.value
    if op == "NOT_IN":
        return v not in f.values
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        found = v is not None and any(fnmatch.fnmatchcase(t, f.pattern or "") for t in [str(v), *str(v).split()])
        return found if op == "CONTAINS_TOKEN" else not found
    if v is None:
        return False
    if op == "EQ":
        return v == f.value
    if op == "IN":
        return v in f.values
    if op == "LT":
        return v < f.value
    if op == "LTE":
        return v <= f.value
    if op == "GT":
        return v > f.value
    if op == "GTE":
        return v >= f.value
    return f.value <= v <= f.high  # BETWEEN, inclusive


def _parse_sorts(spec: ObjectType, raw: Any) -> list[tuple[Prop, bool]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError("Invalid input JSON: 'sorts' must be a list")
    out = []
    for item in raw:
        if isinstance(item, str):
            name, direction = item, "ASCENDING"
        elif isinstance(item, dict):
            name, direction = item.get("propertyName"), item.get("direction", "ASCENDING")
        else:
            raise ApiError("Invalid input JSON: a sort is a property name or {propertyName, direction}")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise ApiError(
                f'Invalid input JSON: Cannot deserialize value of type `Direction` from String "{direction}"'
            )
        prop = spec.defs.get(name or "")
        if prop is None:
            raise ApiError(f"There was a problem with the request: cannot sort by unknown property {name!r}")
        out.append((prop, direction == "DESCENDING"))
    return out


def _search_ids(
    idx: Index, spec: ObjectType, groups: list[list[_Filter]], sorts: list[tuple[Prop, bool]], query: str | None
) -> list[str]:
    recs = idx.records(spec.name)[0]
    if groups:
        keys = {f.prop.name: idx.sort_keys(spec.name, f.prop) for g in groups for f in g}
        recs = [r for r in recs if any(all(_matches(f, keys[f.prop.name][r.id]) for f in g) for g in groups)]
    if query:
        needle = query.strip().lower()
        recs = [
            r for r in recs if any(needle in (r.props.get(p) or "").lower() for p in spec.searchable) or r.id == needle
        ]
    ordered = sorted(recs, key=lambda r: r.int_id)  # ties (and no sort at all): ascending id
    for prop, descending in reversed(sorts):  # stable sorts, least significant first; unset values last
        keys = idx.sort_keys(spec.name, prop)
        present = [r for r in ordered if keys[r.id] is not None]
        missing = [r for r in ordered if keys[r.id] is None]
        present.sort(key=lambda r: keys[r.id], reverse=descending)
        if descending:  # keep ascending ids among equal values
            present = _stable_desc(present, keys)
        ordered = present + missing
    return [r.id for r in ordered]


def _stable_desc(recs: list[Rec], keys: dict[str, Any]) -> list[Rec]:
    out: list[Rec] = []
    i = 0
    while i < len(recs):
        j = i
        while j < len(recs) and keys[recs[j].id] == keys[recs[i].id]:
            j += 1
        out.extend(sorted(recs[i:j], key=lambda r: r.int_id))
        i = j
    return out


@_handles
def search_objects(req: Request, world: World, obj: str) -> Response:
    spec = _spec(obj)
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(f"Invalid input JSON on line 1: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError("Invalid input JSON: the search request must be an object")
    limit = _limit(body.get("limit"), 10, SEARCH_MAX_LIMIT)
    raw_after = body.get("after") or 0
    try:
        after = int(raw_after)
        if after < 0:
            raise ValueError
    except (TypeError, ValueError):
        raise ApiError(f"Invalid after value: {raw_after}") from None
    if after + limit > SEARCH_MAX_RESULTS:
        raise ApiError(
            f"Search results are limited to {SEARCH_MAX_RESULTS} records; cannot page beyond "
            f"{SEARCH_MAX_RESULTS} results (after={after}, limit={limit})"
        )
    raw_groups = body.get("filterGroups") or []
    if not isinstance(raw_groups, list) or len(raw_groups) > 5:
        raise ApiError("There may be at most 5 filterGroups")
    groups: list[list[_Filter]] = []
    for g in raw_groups:
        filters = g.get("filters", []) if isinstance(g, dict) else None
        if not isinstance(filters, list) or len(filters) > 6:
            raise ApiError("A filterGroup has a list of at most 6 filters")
        groups.append([_parse_filter(spec, f) for f in filters])
    if sum(len(g) for g in groups) > 18:
        raise ApiError("There may be at most 18 filters in all filterGroups")
    groups = [g for g in groups if g]
    sorts = _parse_sorts(spec, body.get("sorts"))
    query = body.get("query")
    properties = body.get("properties")
    if properties is not None and not isinstance(properties, list):
        raise ApiError("Invalid input JSON: 'properties' must be a list of property names")

    idx = index_of(world.crm)
    cache_key = json.dumps([spec.name, body.get("filterGroups"), body.get("sorts"), query], sort_keys=True, default=str)
    with idx.lock:
        ids = idx.searches.get(cache_key)
        if ids is None:  # a client pages through the same search: compute it once
            ids = _search_ids(idx, spec, groups, sorts, query)
            idx.searches[cache_key] = ids
            while len(idx.searches) > 64:
                idx.searches.popitem(last=False)
        else:
            idx.searches.move_to_end(cache_key)
    page = [idx.get(spec.name, i) for i in ids[after : after + limit]]
    out: dict[str, Any] = {
        "total": len(ids),
        "results": [
            render(r, spec, idx, [str(p) for p in properties] if properties else None) for r in page if r is not None
        ],
    }
    if after + limit < len(ids):
        out["paging"] = {"next": {"after": str(after + limit)}}
    return Response(200, out)


# --- objects: batch read, v4 associations ---


def _json_body(req: Request) -> dict[str, Any]:
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(f"Invalid input JSON on line 1: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError("Invalid input JSON: the request body must be an object")
    return body


def _input_ids(body: dict[str, Any], maximum: int) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) and i.get("id") is not None for i in inputs):
        raise ApiError("Invalid input JSON: 'inputs' must be a list of {\"id\": ...}")
    if len(inputs) > maximum:
        raise ApiError(f"Batch input is limited to {maximum} inputs; {len(inputs)} were given")
    return inputs


def _str_list(body: dict[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list):
        raise ApiError(f"Invalid input JSON: '{name}' must be a list of property names")
    return [str(v) for v in value]


def _batch_errors(status_at: str, results: list[Any], missing: list[str], message: str) -> Response:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": status_at, "completedAt": status_at}
    if not missing:
        return Response(200, body)
    body["errors"] = [  # one error per category, naming every id it concerns (numErrors counts errors)
        {  # StandardError: every field the spec requires (errors, links) is there
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": message,
            "context": {"ids": missing},
            "errors": [],
            "links": {},
        }
    ]
    body["numErrors"] = len(body["errors"])
    return Response(207, body)


@_handles
def batch_read_objects(req: Request, world: World, obj: str) -> Response:
    """``POST /crm/v3/objects/{obj}/batch/read``: ``inputs`` [{id}] (≤ 100), ``properties`` and
    ``propertiesWithHistory`` (both required by the spec; empty lists allowed: no properties asked = the
    defaults), ``idProperty``; ``archived`` (query, or body). A merged-away id answers with the
    surviving record (its own id); ids found nowhere: HTTP 207 with ``numErrors``/``errors``."""
    spec = _spec(obj)
    body = _json_body(req)
    inputs = _input_ids(body, BATCH_MAX_INPUTS)
    for required in ("properties", "propertiesWithHistory"):  # BatchReadInputSimplePublicObjectId requires both
        if required not in body:
            raise ApiError(f"Invalid input JSON: missing required field '{required}' (a list, may be empty)")
    properties, with_history = _str_list(body, "properties") or None, _str_list(body, "propertiesWithHistory")
    archived = _is_true(req.query.get("archived")) or body.get("archived") is True
    id_property = body.get("idProperty")
    if id_property and id_property != "hs_object_id" and id_property not in spec.defs:
        raise ApiError(f"Property {id_property} does not exist for {spec.name}")
    idx = index_of(world.crm)
    results: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for item in inputs:
        wanted = str(item["id"]).strip()
        if id_property and id_property != "hs_object_id":
            pool = idx.records(spec.name, archived)[0]
            key = wanted.lower()
            rec = next((r for r in pool if (r.props.get(id_property) or "").strip().lower() == key), None)
        else:
            rec = idx.resolve(spec.name, wanted)
            if rec is not None and (rec.archived_at is not None) != archived:
                rec = None
        if rec is None:
            missing.append(wanted)
        elif rec.id not in results:
            results[rec.id] = render(rec, spec, idx, properties, with_history)
    at = iso_z(world.config.now, millis=True)
    kind = spec.singular.upper()
    message = f"Could not get some {kind} objects, they may be deleted or not exist. Check that ids are valid."
    return _batch_errors(at, list(results.values()), missing, message)


# HubSpot-defined association types (v4): (from, to) -> [(typeId, label)], the unlabeled default first
ASSOCIATION_TYPES: dict[tuple[str, str], tuple[tuple[int, str | None], ...]] = {
    ("deals", "companies"): ((341, None), (5, "Primary")),
    ("deals", "contacts"): ((3, None),),
    ("contacts", "companies"): ((279, None), (1, "Primary")),
    ("contacts", "deals"): ((4, None),),
    ("companies", "contacts"): ((280, None), (2, "Primary")),
    ("companies", "deals"): ((342, None), (6, "Primary")),
}


def _after_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(token: Any) -> int:
    if token in (None, ""):
        return 0
    try:
        text = base64.urlsafe_b64decode(str(token).encode()).decode()
        return int(text.removeprefix("offset:"))
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ApiError(f"Invalid after token: {token}") from None


@_handles
def batch_read_associations(req: Request, world: World, from_obj: str, to_obj: str) -> Response:
    """``POST /crm/v4/associations/{from}/{to}/batch/read``: ``inputs`` [{id, after?}] (≤ 1,000); per id
    ``{"from": {"id"}, "to": [{"toObjectId", "associationTypes": [{category, typeId, label}]}]}`` with
    ``paging.next.after`` (for that id) past ``ASSOCIATIONS_PAGE_SIZE`` associations. Ids that do not exist:
    HTTP 207 with the errors. A record with no associations of the type gets an empty ``to`` list."""
    spec, other = _spec(from_obj), _spec(to_obj)
    body = _json_body(req)
    inputs = _input_ids(body, ASSOCIATIONS_BATCH_MAX_INPUTS)
    idx = index_of(world.crm)
    types = ASSOCIATION_TYPES.get((spec.name, other.name), ())
    results: list[dict[str, Any]] = []
    missing: list[str] = []
    for item in inputs:
        rid = str(item["id"]).strip()
        rec = idx.get(spec.name, rid)
        if rec is None:
            missing.append(rid)
            continue
        linked = [] if rec.archived_at is not None else idx.associations(spec.name, other.name).get(rec.id, [])
        start = _offset(item.get("after"))
        page = linked[start : start + ASSOCIATIONS_PAGE_SIZE]
        primary = spec.name == "deals" and other.name == "companies"  # a deal's one company is its primary one
        result: dict[str, Any] = {
            "from": {"id": rec.id},
            "to": [
                {
                    "toObjectId": to_id,
                    "associationTypes": [  # an unlabeled (default) type has no label
                        {"category": "HUBSPOT_DEFINED", "typeId": type_id, **({"label": label} if label else {})}
                        for type_id, label in types
                        if label is None or primary
                    ],
                }
                for to_id in page
            ],
        }
        if start + ASSOCIATIONS_PAGE_SIZE < len(linked):
            result["paging"] = {"next": {"after": _after_token(start + ASSOCIATIONS_PAGE_SIZE)}}
        results.append(result)
    at = iso_z(world.config.now, millis=True)
    message = f"Could not find some {spec.singular.upper()} objects: the ids may be deleted or not exist."
    return _batch_errors(at, results, missing, message)


# --- owners, pipelines, properties ---


def owner_json(o: Owner, owners: dict[str, Owner]) -> dict[str, Any]:
    teams = [{"id": territory_team_id(o.territory), "name": o.territory, "primary": True}]
    if o.manager_id is not None:
        manager = owners[o.manager_id]
        teams.append({"id": o.manager_id, "name": f"{manager.first_name} {manager.last_name}'s team", "primary": False})
    return {
        "id": o.owner_id,
        "email": o.email,
        "type": "PERSON",
        "firstName": o.first_name,
        "lastName": o.last_name,
        "userId": o.user_id,
        "userIdIncludingInactive": o.user_id,
        "createdAt": iso_z(o.created_at, millis=True),
        "updatedAt": iso_z(o.updated_at, millis=True),
        "archived": False,
        "teams": teams,
    }


def territory_team_id(territory: str) -> str:
    return str(41_000_001 + TERRITORIES.index(territory))


@_handles
def list_owners(req: Request, world: World) -> Response:
    q = req.query
    limit = _limit(q.get("limit"), 100, OWNERS_MAX_LIMIT)
    owners = [] if _is_true(q.get("archived")) else sorted(world.crm.owners, key=lambda o: int(o.owner_id))
    if q.get("email"):
        owners = [o for o in owners if o.email == q["email"].strip().lower()]
    raw_after = q.get("after")
    try:
        after = int(raw_after) if raw_after else 0
    except ValueError:
        raise ApiError(f"Invalid after value: {raw_after}") from None
    rest = [o for o in owners if int(o.owner_id) >= after]
    by_id = world.crm.owners_by_id
    body: dict[str, Any] = {"results": [owner_json(o, by_id) for o in rest[:limit]]}
    if len(rest) > limit:
        nxt = rest[limit].owner_id
        body["paging"] = {"next": {"after": nxt, "link": _next_link(req, nxt)}}
    return Response(200, body)


@_handles
def read_owner(req: Request, world: World, owner_id: str) -> Response:
    by_id = world.crm.owners_by_id
    if req.query.get("idProperty", "id") == "userId":
        owner = next((o for o in world.crm.owners if str(o.user_id) == owner_id), None)
    else:
        owner = by_id.get(owner_id)
    if owner is None or _is_true(req.query.get("archived")):
        raise ApiError("resource not found", 404, "OBJECT_NOT_FOUND")
    return Response(200, owner_json(owner, by_id))


def _stage_json(i: int, stage: str, label: str, probability: Decimal) -> dict[str, Any]:
    at = iso_z(PIPELINE_CREATED, millis=True)
    return {
        "label": label,
        "displayOrder": i,
        "metadata": {"isClosed": "true" if stage in CLOSED_STAGES else "false", "probability": str(float(probability))},
        "id": stage,
        "createdAt": at,
        "updatedAt": at,
        "archived": False,
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
    }


def _pipeline_json(pipeline_id: str = "default") -> dict[str, Any]:
    at = iso_z(PIPELINE_CREATED, millis=True)
    pipeline = PIPELINES_BY_ID[pipeline_id]
    return {
        "label": pipeline.label,
        "displayOrder": PIPELINES.index(pipeline),
        "id": pipeline.pipeline_id,
        "stages": [_stage_json(i, s, label, p) for i, (s, label, p) in enumerate(pipeline.stages)],
        "createdAt": at,
        "updatedAt": at,
        "archived": False,
    }


def _deal_pipelines(obj: str) -> None:
    spec = _spec(obj)
    if spec.name != "deals":
        raise ApiError(f"Pipelines are not supported for object type {spec.name} in this portal")


@_handles
def list_pipelines(req: Request, world: World, obj: str) -> Response:
    _deal_pipelines(obj)
    if _is_true(req.query.get("archived")):
        return Response(200, {"results": []})
    return Response(200, {"results": [_pipeline_json(p.pipeline_id) for p in PIPELINES]})


@_handles
def read_pipeline(req: Request, world: World, obj: str, pipeline_id: str, stages: str | None = None) -> Response:
    _deal_pipelines(obj)
    if pipeline_id not in PIPELINES_BY_ID:
        raise ApiError(f"Unable to find pipeline {pipeline_id}", 404, "OBJECT_NOT_FOUND")
    pipeline = _pipeline_json(pipeline_id)
    return Response(200, {"results": pipeline["stages"]} if stages else pipeline)


def property_json(p: Prop, spec: ObjectType, order: int) -> dict[str, Any]:
    at = iso_z(PIPELINE_CREATED, millis=True)
    out: dict[str, Any] = {
        "updatedAt": at,
        "createdAt": at,
        "name": p.name,
        "label": p.label,
        "type": p.type,
        "fieldType": p.field_type,
        "description": "",
        "groupName": p.group,
        "options": [
            {"label": label, "value": value, "displayOrder": i, "hidden": False}
            for i, (value, label) in enumerate(p.options)
        ],
        "displayOrder": order,
        "calculated": p.calculated,
        "externalOptions": p.name == "hubspot_owner_id",
        "hasUniqueValue": p.name == "hs_object_id",
        "hidden": False,
        "hubspotDefined": not p.custom,
        "modificationMetadata": {
            "archivable": p.custom,
            "readOnlyDefinition": not p.custom,
            "readOnlyValue": p.calculated,
        },
        "formField": not p.calculated,
    }
    if p.name == "hubspot_owner_id":
        out["referencedObjectType"] = "OWNER"
    if p.name == "amount":
        out["showCurrencySymbol"] = True
    return out


@_handles
def list_properties(req: Request, world: World, obj: str) -> Response:
    spec = _spec(obj)
    if _is_true(req.query.get("archived")):
        return Response(200, {"results": []})
    return Response(200, {"results": [property_json(p, spec, i) for i, p in enumerate(spec.props)]})


@_handles
def read_property(req: Request, world: World, obj: str, name: str) -> Response:
    spec = _spec(obj)
    for i, p in enumerate(spec.props):
        if p.name == name:
            return Response(200, property_json(p, spec, i))
    raise ApiError(f"Unable to find property {name} for object type {spec.name}", 404, "OBJECT_NOT_FOUND")


def property_v2_json(p: Prop, spec: ObjectType, order: int) -> dict[str, Any]:
    """A property as the legacy Properties v2 API writes it (epoch-millis timestamps, flags at the top level)."""
    at = int(PIPELINE_CREATED.timestamp() * 1000)
    return {
        "name": p.name,
        "label": p.label,
        "description": "",
        "groupName": p.group,
        "type": p.type,
        "fieldType": p.field_type,
        "fieldLevelPermission": None,
        "options": [
            {"label": label, "value": value, "displayOrder": i, "hidden": False, "description": None, "readOnly": None}
            for i, (value, label) in enumerate(p.options)
        ],
        "displayOrder": order,
        "calculated": p.calculated,
        "externalOptions": p.name == "hubspot_owner_id",
        "hasUniqueValue": p.name == "hs_object_id",
        "hidden": False,
        "hubspotDefined": not p.custom,
        "readOnlyValue": p.calculated,
        "readOnlyDefinition": not p.custom,
        "mutableDefinitionNotDeletable": True,
        "favorited": False,
        "favoritedOrder": -1,
        "displayMode": "current_value",
        "showCurrencySymbol": p.name == "amount",
        "currencyPropertyName": None,
        "formField": not p.calculated,
        "deleted": False,
        "createdAt": at,
        "updatedAt": at,
        "createdUserId": None,
        "updatedUserId": None,
        "textDisplayHint": None,
        "numberDisplayHint": None,
        "optionsAreMutable": None,
        "referencedObjectType": "OWNER" if p.name == "hubspot_owner_id" else None,
        "isCustomizedDefault": False,
        "searchableInGlobalSearch": p.name in spec.searchable,
        "calculationFormula": None,
    }


@_handles
def list_properties_v2(req: Request, world: World, obj: str) -> Response:
    """``GET /properties/v2/{object}/properties`` (legacy): a bare JSON list of the object's properties."""
    spec = _spec(obj)
    return Response(200, [property_v2_json(p, spec, i) for i, p in enumerate(spec.props)])


@_handles
def list_schemas(req: Request, world: World) -> Response:
    """``GET /crm/v3/schemas`` (also ``/crm-object-schemas/v3/schemas``): the portal's custom object schemas;
    the sandbox's portal has none."""
    return Response(200, {"results": []})


def not_found(req: Request) -> Response:
    """HubSpot's answer to a path it has no endpoint for."""
    response = error(404, "OBJECT_NOT_FOUND", f"Unable to find a route for {req.method} {req.path}", req)
    response.headers["X-HubSpot-Correlation-Id"] = response.body["correlationId"]
    return response


# --- vendor wiring: routes, auth, rate limits (the server is generic) ---
NAME = "hubspot"
# every list-valued query parameter, by endpoint (repeated as HubSpot documents; comma lists accepted)
LIST_PARAMS = {
    "GET /crm/v3/objects/{obj}": ("properties", "propertiesWithHistory", "associations"),
    "GET /crm/v3/objects/{obj}/{id}": ("properties", "propertiesWithHistory", "associations"),
}
PATH_PREFIXES = ("/crm/", "/crm-object-schemas/", "/properties/", "/owners/", "/oauth/v1/")
LIMITS = {
    "hubspot": {"real": (100, 10.0), "demo": (1000, 100.0)},  # 100 requests per rolling 10 s (private apps)
    "hubspot.search": {"real": (5, 5.0), "demo": (50, 50.0)},  # search: 5 requests per second
}
# Both are rolling windows: at most 100 requests in any 10 s, at most 5 searches in any second.
LIMIT_POLICIES = {"hubspot": "rolling", "hubspot.search": "rolling"}


def authorize(app: object, req: Request) -> Response | None:
    if req.headers.get("authorization") != f"Bearer {DEMO_ACCESS_TOKEN}":
        return error(
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 "
            "authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            req,
        )
    return None


def throttled(bucket: str, wait_s: float) -> Response:
    policy = "SECONDLY" if bucket == "hubspot.search" else "TEN_SECONDLY_ROLLING"
    return Response(
        429,
        {
            "status": "error",
            "message": f"You have reached your {policy.lower()} limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(bucket, policy),
            "policyName": policy,
            "category": "RATE_LIMITS",  # required by the published Error schema (the CRM specs' default response)
        },
    )


def limit_headers(bucket: str, state: Any) -> dict[str, str]:
    """``state``: the bucket's limiter (``capacity``, ``used``)."""
    if bucket == "hubspot.search":
        return {}  # the search endpoints do not send X-HubSpot-RateLimit-* headers
    return {
        "X-HubSpot-RateLimit-Max": str(int(state.capacity)),
        "X-HubSpot-RateLimit-Remaining": str(int(state.capacity) - state.used),
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
    }


_OBJ = r"(?P<obj>[^/]+)"
ROUTES = [
    route("POST", rf"/crm/v3/objects/{_OBJ}/search/?", "hubspot.search", search_objects),
    route("POST", rf"/crm/v3/objects/{_OBJ}/batch/read/?", "hubspot", batch_read_objects),
    route(
        "POST",
        r"/crm/v4/associations/(?P<from_obj>[^/]+)/(?P<to_obj>[^/]+)/batch/read/?",
        "hubspot",
        batch_read_associations,
    ),
    route("GET", rf"/crm/v3/objects/{_OBJ}/?", "hubspot", list_objects),
    route("GET", rf"/crm/v3/objects/{_OBJ}/(?P<object_id>[^/]+)/?", "hubspot", read_object),
    route("GET", r"/crm/v3/owners/?", "hubspot", list_owners),
    route("GET", r"/crm/v3/owners/(?P<owner_id>[^/]+)/?", "hubspot", read_owner),
    route("GET", rf"/crm/v3/pipelines/{_OBJ}/?", "hubspot", list_pipelines),
    route("GET", rf"/crm/v3/pipelines/{_OBJ}/(?P<pipeline_id>[^/]+)(?P<stages>/stages)?/?", "hubspot", read_pipeline),
    route("GET", rf"/crm/v3/properties/{_OBJ}/?", "hubspot", list_properties),
    route("GET", rf"/crm/v3/properties/{_OBJ}/(?P<name>[^/]+)/?", "hubspot", read_property),
    route("GET", r"/crm(?:-object-schemas)?/v3/schemas/?", "hubspot", list_schemas),
    route("GET", rf"/properties/v2/{_OBJ}/properties/?", "hubspot", list_properties_v2),
]
