"""The sales plan finance keeps in a spreadsheet (docs/architecture.md: The plan): a pure function of the WorldConfig.

Monthly targets of net revenue in USD (``net_revenue_usd``, the metric of finance.monthly_revenue) per
channel, and for ``b2b`` per territory. Versions:

- ``budget_<year>``: the annual budget, published on Dec 1 of the year before, for all 12 months;
- ``reforecast_<year>_q<n>`` (n = 2, 3, 4): published on the quarter's first day, for the rest of the year.

A version exists once published on or before ``config.as_of`` (before the world's ``now``).

How a planner sets a number (never from the warehouse or an API, and deliberately not the truth):
expected orders (or, for b2b, deals created) of each day from what is knowable in advance,
``base × scale × sandbox.demand.planning_multiplier(channel, day)``, times the planner's net revenue per order
(``NET_PER_UNIT``, what last year's books suggested, off by a seeded few percent), times an optimism of the
version (budgets are hopeful, reforecasts less so), rounded as planners round (to $100, to $10 under $10k).
A reforecast moves towards what happened: it scales the rest of the year by part of the ratio between the
realised demand of the quarter just ended (``daily_mean``: promotions and shocks included) and what was
knowable of it. B2B is split over territories by fixed planning shares.

The sheet also carries a few malformed rows on purpose, fixed per world (``MALFORMED``): a number cell reading
"TBD", a month that does not parse ("Sept 2025", "2025-13"), an unknown channel, and a duplicate row (the same
version × month × channel × territory again, with a stale amount; the first occurrence is the plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from sandbox.commerce_world import EBAY_ORDERS_PER_DAY
from sandbox.demand import daily_mean, planning_multiplier
from sandbox.sim import (
    AMAZON_ORDERS_PER_DAY,
    DEALS_PER_DAY,
    HISTORY_START,
    SHOPIFY_ORDERS_PER_DAY,
    TERRITORIES,
    WorldConfig,
    rng_for,
)

PLAN_CHANNELS = ("shopify", "amazon", "ebay", "b2b")
# what one expected order (b2b: one deal created) is worth in net revenue, as the planner reckons it
NET_PER_UNIT = {"shopify": 34.0, "amazon": 13.5, "ebay": 23.0, "b2b": 9000.0}
BASE_PER_DAY = {
    "shopify": SHOPIFY_ORDERS_PER_DAY,
    "amazon": AMAZON_ORDERS_PER_DAY,
    "ebay": EBAY_ORDERS_PER_DAY,
    "b2b": DEALS_PER_DAY,
}
TERRITORY_SHARES = {"West": 0.31, "Central": 0.24, "East": 0.29, "International": 0.16}
REFORECAST_QUARTERS = (2, 3, 4)
REFORECAST_PULL = 0.6  # the share of the last quarter's surprise a reforecast carries into the rest of the year

SPREADSHEET_ID = "1PstPr0-SalesPlan-vX7qLmN2bR4tY8wZ3kJ6hD9fGcA"
SPREADSHEET_TITLE = "PastaPro Sales Plan"
PLAN_SHEET = "Plan"
ASSUMPTIONS_SHEET = "Assumptions"
HEADER = ("Version", "Month", "Channel", "Territory", "Net revenue (USD)", "Published", "Notes")


@dataclass(frozen=True)
class PlanVersion:
    name: str  # budget_2025, reforecast_2025_q2
    kind: str  # budget | reforecast
    year: int
    published_date: date
    first_month: date  # the first month it covers (Jan for a budget, the quarter's first month otherwise)


@dataclass(frozen=True)
class PlanTarget:
    """One clean plan row: a version's target for a month × channel (× territory for b2b)."""

    version: str
    published_date: date
    month: date  # first day of the month
    channel: str
    territory: str | None
    net_revenue_usd: Decimal

    @property
    def key(self) -> tuple[str, date, str, str | None]:
        return (self.version, self.month, self.channel, self.territory)


# a sheet cell: text, a number (Decimal, shown as currency) or a date (a date cell, shown yyyy-mm or yyyy-mm-dd)
Cell = str | Decimal | date


@dataclass(frozen=True)
class SheetRow:
    cells: tuple[Cell, ...]  # in HEADER order, trailing empty cells dropped
    problem: str | None = None  # None: a clean row; else the kind of malformation (see MALFORMED)


# the malformed rows every world's sheet carries, and what the ingestion's quarantine reason for each says
MALFORMED = {
    "text_in_number": "is not a number",
    "month_text": "does not parse",
    "month_out_of_range": "does not parse",
    "unknown_channel": "unknown channel",
    "duplicate": "duplicate key",
}


@dataclass(frozen=True)
class Plan:
    config: WorldConfig
    versions: tuple[PlanVersion, ...]
    targets: tuple[PlanTarget, ...]  # the clean plan, in sheet order
    rows: tuple[SheetRow, ...]  # the Plan tab's data rows (under the header), malformed ones included

    @property
    def malformed(self) -> list[tuple[int, SheetRow]]:
        """(sheet row number, row) of each malformed row; the header is row 1."""
        return [(i + 2, r) for i, r in enumerate(self.rows) if r.problem is not None]


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _days(month: date) -> list[date]:
    end = _next_month(month)
    return [month + timedelta(days=i) for i in range((end - month).days)]


def versions(config: WorldConfig) -> tuple[PlanVersion, ...]:
    """Every version published on or before ``as_of``, oldest first."""
    out: list[PlanVersion] = []
    for year in range(HISTORY_START.year, config.as_of.year + 2):
        out.append(PlanVersion(f"budget_{year}", "budget", year, date(year - 1, 12, 1), date(year, 1, 1)))
        for q in REFORECAST_QUARTERS:
            first = date(year, 3 * q - 2, 1)
            out.append(PlanVersion(f"reforecast_{year}_q{q}", "reforecast", year, first, first))
    return tuple(v for v in out if v.published_date <= config.as_of)


def _round(amount: float) -> Decimal:
    step = 100 if amount >= 10_000 else 10
    return (Decimal(str(amount)) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def _knowable(config: WorldConfig, channel: str, month: date) -> float:
    """Expected orders (b2b: deals created) of the month from what is knowable in advance."""
    base = BASE_PER_DAY[channel] * config.scale
    return sum(base * planning_multiplier(channel, d) for d in _days(month))


def _surprise(config: WorldConfig, channel: str, quarter_start: date) -> float:
    """Realised ÷ knowable demand over the three months before ``quarter_start`` (1.0: as expected)."""
    month, realised, knowable = quarter_start, 0.0, 0.0
    for _ in range(3):
        month = _month_start(month - timedelta(days=1))
        for d in _days(month):
            realised += daily_mean(config.seed, channel, d, 1.0)
            knowable += planning_multiplier(channel, d)
    return realised / knowable if knowable else 1.0


def _version_targets(config: WorldConfig, version: PlanVersion) -> list[PlanTarget]:
    rng = rng_for(config.seed, "plan", version.name)
    targets = []
    for channel in PLAN_CHANNELS:
        # the planner's view of a unit's worth, off by a few percent; budgets hopeful, reforecasts less so
        per_unit = NET_PER_UNIT[channel] * rng.uniform(0.94, 1.08)
        if version.kind == "budget":
            optimism = rng.uniform(1.02, 1.10)
        else:
            surprise = _surprise(config, channel, version.first_month)
            optimism = rng.uniform(0.99, 1.04) * (1 + REFORECAST_PULL * (surprise - 1))
        month = version.first_month
        while month.year == version.year:
            # phased by month as a planner phases a year: the knowable shape, give or take a few percent
            amount = _knowable(config, channel, month) * per_unit * optimism * rng.uniform(0.95, 1.05)
            if channel == "b2b":
                for territory in TERRITORIES:
                    share = TERRITORY_SHARES[territory] * rng.uniform(0.9, 1.1)
                    targets.append(
                        PlanTarget(
                            version.name, version.published_date, month, channel, territory, _round(amount * share)
                        )
                    )
            else:
                targets.append(PlanTarget(version.name, version.published_date, month, channel, None, _round(amount)))
            month = _next_month(month)
    return targets


def _clean_row(t: PlanTarget, note: str = "") -> SheetRow:
    cells: list[Cell] = [t.version, t.month, t.channel, t.territory or "", t.net_revenue_usd, t.published_date]
    if note:
        cells.append(note)
    return SheetRow(tuple(cells))


def _malformed_rows(config: WorldConfig, targets: list[PlanTarget]) -> list[tuple[int, SheetRow]]:
    """(insert after clean row index, row): the world's malformed rows, seeded."""
    rng = rng_for(config.seed, "plan-malformed")
    picks = [rng.randrange(len(targets)) for _ in MALFORMED]
    out: list[tuple[int, SheetRow]] = []
    for (kind, _), at in zip(MALFORMED.items(), picks, strict=True):
        t = targets[at]
        cells: list[Cell] = [t.version, t.month, t.channel, t.territory or "", t.net_revenue_usd, t.published_date]
        if kind == "text_in_number":
            cells[4] = "TBD"
            cells.append("waiting for the promo calendar")
        elif kind == "month_text":
            cells[1] = (
                f"{('Jan', 'Feb', 'Mar', 'Apr', 'May', 'June', 'July', 'Aug', 'Sept', 'Oct', 'Nov', 'Dec')[t.month.month - 1]} {t.month.year}"
            )
        elif kind == "month_out_of_range":
            cells[1] = f"{t.month.year}-13"
        elif kind == "unknown_channel":
            cells[2], cells[3] = "wholesale", ""
        else:  # duplicate: the same key pasted again with the stale amount of an earlier draft
            cells[4] = _round(float(t.net_revenue_usd) * rng.uniform(0.8, 0.95) + 10)
            cells.append("old draft")
        # a duplicate comes after its original; the others anywhere near their key
        out.append((at + (1 if kind == "duplicate" else rng.randint(-2, 2)), SheetRow(tuple(cells), kind)))
    return out


@lru_cache(maxsize=8)
def build_plan(config: WorldConfig) -> Plan:
    """The plan sheet of a world: its versions, the clean targets and the sheet rows (malformed ones included)."""
    published = versions(config)
    targets = [t for v in published for t in _version_targets(config, v)]
    rows = [_clean_row(t) for t in targets]
    if targets:
        for at, row in sorted(_malformed_rows(config, targets), key=lambda p: -p[0]):
            rows.insert(max(0, min(len(rows), at)), row)
    return Plan(config, published, tuple(targets), tuple(rows))


def assumptions_rows(config: WorldConfig) -> list[list[Cell]]:
    """The Assumptions tab: what the planner assumes per channel (shown to humans, not loaded)."""
    rows: list[list[Cell]] = [["Channel", "Net revenue per order (USD)", "Territory share"]]
    for channel in PLAN_CHANNELS:
        rows.append([channel, Decimal(str(NET_PER_UNIT[channel]))])
    for territory, share in TERRITORY_SHARES.items():
        rows.append([f"b2b {territory}", "", Decimal(str(share))])
    return rows
