"""The CRM side of the world: sales reps (owners) and deals moving through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from typing import TYPE_CHECKING

from ingestion.sandbox.sim import (
    DEALS_PER_DAY, HISTORY_START, TERRITORIES, WorldConfig, _FIRST, _LAST, at_utc, daily_count, days, money, rng_for,
)

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
OPEN_STAGES = tuple(s[0] for s in DEAL_STAGES[:5])

if TYPE_CHECKING:
    from ingestion.sandbox.commerce_world import CommerceWorld


@dataclass(frozen=True)
class Owner:
    owner_id: str
    first_name: str
    last_name: str
    email: str
    territory: str
    manager_id: str | None
    created_at: datetime


@dataclass
class Deal:
    deal_id: str
    name: str
    created_at: datetime
    owner_id: str
    amount: Decimal
    currency: str
    stage_history: list[tuple[str, datetime]]  # stages entered up to as_of, in order

    @property
    def stage(self) -> str:
        return self.stage_history[-1][0]

    @property
    def updated_at(self) -> datetime:
        return self.stage_history[-1][1]

    @property
    def closed_at(self) -> datetime | None:
        return self.updated_at if self.stage in ("closedwon", "closedlost") else None


@dataclass
class CrmWorld:
    owners: list[Owner]
    deals: list[Deal]


def _owners(seed: int) -> list[Owner]:
    rng = rng_for(seed, "owners")
    owners: list[Owner] = []
    for i in range(24):
        territory = TERRITORIES[i % 4]
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        is_manager = i < 4
        owners.append(Owner(
            owner_id=str(70_000_000 + i), first_name=first, last_name=last,
            email=f"{first.lower()}.{last.lower()}{i}@pastapro.example",
            territory=territory, manager_id=None if is_manager else str(70_000_000 + i % 4),
            created_at=at_utc(HISTORY_START - timedelta(days=30), i * 3600),
        ))
    return owners


def _deals(config: WorldConfig, owners: list[Owner]) -> list[Deal]:
    seed, now = config.seed, config.now
    reps = [o for o in owners if o.manager_id is not None]
    deals: list[Deal] = []
    for day_index, day in days(config):
        rng = rng_for(seed, "deals", day)
        for k in range(daily_count(rng, DEALS_PER_DAY * config.scale)):
            owner = rng.choice(reps)
            created = at_utc(day, rng.randrange(8 * 3600, 20 * 3600))
            currency = rng.choice(("EUR", "GBP", "USD")) if owner.territory == "International" else "USD"
            history: list[tuple[str, datetime]] = [("appointmentscheduled", created)]
            at = created
            # walk the pipeline: at each open stage, advance, lose, or (rarely) stall
            for stage in OPEN_STAGES[1:] + ("closedwon",):
                at = at + timedelta(days=rng.randint(1, 12), seconds=rng.randrange(3600 * 8))
                roll = rng.random()
                if roll < 0.22:
                    history.append(("closedlost", at))
                    break
                if roll < 0.25:
                    break  # stalled in its current stage
                history.append((stage, at))
            visible = [(s, t) for s, t in history if t < now]
            deals.append(Deal(
                deal_id=str(20_000_000_000 + day_index * 1_000 + k),
                name=f"{rng.choice(_LAST)} {rng.choice(('Trattoria', 'Hotel', 'Catering', 'Bistro'))} #{day_index}-{k}",
                created_at=created, owner_id=owner.owner_id,
                amount=money(rng.randrange(500, 60_000) + rng.choice((0, 0.5, 0.99))),
                currency=currency, stage_history=visible,
            ))
    return deals



def build_crm(config: WorldConfig, commerce: "CommerceWorld") -> CrmWorld:
    owners = _owners(config.seed)
    return CrmWorld(owners=owners, deals=_deals(config, owners))
