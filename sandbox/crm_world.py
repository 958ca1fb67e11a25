"""The CRM side of the world (docs/architecture.md: The simulated company): sales reps (owners) with a territory/manager history,
companies, contacts (some of them also Shopify customers), deals with their stage, amount and owner
history, and a monthly quota per rep (HubSpot goal targets).

Like the rest of the simulation, every record is drawn completely from its own seeded stream (per
kind and per day), whatever ``as_of`` is; only the events before ``config.now`` are then revealed.
Moving ``as_of`` forward therefore adds records and reveals later changes of old ones (a stage change,
a new amount, a reassignment, an archival), but never rewrites what had already happened.
"""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from sandbox.demand import daily_orders
from sandbox.sim import (
    _FIRST,
    _LAST,
    DEALS_PER_DAY,
    HISTORY_START,
    TERRITORIES,
    WorldConfig,
    at_utc,
    daily_count,
    days,
    money,
    rng_for,
)

if TYPE_CHECKING:
    from sandbox.commerce_world import CommerceWorld, ShopifyCustomer

DEAL_STAGES = (
    # (HubSpot stage id, label, win probability)
    ("appointmentscheduled", "Appointment Scheduled", Decimal("0.20")),
    ("qualifiedtobuy", "Qualified To Buy", Decimal("0.40")),
    ("presentationscheduled", "Presentation Scheduled", Decimal("0.60")),
    ("decisionmakerboughtin", "Decision Maker Bought-In", Decimal("0.80")),
    ("contractsent", "Contract Sent", Decimal("0.90")),
    ("closedwon", "Closed Won", Decimal("1.00")),
    ("closedlost", "Closed Lost", Decimal("0.00")),
)
# A second deal pipeline, as a company adds one: renewals of customers' annual contracts. Pipelines and stages
# a portal creates get numeric ids (the default pipeline keeps its named ones).
RENEWAL_PIPELINE = "75102631"
RENEWAL_STAGES = (
    ("131850601", "Renewal Due", Decimal("0.30")),
    ("131850602", "Proposal Sent", Decimal("0.60")),
    ("131850603", "Negotiation", Decimal("0.80")),
    ("131850604", "Renewed", Decimal("1.00")),
    ("131850605", "Churned", Decimal("0.00")),
)


class Pipeline(NamedTuple):
    """A deal pipeline: its id, label and stages (id, label, win probability) in display order; closed stages
    are the won (probability 1) and the lost (probability 0) ones."""

    pipeline_id: str
    label: str
    stages: tuple[tuple[str, str, Decimal], ...]

    @property
    def open_stages(self) -> tuple[str, ...]:
        return tuple(s for s, _, p in self.stages if 0 < p < 1)

    @property
    def won_stage(self) -> str:
        return next(s for s, _, p in self.stages if p == 1)

    @property
    def lost_stage(self) -> str:
        return next(s for s, _, p in self.stages if p == 0)


PIPELINES = (
    Pipeline("default", "Sales Pipeline", DEAL_STAGES),
    Pipeline(RENEWAL_PIPELINE, "Renewals", RENEWAL_STAGES),
)
PIPELINES_BY_ID = {p.pipeline_id: p for p in PIPELINES}
OPEN_STAGES = PIPELINES[0].open_stages  # the default pipeline's
ALL_OPEN_STAGES = frozenset(s for p in PIPELINES for s in p.open_stages)
WON_STAGES = frozenset(p.won_stage for p in PIPELINES)
LOST_STAGES = frozenset(p.lost_stage for p in PIPELINES)
CLOSED_STAGES = tuple(s for p in PIPELINES for s in (p.won_stage, p.lost_stage))
STAGE_PROBABILITY = {s: prob for p in PIPELINES for s, _, prob in p.stages}
STAGE_PIPELINE = {s: p.pipeline_id for p in PIPELINES for s, _, _ in p.stages}
RENEWALS_PER_DAY = 1.1  # at scale 1: renewals of customers who won a deal before
# Duplicates that a rep or an import creates and someone later merges into the original (seeded streams of
# their own): per day at scale 1.
DUPLICATE_DEALS_PER_DAY = 0.15
DUPLICATE_CONTACTS_PER_DAY = 0.3
# Custom properties the company added to its portal (drawn per record from a stream of their own)
DEAL_CUSTOM_PROPERTIES = ("partner_referral", "contract_term_months")
CONTACT_CUSTOM_PROPERTIES = ("preferred_channel",)
CONTRACT_TERMS = (6, 12, 24, 36)
CONTACT_CHANNELS = ("email", "phone", "whatsapp", "in_person")
# HubSpot's forecast categories (internal values of the deal property hs_forecast_category): a rep's call on
# an open deal, CLOSED once won, OMIT (not forecasted) once lost.
FORECAST_CATEGORIES = ("PIPELINE", "BEST_CASE", "COMMIT", "CLOSED", "OMIT")
OPEN_FORECAST_CATEGORIES = FORECAST_CATEGORIES[:3]
# The rep's expected close date (closedate of an open deal): how many times at most a rep pushes it out
# when it passes (after that the date goes stale, as in real CRMs), and for how long a rep keeps at it.
MAX_SLIPS = 7
SLIP_HORIZON = timedelta(days=540)

# Volumes at scale 1 over the default history (docs/architecture.md: The simulated company: ~3k companies, ~6k contacts, ~5k deals).
COMPANIES_PER_DAY = 2.9
CONTACTS_PER_DAY = 5.8
# The CRM existed before the history starts: an import of a few companies and contacts, whatever the
# scale (so that even a tiny test world has ~20 companies to sell to).
CRM_IMPORT_DAY = date(2023, 12, 2)
IMPORTED_COMPANIES = 20
IMPORTED_CONTACTS = 30
SHOPIFY_MATCH_RATE = 0.12  # share of new contacts who are (already) customers of the web shop

OWNER_ID_BASE = 70_000_000
USER_ID_OFFSET = 60_000_000  # HubSpot user id of an owner = owner id - 60,000,000
# Owners 0-3 head a territory (no manager), 4-7 lead a team in it (managed by the head),
# 8-23 are reps managed by the head or the lead of their territory. Leads and reps carry quota.
N_OWNERS = 24
MOVES_UNTIL = date(
    2030, 1, 1
)  # reps change territory or manager every 60-120 days (drawn up to here, revealed as time passes)
QUOTA_GOAL_NAME = "B2B bookings quota"

INDUSTRIES = ("RESTAURANTS", "HOSPITALITY", "FOOD_BEVERAGES", "FOOD_PRODUCTION", "WHOLESALE")
_VENUES = ("Trattoria", "Hotel", "Catering", "Bistro", "Osteria", "Pizzeria", "Deli", "Resort")
_VENUE_INDUSTRY = {
    "Trattoria": "RESTAURANTS",
    "Hotel": "HOSPITALITY",
    "Catering": "FOOD_BEVERAGES",
    "Bistro": "RESTAURANTS",
    "Osteria": "RESTAURANTS",
    "Pizzeria": "RESTAURANTS",
    "Deli": "WHOLESALE",
    "Resort": "HOSPITALITY",
}
CITIES = {
    # territory -> (city, state/region, country, deal currency)
    "West": (
        ("San Francisco", "CA", "United States", "USD"),
        ("Los Angeles", "CA", "United States", "USD"),
        ("Seattle", "WA", "United States", "USD"),
        ("Portland", "OR", "United States", "USD"),
        ("Denver", "CO", "United States", "USD"),
    ),
    "Central": (
        ("Chicago", "IL", "United States", "USD"),
        ("Austin", "TX", "United States", "USD"),
        ("Minneapolis", "MN", "United States", "USD"),
        ("St. Louis", "MO", "United States", "USD"),
    ),
    "East": (
        ("New York", "NY", "United States", "USD"),
        ("Boston", "MA", "United States", "USD"),
        ("Philadelphia", "PA", "United States", "USD"),
        ("Miami", "FL", "United States", "USD"),
    ),
    "International": (
        ("London", "England", "United Kingdom", "GBP"),
        ("Manchester", "England", "United Kingdom", "GBP"),
        ("Berlin", "Berlin", "Germany", "EUR"),
        ("Milan", "Lombardy", "Italy", "EUR"),
        ("Paris", "Île-de-France", "France", "EUR"),
        ("Toronto", "ON", "Canada", "USD"),
    ),
}
TERRITORY_WEIGHTS = (30, 25, 30, 15)
_TITLES = (
    "Owner",
    "Head Chef",
    "Purchasing Manager",
    "F&B Director",
    "General Manager",
    "Sous Chef",
    "Operations Manager",
)
CONTACT_LIFECYCLE = ("lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity")
_DEAL_KINDS = ("Pasta supply", "Sauce program", "Annual contract", "Seasonal menu", "Trial order", "Banquet menu")


class Change(NamedTuple):
    """One property change of a CRM record: HubSpot's property history entry (value typed, None = cleared)."""

    at: datetime
    name: str
    value: Any
    user_id: int | None  # the HubSpot user who made it; None for the system (calculated/integration)


class Assignment(NamedTuple):
    """An owner's territory and manager from ``effective_from`` on."""

    effective_from: datetime
    territory: str
    manager_id: str | None


class OpenDeal(NamedTuple):
    """An open deal as the pipeline showed it at one instant (Deal.open_at): its values then."""

    deal_id: str
    owner_id: str
    stage: str
    amount: Decimal  # in ``currency``
    currency: str
    closedate: datetime | None  # the expected close date then
    forecast_category: str | None


def _at_or_before(history: list | tuple, when: datetime, key: int) -> int:
    """Index of the last entry of ``history`` (sorted by element ``key``) at or before ``when``; 0 if none."""
    lo, hi = 0, len(history)
    while lo < hi:
        mid = (lo + hi) // 2
        if history[mid][key] <= when:
            lo = mid + 1
        else:
            hi = mid
    return max(lo - 1, 0)


@dataclass(frozen=True)
class Owner:
    owner_id: str
    first_name: str
    last_name: str
    email: str
    created_at: datetime
    history: tuple[Assignment, ...]  # revealed assignments (effective before now), oldest first

    @property
    def user_id(self) -> int:
        return int(self.owner_id) - USER_ID_OFFSET

    @property
    def territory(self) -> str:
        """The current territory (= the owner's primary HubSpot team)."""
        return self.history[-1].territory

    @property
    def manager_id(self) -> str | None:
        return self.history[-1].manager_id

    @property
    def team(self) -> str:
        return self.territory

    @property
    def updated_at(self) -> datetime:
        return max(self.created_at, self.history[-1].effective_from)

    @property
    def is_territory_head(self) -> bool:
        return self.history[0].manager_id is None

    def assignment_at(self, when: datetime) -> Assignment:
        """The assignment in force at ``when`` (the first one for times before it)."""
        return self.history[_at_or_before(self.history, when, 0)]

    def territory_at(self, when: datetime) -> str:
        return self.assignment_at(when).territory

    def manager_at(self, when: datetime) -> str | None:
        return self.assignment_at(when).manager_id


class _Record:
    """A company or contact: its revealed property changes, oldest first (the first ones create it)."""

    created_at: datetime
    changes: list[Change]

    @property
    def updated_at(self) -> datetime:
        return self.changes[-1].at if self.changes else self.created_at

    @cached_property
    def values(self) -> dict[str, Any]:
        """Current value of every property ever set."""
        return {c.name: c.value for c in self.changes}

    def value(self, name: str) -> Any:
        return self.values.get(name)

    def history(self, name: str) -> list[Change]:
        return [c for c in self.changes if c.name == name]


@dataclass(eq=False)
class Company(_Record):
    company_id: str
    name: str
    domain: str
    territory: str
    currency: str  # the currency its deals are in
    owner_id: str
    created_at: datetime
    changes: list[Change]

    @property
    def lifecyclestage(self) -> str:
        return self.value("lifecyclestage")


@dataclass(eq=False)
class Contact(_Record):
    contact_id: str
    first_name: str
    last_name: str
    email: str  # as typed into the CRM: a Shopify customer's email may differ in case/whitespace
    created_at: datetime
    company_id: str | None
    owner_id: str | None
    shopify_customer_id: int | None  # the same person as this Shopify customer (None if not a shop customer)
    changes: list[Change]

    @property
    def lifecyclestage(self) -> str:
        return self.value("lifecyclestage")


@dataclass(eq=False)
class Deal:
    deal_id: str
    name: str
    created_at: datetime
    owner_id: str  # the CURRENT owner (as of now); see owner_at() for the owner at a given time
    amount: Decimal  # the current amount, in ``currency``
    currency: str
    stage_history: list[tuple[str, datetime]]  # stages entered up to now, in order (a stage can repeat)
    owner_history: list[tuple[str, datetime]] = field(default_factory=list)  # (owner id, since), oldest first
    amount_history: list[tuple[Decimal, datetime]] = field(default_factory=list)  # (amount, since), oldest first
    company_id: str | None = None
    contact_ids: tuple[str, ...] = ()
    archived_at: datetime | None = None  # when the deal was deleted (archived), if before now
    creator_user_id: int | None = None
    pipeline: str = "default"
    # closedate over time, oldest first: the rep's expected close date while open (set at creation, moved
    # by slips and re-estimates), the close time once closed
    closedate_history: list[tuple[datetime | None, datetime]] = field(default_factory=list)  # (value, since)
    forecast_history: list[tuple[str, datetime]] = field(default_factory=list)  # (hs_forecast_category, since)
    custom: dict[str, Any] = field(default_factory=dict)  # custom properties, set at creation
    merged: list[tuple[str, datetime]] = field(default_factory=list)  # (merged-away deal id, when), revealed

    @property
    def stage(self) -> str:
        return self.stage_history[-1][0]

    @property
    def closed_at(self) -> datetime | None:
        """When the deal entered its current stage if that stage is closed (won/lost), else None."""
        return self.stage_history[-1][1] if self.stage in CLOSED_STAGES else None

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def closedate(self) -> datetime | None:
        """The closedate property now: the close time of a closed deal, else the rep's expected close date."""
        if not self.closedate_history:
            return self.closed_at
        return self.closedate_history[-1][0]

    @property
    def forecast_category(self) -> str | None:
        return self.forecast_history[-1][0] if self.forecast_history else None

    @property
    def updated_at(self) -> datetime:
        """hs_lastmodifieddate: the latest revealed change (stage, amount, owner, close date, category, archival)."""
        latest = max(
            self.stage_history[-1][1],
            self.merged[-1][1] if self.merged else self.created_at,
            self.owner_history[-1][1] if self.owner_history else self.created_at,
            self.amount_history[-1][1] if self.amount_history else self.created_at,
            self.closedate_history[-1][1] if self.closedate_history else self.created_at,
            self.forecast_history[-1][1] if self.forecast_history else self.created_at,
        )
        return max(latest, self.archived_at) if self.archived_at else latest

    @property
    def reopened(self) -> bool:
        """Entered an open stage again after being closed lost."""
        stages = [s for s, _ in self.stage_history]
        return any(a in LOST_STAGES and b in ALL_OPEN_STAGES for a, b in zip(stages, stages[1:]))

    @property
    def is_won(self) -> bool:
        return self.stage in WON_STAGES

    @property
    def merged_object_ids(self) -> str | None:
        """hs_merged_object_ids: the ids merged into this deal, semicolon-separated (None if none)."""
        return ";".join(i for i, _ in self.merged) or None

    def owner_at(self, when: datetime) -> str:
        """The deal's owner at ``when`` (the creating owner for times before the deal existed)."""
        if not self.owner_history:
            return self.owner_id
        return self.owner_history[_at_or_before(self.owner_history, when, 1)][0]

    def amount_at(self, when: datetime) -> Decimal:
        if not self.amount_history:
            return self.amount
        return self.amount_history[_at_or_before(self.amount_history, when, 1)][0]

    def stage_at(self, when: datetime) -> str:
        return self.stage_history[_at_or_before(self.stage_history, when, 1)][0]

    def open_at(self, when: datetime) -> OpenDeal | None:
        """The deal as the pipeline showed it at the instant ``when`` (changes strictly before it), if it was
        open then: created before it, not archived before it, in an open stage. None otherwise."""
        if self.created_at >= when or (self.archived_at is not None and self.archived_at < when):
            return None

        def before(history: list[tuple[Any, datetime]]) -> Any:
            i = bisect.bisect_left([t for _, t in history], when)
            return history[i - 1][0] if i else None

        stage = before(self.stage_history)
        if stage not in ALL_OPEN_STAGES:
            return None
        return OpenDeal(
            self.deal_id,
            before(self.owner_history) or self.owner_id,
            stage,
            before(self.amount_history) if self.amount_history else self.amount,
            self.currency,
            before(self.closedate_history),
            before(self.forecast_history),
        )

    @cached_property
    def changes(self) -> list[Change]:
        """The deal's property history as HubSpot tracks it, oldest first."""
        creator = self.creator_user_id
        out = [
            Change(self.created_at, "dealname", self.name, creator),
            Change(self.created_at, "pipeline", self.pipeline, creator),
            Change(self.created_at, "deal_currency_code", self.currency, creator),
            Change(self.created_at, "createdate", self.created_at, creator),
        ]

        def by(at: datetime) -> int:
            return int(self.owner_at(at)) - USER_ID_OFFSET

        for i, (owner, at) in enumerate(self.owner_history):
            # the first owner is set by the creator; a reassignment by the rep's manager (or head)
            out.append(Change(at, "hubspot_owner_id", owner, creator if i == 0 else None))
        for amount, at in self.amount_history:
            out.append(Change(at, "amount", amount, by(at)))
        for stage, at in self.stage_history:
            out.append(Change(at, "dealstage", stage, by(at)))
            out.append(Change(at, "hs_deal_stage_probability", STAGE_PROBABILITY[stage], None))  # calculated
        for value, at in self.closedate_history:
            out.append(Change(at, "closedate", value, by(at)))
        for category, at in self.forecast_history:
            out.append(Change(at, "hs_forecast_category", category, by(at)))
        for name, value in self.custom.items():
            out.append(Change(self.created_at, name, value, creator))
        for i, (_, at) in enumerate(self.merged):
            out.append(Change(at, "hs_merged_object_ids", ";".join(m for m, _ in self.merged[: i + 1]), None))
        out.sort(key=lambda c: c.at)  # stable: creation values first
        return out


@dataclass(frozen=True)
class GoalTarget:
    """A monthly quota (HubSpot goal target) of one rep, in USD."""

    goal_id: str
    owner_id: str
    month_start: date
    amount_usd: Decimal
    created_at: datetime

    @property
    def user_id(self) -> int:
        return int(self.owner_id) - USER_ID_OFFSET

    @property
    def updated_at(self) -> datetime:
        return self.created_at

    @property
    def start(self) -> datetime:
        return at_utc(self.month_start, 0)

    @property
    def end(self) -> datetime:
        """The last millisecond of the month (HubSpot's ``hs_end_datetime``)."""
        return at_utc(_next_month(self.month_start), 0) - timedelta(milliseconds=1)


@dataclass(eq=False)  # hashed by identity: API indexes are cached per world
class CrmWorld:
    owners: list[Owner]
    deals: list[Deal]  # every deal created up to as_of, archived ones included (see Deal.is_archived)
    companies: list[Company] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    goal_targets: list[GoalTarget] = field(default_factory=list)
    # records merged away (before now): no longer listed or found as themselves; their id answers with the survivor
    merged_deals: list[Deal] = field(default_factory=list)
    merged_contacts: list[Contact] = field(default_factory=list)
    deal_merges: dict[str, str] = field(default_factory=dict)  # merged-away deal id -> surviving deal id
    contact_merges: dict[str, str] = field(default_factory=dict)  # merged-away contact id -> surviving contact id

    @property
    def reps(self) -> list[Owner]:
        """Quota-carrying owners (team leads and reps; the territory heads only manage)."""
        return [o for o in self.owners if not o.is_territory_head]

    @property
    def active_deals(self) -> list[Deal]:
        return [d for d in self.deals if not d.is_archived]

    @cached_property
    def owners_by_id(self) -> dict[str, Owner]:
        return {o.owner_id: o for o in self.owners}

    @cached_property
    def deals_by_id(self) -> dict[str, Deal]:
        return {d.deal_id: d for d in self.deals}

    @cached_property
    def companies_by_id(self) -> dict[str, Company]:
        return {c.company_id: c for c in self.companies}

    @cached_property
    def contacts_by_id(self) -> dict[str, Contact]:
        return {c.contact_id: c for c in self.contacts}


# --- generation ---


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def _full_owner_history(seed: int) -> tuple[list[tuple[str, str, str, datetime]], dict[int, list[Assignment]]]:
    """Every owner's full assignment history (also the moves after as_of: revealed later)."""
    rng = rng_for(seed, "owners")
    people: list[tuple[str, str, str, datetime]] = []  # (owner id, first, last, created)
    histories: dict[int, list[Assignment]] = {}
    for i in range(N_OWNERS):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        created = at_utc(HISTORY_START - timedelta(days=30), i * 3600)
        people.append((str(OWNER_ID_BASE + i), first, last, created))
        t = i % 4
        if i < 4:
            manager = None
        elif i < 8:
            manager = str(OWNER_ID_BASE + t)
        else:  # alternate between the head and the team lead of the territory
            manager = str(OWNER_ID_BASE + t + (4 if (i // 4) % 2 else 0))
        histories[i] = [Assignment(created, TERRITORIES[t], manager)]
    moves = rng_for(seed, "owner-moves")
    day, n = 45 + moves.randint(0, 30), 0
    while HISTORY_START + timedelta(days=day) < MOVES_UNTIL:  # life goes on: a move every 60-120 days
        i = moves.randrange(8, N_OWNERS)
        when = at_utc(HISTORY_START + timedelta(days=day), moves.randrange(8 * 3600, 18 * 3600))
        day, n = day + moves.randint(60, 120), n + 1
        current = histories[i][-1]
        t = TERRITORIES.index(current.territory)
        if n % 2:  # a move to another territory, under its head or its lead
            new_t = moves.choice([x for x in range(4) if x != t])
            manager = str(OWNER_ID_BASE + new_t + moves.choice((0, 4)))
            histories[i].append(Assignment(when, TERRITORIES[new_t], manager))
            continue
        moves.random()  # keep the stream aligned with the other branch
        other = str(OWNER_ID_BASE + t) if current.manager_id != str(OWNER_ID_BASE + t) else str(OWNER_ID_BASE + t + 4)
        histories[i].append(Assignment(when, current.territory, other))
    return people, histories


def _owners(seed: int, now: datetime) -> tuple[list[Owner], dict[str, list[Assignment]]]:
    people, histories = _full_owner_history(seed)
    owners = []
    full: dict[str, list[Assignment]] = {}
    for i, (oid, first, last, created) in enumerate(people):
        full[oid] = histories[i]
        owners.append(
            Owner(
                owner_id=oid,
                first_name=first,
                last_name=last,
                email=f"{_ascii(first)}.{_ascii(last)}{i}@pastapro.example",
                created_at=created,
                history=tuple(a for a in histories[i] if a.effective_from < now),
            )
        )
    return owners, full


def _territory_of(full: dict[str, list[Assignment]], owner_id: str, when: datetime) -> str:
    history = full[owner_id]
    return history[_at_or_before(history, when, 0)].territory


def _reps_in(full: dict[str, list[Assignment]], territory: str, when: datetime) -> list[str]:
    return [
        oid for oid, h in full.items() if h[0].manager_id is not None and _territory_of(full, oid, when) == territory
    ]


class _Chronicle:
    """Records created day by day; which of them existed before a given day (as_of-independent)."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.day_index: list[int] = []

    def add(self, day_index: int, item: Any) -> None:
        self.items.append(item)
        self.day_index.append(day_index)

    def before(self, day_index: int) -> int:
        """How many records were created on days before ``day_index``."""
        return bisect.bisect_left(self.day_index, day_index)


def _companies(config: WorldConfig, full: dict[str, list[Assignment]]) -> tuple[_Chronicle, dict[str, list[Change]]]:
    """Companies with their full (unrevealed) change lists; the import batch has day index -1."""
    seed = config.seed
    chronicle = _Chronicle()
    changes: dict[str, list[Change]] = {}

    def make(rng: Any, day: date, k: int, created_day_index: int) -> None:
        created = at_utc(day, rng.randrange(7 * 3600, 19 * 3600))
        territory = rng.choices(TERRITORIES, TERRITORY_WEIGHTS)[0]
        city, region, country, currency = rng.choice(CITIES[territory])
        last, venue = rng.choice(_LAST), rng.choice(_VENUES)
        serial = (created_day_index + 1) * 1_000 + k
        cid = str(10_000_000_000 + serial)
        reps = _reps_in(full, territory, created) or sorted(full)
        owner_id = reps[rng.randrange(len(reps))]
        creator = int(owner_id) - USER_ID_OFFSET
        employees = rng.randint(5, 400)
        name = f"{last} {venue} {city}"
        domain = f"{_ascii(last)}-{venue.lower()}-{serial}.example"
        record = [
            Change(created, n, v, creator)
            for n, v in (
                ("name", name),
                ("domain", domain),
                ("industry", _VENUE_INDUSTRY[venue]),
                ("city", city),
                ("state", region),
                ("country", country),
                ("numberofemployees", employees),
                ("phone", f"+1-555-{rng.randrange(10**7):07d}"),
                ("hubspot_owner_id", owner_id),
                ("lifecyclestage", "lead"),
                ("createdate", created),
            )
        ]
        at = created
        for _ in range(rng.choice((0, 0, 1, 2))):  # headcount updates
            at = at + timedelta(days=rng.randint(20, 200), seconds=rng.randrange(86_400))
            employees = max(3, int(employees * rng.uniform(0.7, 1.5)))
            record.append(Change(at, "numberofemployees", employees, creator))
        changes[cid] = record
        chronicle.add(created_day_index, Company(cid, name, domain, territory, currency, owner_id, created, []))

    rng = rng_for(seed, "companies", "import")
    for k in range(IMPORTED_COMPANIES):
        make(rng, CRM_IMPORT_DAY, k, -1)
    for day_index, day in days(config):
        rng = rng_for(seed, "companies", day)
        for k in range(daily_count(rng, COMPANIES_PER_DAY * config.scale)):
            make(rng, day, k, day_index)
    return chronicle, changes


def _email_variant(email: str, variant: int) -> str:
    """The same address typed differently (docs/architecture.md: The simulated company): never byte-equal, equal after strip().lower()."""
    local, _, domain = email.partition("@")
    titled = ".".join(p[:1].upper() + p[1:] for p in local.split("."))
    return (
        f"{titled}@{domain}",
        email.upper(),
        f"{email} ",
        f" {titled}@{domain.capitalize()}",
        f"{local}@{domain.upper()}\t",
    )[variant]


def _shopify_customers(commerce: CommerceWorld | None) -> tuple[list[ShopifyCustomer], list[date]]:
    if commerce is None:
        return [], []
    seen: dict[int, Any] = {}
    for order in commerce.shopify_orders:
        seen.setdefault(order.customer.customer_id, order.customer)
    customers = sorted(seen.values(), key=lambda c: (c.created_at, c.customer_id))
    return customers, [c.created_at.date() for c in customers]


def _contacts(
    config: WorldConfig, companies: _Chronicle, commerce: CommerceWorld | None
) -> tuple[_Chronicle, dict[str, list[Change]], dict[str, list[tuple[int, str]]]]:
    seed = config.seed
    chronicle = _Chronicle()
    changes: dict[str, list[Change]] = {}
    by_company: dict[str, list[tuple[int, str]]] = {}  # company id -> (day index, contact id), in creation order
    customers, customer_days = _shopify_customers(commerce)
    matched: set[int] = set()

    def make(rng: Any, day: date, k: int, created_day_index: int) -> None:
        created = at_utc(day, rng.randrange(7 * 3600, 20 * 3600))
        company_roll, company_pick = rng.random(), rng.random()
        match_roll, match_pick, variant = rng.random(), rng.random(), rng.randrange(5)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        title, phone = rng.choice(_TITLES), f"+1-555-{rng.randrange(10**7):07d}"
        # companies of earlier days (the imported contacts: of the imported companies)
        n_companies = companies.before(max(created_day_index, 0))
        company = companies.items[int(company_pick * n_companies)] if n_companies and company_roll < 0.92 else None
        serial = (created_day_index + 1) * 1_000 + k
        cid = str(30_000_000_000 + serial)
        customer = None
        n_customers = bisect.bisect_left(customer_days, day)  # customers of earlier days only
        if n_customers and match_roll < SHOPIFY_MATCH_RATE:
            candidate = customers[int(match_pick * n_customers)]
            if candidate.customer_id not in matched:  # one CRM contact per person (HubSpot dedupes on email)
                customer = candidate
                matched.add(candidate.customer_id)
        if customer is not None:
            first, last = customer.first_name, customer.last_name
            email = _email_variant(customer.email, variant)
        else:
            domain = company.domain if company else "gmail.example"
            email = f"{_ascii(first)}.{_ascii(last)}.{serial}@{domain}"
        owner_id = company.owner_id if company else None
        creator = int(owner_id) - USER_ID_OFFSET if owner_id else None
        record = [
            Change(created, n, v, creator)
            for n, v in (
                ("firstname", first),
                ("lastname", last),
                ("email", email),
                ("phone", phone),
                ("jobtitle", title),
                ("company", company.name if company else None),
                ("associatedcompanyid", company.company_id if company else None),
                ("hubspot_owner_id", owner_id),
                ("lifecyclestage", CONTACT_LIFECYCLE[0]),
                ("createdate", created),
            )
        ]
        at = created
        for stage in CONTACT_LIFECYCLE[1 : rng.choice((1, 1, 2, 3, 4))]:
            at = at + timedelta(days=rng.randint(3, 90), seconds=rng.randrange(86_400))
            record.append(Change(at, "lifecyclestage", stage, creator))
        if rng.random() < 0.1:  # a new job title some months later
            record.append(
                Change(
                    created + timedelta(days=rng.randint(30, 400), seconds=rng.randrange(86_400)),
                    "jobtitle",
                    rng.choice(_TITLES),
                    creator,
                )
            )
        record.sort(key=lambda c: c.at)
        changes[cid] = record
        if company:
            by_company.setdefault(company.company_id, []).append((created_day_index, cid))
        chronicle.add(
            created_day_index,
            Contact(
                cid,
                first,
                last,
                email,
                created,
                company.company_id if company else None,
                owner_id,
                customer.customer_id if customer else None,
                [],
            ),
        )

    rng = rng_for(seed, "contacts", "import")
    for k in range(IMPORTED_CONTACTS):
        make(rng, CRM_IMPORT_DAY, k, -1)
    for day_index, day in days(config):
        rng = rng_for(seed, "contacts", day)
        for k in range(daily_count(rng, CONTACTS_PER_DAY * config.scale)):
            make(rng, day, k, day_index)
    return chronicle, changes, by_company


def _midnight(at: datetime) -> datetime:
    """A date as HubSpot's date pickers store it: 00:00 UTC of the day."""
    return datetime(at.year, at.month, at.day, tzinfo=at.tzinfo)


def _expectations(
    rng: Any, stages: list[tuple[str, datetime]], will_win: bool, pipeline: Pipeline = PIPELINES[0]
) -> tuple[list[tuple[datetime | None, datetime]], list[tuple[str, datetime]]]:
    """The rep's expected close date and forecast category over the deal's whole (unrevealed) life.

    The rep guesses the close date at creation, optimistically (a log-normal share of the real time to close,
    median ~0.75), re-estimates now and then when the deal advances (the guess tightens as the deal nears its
    close: within three weeks of it the rep knows the week), and pushes the date out when it passes with the
    deal still open (a slip; up to MAX_SLIPS times within SLIP_HORIZON, after which the date goes stale).
    A stalled deal (never closed) is guessed against a notional close some months out. On closing, closedate
    is the close time; a reopened deal gets a new guess. The forecast category follows the stage, a per-deal
    confidence that is a little higher for deals that will be won, noise, and drops with each slip; CLOSED
    once won, OMIT once lost. Every draw comes from ``rng``, the deal's own stream.
    """
    created = stages[0][1]
    open_stages = pipeline.open_stages
    closes = [t for s, t in stages if s in CLOSED_STAGES]
    true_close = closes[-1] if stages[-1][0] in CLOSED_STAGES else created + timedelta(days=rng.uniform(60, 240))
    confidence = rng.gauss(0.30 if will_win else -0.10, 0.15)

    def guess(now: datetime, idx: int, minimum_days: int) -> datetime:
        remaining = max((true_close - now).total_seconds(), 0.0)
        if remaining < 21 * 86_400:  # the close is near: the rep knows it roughly
            est = true_close + timedelta(days=rng.uniform(-3, 7))
        else:
            share = rng.lognormvariate(-0.3 + 0.05 * idx, max(0.5 - 0.08 * idx, 0.12))
            est = now + timedelta(seconds=remaining * share + rng.uniform(-5, 10) * 86_400)
        return _midnight(max(est, now + timedelta(days=minimum_days)))

    def category(idx: int, slips: int) -> str:
        score = 0.2 * idx + confidence + rng.gauss(0, 0.1) - 0.06 * slips
        return "PIPELINE" if score < 0.3 else "BEST_CASE" if score < 0.6 else "COMMIT"

    closedates: list[tuple[datetime | None, datetime]] = [(guess(created, 0, rng.randint(7, 21)), created)]
    categories: list[tuple[str, datetime]] = [(category(0, 0), created)]

    def set_category(value: str, at: datetime) -> None:
        if value != categories[-1][0]:
            categories.append((value, at))

    slips, idx, i, clock = 0, 0, 0, created  # clock: the time of the latest event
    while True:
        expected = closedates[-1][0]
        next_at = stages[i + 1][1] if i + 1 < len(stages) else None
        is_open = stages[i][0] in open_stages
        if is_open and expected is not None and slips < MAX_SLIPS:
            # the rep notices the passed date within a week and pushes it out
            noticed = max(expected, clock) + timedelta(seconds=rng.randrange(1, 7 * 86_400))
            if (next_at is None or noticed < next_at) and noticed < created + SLIP_HORIZON:
                slips, clock = slips + 1, noticed
                closedates.append((guess(noticed, idx, rng.randint(7, 45)), noticed))
                set_category(category(idx, slips), noticed)
                continue
        if next_at is None:
            break
        i += 1
        stage, at = stages[i]
        clock = at
        if stage in CLOSED_STAGES:
            closedates.append((at, at))
            set_category("CLOSED" if stage in WON_STAGES else "OMIT", at)
            continue
        idx = open_stages.index(stage)
        if stages[i - 1][0] in CLOSED_STAGES or rng.random() < 0.45:  # reopened, or a re-estimate as it advances
            closedates.append((guess(at, idx, 7), at))
        set_category(category(idx, slips), at)
    return closedates, categories


def _deals(
    config: WorldConfig,
    full: dict[str, list[Assignment]],
    companies: _Chronicle,
    contacts_by_company: dict[str, list[tuple[int, str]]],
) -> tuple[list[Deal], dict[str, datetime], dict[str, datetime | None]]:
    """Deals with their whole future drawn, then cut at now; also when each company first won a deal."""
    seed = config.seed
    quota_reps = sorted(oid for oid, h in full.items() if h[0].manager_id is not None)
    deals: list[Deal] = []
    first_won: dict[str, datetime] = {}
    archivals: dict[str, datetime | None] = {}  # every deal's archival over its whole life (None: never)
    for day_index, day in days(config):
        rng = rng_for(seed, "deals", day)
        for k in range(daily_orders(seed, "b2b", day, DEALS_PER_DAY * config.scale, rng)):
            created = at_utc(day, rng.randrange(8 * 3600, 20 * 3600))
            company_pick, owner_roll, owner_pick = rng.random(), rng.random(), rng.random()
            contact_picks = (rng.random(), rng.random(), rng.random())
            company = companies.items[int(company_pick * companies.before(day_index))]
            territory = company.territory
            local = _reps_in(full, territory, created) or quota_reps
            if owner_roll < 0.7 and company.owner_id in local:
                owner = company.owner_id
            else:
                owner = local[int(owner_pick * len(local))]
            creator = int(owner) - USER_ID_OFFSET
            people = contacts_by_company.get(company.company_id, [])
            available = bisect.bisect_left([d for d, _ in people], day_index)
            contact_ids: tuple[str, ...] = ()
            if available:
                n = 1 + (contact_picks[0] < 0.35)
                chosen = {people[int(p * available)][1] for p in contact_picks[1 : 1 + n]}
                contact_ids = tuple(sorted(chosen))
            amount = money(rng.randrange(500, 60_000) + rng.choice((0, 0.5, 0.99)))
            name = f"{company.name} - {rng.choice(_DEAL_KINDS)}"

            # the stage walk: advance, lose, or (rarely) stall at each step; a lost deal may be reopened once
            stages: list[tuple[str, datetime]] = [("appointmentscheduled", created)]
            at, idx, reopened = created, 0, False
            while True:
                at = at + timedelta(days=rng.randint(1, 12), seconds=rng.randrange(3600 * 8))
                roll = rng.random()
                if roll < 0.22:
                    stages.append(("closedlost", at))
                    if not reopened and rng.random() < 0.12:
                        reopened = True
                        at = at + timedelta(days=rng.randint(7, 60), seconds=rng.randrange(3600 * 8))
                        idx = rng.choice((1, 2, 3))
                        stages.append((OPEN_STAGES[idx], at))
                        continue
                    break
                if roll < 0.25:
                    break  # stalled in its current stage
                idx += 1
                if idx == len(OPEN_STAGES):
                    stages.append(("closedwon", at))
                    break
                stages.append((OPEN_STAGES[idx], at))
            deal_id = str(20_000_000_000 + day_index * 1_000 + k)
            deal, archived_full, won = _walked_deal(
                config,
                full,
                quota_reps,
                rng,
                PIPELINES[0],
                deal_id,
                name,
                created,
                owner,
                company,
                contact_ids,
                amount,
                stages,
                creator,
                archive_rate=0.03,
            )
            if won and (company.company_id not in first_won or won < first_won[company.company_id]):
                first_won[company.company_id] = won
            deals.append(deal)
            archivals[deal_id] = archived_full
    return deals, first_won, archivals


def _walked_deal(
    config: WorldConfig,
    full: dict[str, list[Assignment]],
    quota_reps: list[str],
    rng: Any,
    pipeline: Pipeline,
    deal_id: str,
    name: str,
    created: datetime,
    owner: str,
    company: Company,
    contact_ids: tuple[str, ...],
    amount: Decimal,
    stages: list[tuple[str, datetime]],
    creator: int,
    archive_rate: float,
) -> tuple[Deal, datetime | None, datetime | None]:
    """A deal from its whole stage walk: expectations, amount changes, a reassignment, maybe an archival
    (all drawn from ``rng`` in this order), cut at now. Also its full archival and its first win."""
    seed, now = config.seed, config.now
    closedates, categories = _expectations(
        rng_for(seed, "deal-forecast", deal_id), stages, stages[-1][0] == pipeline.won_stage, pipeline
    )
    final_close = stages[-1][1] if stages[-1][0] in CLOSED_STAGES else None
    horizon = final_close or created + timedelta(days=120)
    span = (horizon - created).total_seconds()

    amounts: list[tuple[Decimal, datetime]] = [(amount, created)]
    for _ in range(rng.choices((0, 1, 2), (65, 25, 10))[0]):
        when = created + timedelta(seconds=int(span * rng.uniform(0.1, 0.95)))
        amounts.append((money(amounts[-1][0] * Decimal(str(round(rng.uniform(0.6, 1.4), 2)))), when))
    amounts.sort(key=lambda a: a[1])

    owners: list[tuple[str, datetime]] = [(owner, created)]
    reassign_roll, reassign_pick = rng.random(), rng.random()
    reassign_at = created + timedelta(days=rng.randint(3, 150), seconds=rng.randrange(86_400))
    if reassign_roll < 0.15:  # reassigned: mid-deal, or an account handover after the close
        peers = [o for o in _reps_in(full, _territory_of(full, owner, reassign_at), reassign_at) if o != owner]
        peers = peers or [o for o in quota_reps if o != owner]
        owners.append((peers[int(reassign_pick * len(peers))], reassign_at))

    archive_roll = rng.random()
    archived = created + timedelta(days=rng.randint(2, 200), seconds=rng.randrange(86_400))
    archived_full = archived if archive_roll < archive_rate else None
    if archived_full is not None:  # nothing happens to a deleted deal
        stages = [s for s in stages if s[1] < archived_full]
        amounts = [a for a in amounts if a[1] < archived_full]
        owners = [o for o in owners if o[1] < archived_full]
        closedates = [c for c in closedates if c[1] < archived_full]
        categories = [c for c in categories if c[1] < archived_full]
    won = [t for s, t in stages if s in WON_STAGES]
    custom_rng = rng_for(seed, "deal-custom", deal_id)
    custom = {
        "partner_referral": custom_rng.random() < 0.2,
        "contract_term_months": custom_rng.choice(CONTRACT_TERMS),
    }
    visible_owners = [o for o in owners if o[1] < now]
    visible_amounts = [a for a in amounts if a[1] < now]
    deal = Deal(
        deal_id=deal_id,
        name=name,
        created_at=created,
        owner_id=visible_owners[-1][0],
        amount=visible_amounts[-1][0],
        currency=company.currency,
        stage_history=[s for s in stages if s[1] < now],
        owner_history=visible_owners,
        amount_history=visible_amounts,
        company_id=company.company_id,
        contact_ids=contact_ids,
        archived_at=archived_full if archived_full is not None and archived_full < now else None,
        creator_user_id=creator,
        pipeline=pipeline.pipeline_id,
        closedate_history=[c for c in closedates if c[1] < now],
        forecast_history=[c for c in categories if c[1] < now],
        custom=custom,
    )
    return deal, archived_full, won[0] if won else None


def _owner_for(
    full: dict[str, list[Assignment]],
    quota_reps: list[str],
    company: Company,
    created: datetime,
    roll: float,
    pick: float,
) -> str:
    local = _reps_in(full, company.territory, created) or quota_reps
    if roll < 0.7 and company.owner_id in local:
        return company.owner_id
    return local[int(pick * len(local))]


def _renewal_deals(
    config: WorldConfig,
    full: dict[str, list[Assignment]],
    companies: _Chronicle,
    contacts_by_company: dict[str, list[tuple[int, str]]],
    first_won: dict[str, datetime],
) -> list[Deal]:
    """The Renewals pipeline: a customer (a company that won a deal before) renews its contract. Every day's
    renewals come from a stream of their own, so the sales pipeline's deals are the same with or without them."""
    seed = config.seed
    pipeline = PIPELINES_BY_ID[RENEWAL_PIPELINE]
    open_stages = pipeline.open_stages
    quota_reps = sorted(oid for oid, h in full.items() if h[0].manager_id is not None)
    customers = sorted((at, company_id) for company_id, at in first_won.items())
    deals: list[Deal] = []
    for day_index, day in days(config):
        rng = rng_for(seed, "renewal-deals", day)
        for k in range(daily_count(rng, RENEWALS_PER_DAY * config.scale)):
            created = at_utc(day, rng.randrange(8 * 3600, 20 * 3600))
            company_pick, owner_roll, owner_pick, contact_pick = rng.random(), rng.random(), rng.random(), rng.random()
            n_customers = bisect.bisect_left(customers, (created, ""))
            amount = money(rng.randrange(2_000, 40_000) + rng.choice((0, 0.5)))
            stages: list[tuple[str, datetime]] = [(open_stages[0], created)]
            at, idx = created, 0
            while True:
                at = at + timedelta(days=rng.randint(2, 20), seconds=rng.randrange(3600 * 8))
                roll = rng.random()
                if roll < 0.15:
                    stages.append((pipeline.lost_stage, at))
                    break
                if roll < 0.2:
                    break  # stalled
                idx += 1
                if idx == len(open_stages):
                    stages.append((pipeline.won_stage, at))
                    break
                stages.append((open_stages[idx], at))
            if not n_customers:
                continue  # no customer to renew yet (the draws above keep the stream aligned)
            company = companies_by(companies, customers[int(company_pick * n_customers)][1])
            owner = _owner_for(full, quota_reps, company, created, owner_roll, owner_pick)
            people = contacts_by_company.get(company.company_id, [])
            available = bisect.bisect_left([d for d, _ in people], day_index)
            contact_ids = (people[int(contact_pick * available)][1],) if available else ()
            deal_id = str(21_000_000_000 + day_index * 1_000 + k)
            name = f"{company.name} - Renewal {created.year}"
            deal, _, _ = _walked_deal(
                config,
                full,
                quota_reps,
                rng,
                pipeline,
                deal_id,
                name,
                created,
                owner,
                company,
                contact_ids,
                amount,
                stages,
                int(owner) - USER_ID_OFFSET,
                archive_rate=0.02,
            )
            deals.append(deal)
    return deals


def companies_by(companies: _Chronicle, company_id: str) -> Company:
    index = getattr(companies, "_by_id", None)
    if index is None:
        index = {c.company_id: c for c in companies.items}
        companies._by_id = index  # type: ignore[attr-defined]
    return index[company_id]


def _duplicate_deals(
    config: WorldConfig, deals: list[Deal], archivals: dict[str, datetime | None]
) -> list[tuple[Deal, Deal, datetime]]:
    """Deals a rep created twice (same company, contacts, amount) and merged into the original some days later:
    (original, duplicate, merge time) for every duplicate created before now. Drawn from a stream of their
    own (the originals: the sales pipeline's deals of the two weeks before, never one archived by then)."""
    seed, now = config.seed, config.now
    originals = sorted((d for d in deals if d.pipeline == "default"), key=lambda d: d.created_at)
    created_at = [d.created_at for d in originals]
    out: list[tuple[Deal, Deal, datetime]] = []
    for day_index, day in days(config):
        rng = rng_for(seed, "deal-duplicates", day)
        for k in range(daily_count(rng, DUPLICATE_DEALS_PER_DAY * config.scale)):
            created = at_utc(day, rng.randrange(8 * 3600, 20 * 3600))
            pick = rng.random()
            merge_at = created + timedelta(days=rng.randint(1, 30), seconds=rng.randrange(86_400))
            lo, hi = (
                bisect.bisect_left(created_at, created - timedelta(days=14)),
                bisect.bisect_left(created_at, created),
            )
            if lo == hi or created >= now:
                continue
            original = originals[lo + int(pick * (hi - lo))]
            gone = archivals.get(original.deal_id)
            if gone is not None and gone < merge_at:
                continue
            owner = original.owner_at(created)
            dup = Deal(
                deal_id=str(22_000_000_000 + day_index * 1_000 + k),
                name=original.name,
                created_at=created,
                owner_id=owner,
                amount=original.amount_at(created),
                currency=original.currency,
                stage_history=[(OPEN_STAGES[0], created)],
                owner_history=[(owner, created)],
                amount_history=[(original.amount_at(created), created)],
                company_id=original.company_id,
                contact_ids=original.contact_ids,
                creator_user_id=int(owner) - USER_ID_OFFSET,
                closedate_history=[(_midnight(created + timedelta(days=45)), created)],
                forecast_history=[("PIPELINE", created)],
            )
            out.append((original, dup, merge_at))
    return out


def _goal_targets(config: WorldConfig, full: dict[str, list[Assignment]]) -> list[GoalTarget]:
    """One quota per rep per month, 2025-01 through the as_of month; each drawn from its own stream."""
    targets: list[GoalTarget] = []
    reps = sorted(oid for oid, h in full.items() if h[0].manager_id is not None)
    month, month_index = HISTORY_START, 0
    while month <= config.as_of:
        for r, oid in enumerate(reps):
            base = rng_for(config.seed, "quota", oid).uniform(60_000, 110_000)
            factor = rng_for(config.seed, "quota", oid, month).uniform(0.85, 1.2)
            amount = max(Decimal(100), Decimal(round(base * factor * config.scale, -2)))
            targets.append(
                GoalTarget(
                    goal_id=str(90_000_000_000 + month_index * 100 + r),
                    owner_id=oid,
                    month_start=month,
                    amount_usd=money(amount),
                    created_at=at_utc(month - timedelta(days=14), 9 * 3600 + r * 60),
                )
            )
        month, month_index = _next_month(month), month_index + 1
    return targets


def _duplicate_contacts(
    config: WorldConfig, chronicle: _Chronicle, changes: dict[str, list[Change]]
) -> list[tuple[str, Contact, list[Change], datetime]]:
    """Contacts entered twice (the same person with a personal email, the same company and owner), merged into
    the original some days later: (original id, duplicate, its full changes, merge time). A stream of their own;
    the originals are contacts of the month before."""
    seed = config.seed
    out: list[tuple[str, Contact, list[Change], datetime]] = []
    for day_index, day in days(config):
        rng = rng_for(seed, "contact-duplicates", day)
        for k in range(daily_count(rng, DUPLICATE_CONTACTS_PER_DAY * config.scale)):
            created = at_utc(day, rng.randrange(7 * 3600, 20 * 3600))
            pick = rng.random()
            merge_at = created + timedelta(days=rng.randint(1, 45), seconds=rng.randrange(86_400))
            lo, hi = chronicle.before(day_index - 30), chronicle.before(day_index)
            if lo == hi:
                continue
            original: Contact = chronicle.items[lo + int(pick * (hi - lo))]
            serial = (day_index + 1) * 1_000 + k
            cid = str(34_000_000_000 + serial)
            email = f"{_ascii(original.first_name)}{_ascii(original.last_name)}{serial % 997}@gmail.example"
            creator = int(original.owner_id) - USER_ID_OFFSET if original.owner_id else None
            values = {c.name: c.value for c in changes[original.contact_id] if c.at <= created}
            record = [
                Change(created, n, v, creator)
                for n, v in (
                    ("firstname", original.first_name),
                    ("lastname", original.last_name),
                    ("email", email),
                    ("phone", values.get("phone")),
                    ("jobtitle", values.get("jobtitle")),
                    ("company", values.get("company")),
                    ("associatedcompanyid", original.company_id),
                    ("hubspot_owner_id", original.owner_id),
                    ("lifecyclestage", "lead"),
                    ("createdate", created),
                )
            ]
            dup = Contact(
                cid,
                original.first_name,
                original.last_name,
                email,
                created,
                original.company_id,
                original.owner_id,
                None,
                [],
            )
            out.append((original.contact_id, dup, record, merge_at))
    return out


def _contact_custom(seed: int, contact: Contact, creator: int | None) -> list[Change]:
    rng = rng_for(seed, "contact-custom", contact.contact_id)
    return [Change(contact.created_at, "preferred_channel", rng.choice(CONTACT_CHANNELS), creator)]


def build_crm(config: WorldConfig, commerce: CommerceWorld | None = None) -> CrmWorld:
    now = config.now
    owners, full = _owners(config.seed, now)
    company_chronicle, company_changes = _companies(config, full)
    contact_chronicle, contact_changes, by_company = _contacts(config, company_chronicle, commerce)
    deals, first_won, archivals = _deals(config, full, company_chronicle, by_company)
    deals += _renewal_deals(config, full, company_chronicle, by_company, first_won)
    companies: list[Company] = company_chronicle.items
    for c in companies:
        changes = company_changes[c.company_id]
        if c.company_id in first_won:  # becomes a customer when its first deal is won
            changes.append(Change(first_won[c.company_id], "lifecyclestage", "customer", None))
            changes.sort(key=lambda ch: ch.at)
        c.changes = [ch for ch in changes if ch.at < now]

    # duplicates, and their merges into the original (revealed when before now)
    merged_deals: list[Deal] = []
    deal_merges: dict[str, str] = {}
    by_id = {d.deal_id: d for d in deals}
    for original, dup, merge_at in _duplicate_deals(config, deals, archivals):
        if merge_at < now:
            survivor = by_id[original.deal_id]
            survivor.merged.append((dup.deal_id, merge_at))
            survivor.merged.sort(key=lambda m: m[1])
            merged_deals.append(dup)
            deal_merges[dup.deal_id] = survivor.deal_id
        else:
            deals.append(dup)
    contacts: list[Contact] = list(contact_chronicle.items)
    merged_contacts: list[Contact] = []
    contact_merges: dict[str, str] = {}
    merged_ids: dict[str, list[tuple[datetime, str]]] = {}
    for original_id, dup, record, merge_at in _duplicate_contacts(config, contact_chronicle, contact_changes):
        contact_changes[dup.contact_id] = record
        if merge_at < now:
            merged_ids.setdefault(original_id, []).append((merge_at, dup.contact_id))
            merged_contacts.append(dup)
            contact_merges[dup.contact_id] = original_id
        else:
            contacts.append(dup)
    for original_id, merges in merged_ids.items():  # hs_merged_object_ids grows with each merge, in time order
        merges.sort()
        for i, (merge_at, _) in enumerate(merges):
            ids = ";".join(m for _, m in merges[: i + 1])
            contact_changes[original_id].append(Change(merge_at, "hs_merged_object_ids", ids, None))
    for p in [*contacts, *merged_contacts]:
        changes = contact_changes[p.contact_id] + _contact_custom(config.seed, p, _creator(p))
        changes.sort(key=lambda ch: ch.at)
        p.changes = [ch for ch in changes if ch.at < now]
    deals.sort(key=lambda d: int(d.deal_id))
    companies.sort(key=lambda c: int(c.company_id))
    contacts.sort(key=lambda c: int(c.contact_id))
    return CrmWorld(
        owners=owners,
        deals=deals,
        companies=companies,
        contacts=contacts,
        goal_targets=_goal_targets(config, full),
        merged_deals=merged_deals,
        merged_contacts=merged_contacts,
        deal_merges=deal_merges,
        contact_merges=contact_merges,
    )


def _creator(contact: Contact) -> int | None:
    return int(contact.owner_id) - USER_ID_OFFSET if contact.owner_id else None
