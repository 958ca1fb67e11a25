"""Core of the simulation: the world's coordinates (seed, scale, as_of), seeded streams, money helpers.

Every record is generated from its own seeded random stream (per kind and per day), so the records
of a day never depend on ``as_of``: moving ``as_of`` forward only adds new records and reveals later
events (refunds, cancellations, stage changes, shipments) of old ones.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

HISTORY_START = date(2024, 1, 1)  # two full years before the default as_of: a year of seasonality to learn
DEFAULT_AS_OF = date(2026, 10, 31)
CENT = Decimal("0.01")
RATE_QUANTUM = Decimal("0.00000001")

# The average day's transactions at scale 1 at the trend anchor (sandbox/demand.py moves each day around it;
# docs/architecture.md: The simulated company: ~40k Shopify, 25k Amazon, 8k eBay orders, 5k deals over the history).
SHOPIFY_ORDERS_PER_DAY = 36
AMAZON_ORDERS_PER_DAY = 23
DEALS_PER_DAY = 5.3

FX_CURRENCIES = ("EUR", "GBP", "CAD")
# Starting USD value of one unit of each currency; a seeded random walk moves it day by day.
FX_START = {"EUR": Decimal("1.04"), "GBP": Decimal("1.25"), "CAD": Decimal("0.70")}
TERRITORIES = ("West", "Central", "East", "International")


_PASTA = (
    "Spaghetti",
    "Penne",
    "Fusilli",
    "Rigatoni",
    "Linguine",
    "Farfalle",
    "Orecchiette",
    "Tagliatelle",
    "Pappardelle",
    "Bucatini",
    "Gnocchi",
    "Ravioli",
    "Tortellini",
    "Conchiglie",
    "Casarecce",
    "Paccheri",
    "Trofie",
    "Fettuccine",
    "Ziti",
    "Lasagne",
)
_SAUCES = (
    "Marinara",
    "Arrabbiata",
    "Pesto Genovese",
    "Bolognese",
    "Puttanesca",
    "Alfredo",
    "Vodka",
    "Cacio e Pepe",
    "Amatriciana",
    "Carbonara",
)
_FIRST = (
    "Ada",
    "Ben",
    "Chiara",
    "Dario",
    "Elena",
    "Franco",
    "Giulia",
    "Hugo",
    "Irene",
    "Jonas",
    "Kara",
    "Luca",
    "Marta",
    "Nico",
    "Olga",
    "Paolo",
    "Rosa",
    "Sami",
    "Tina",
    "Umberto",
)
_LAST = (
    "Rossi",
    "Smith",
    "Bianchi",
    "Garcia",
    "Ferrari",
    "Chen",
    "Romano",
    "Müller",
    "Costa",
    "Brown",
    "Ricci",
    "Novak",
    "Greco",
    "Lopez",
    "Conti",
    "Kim",
    "Moretti",
    "Dubois",
)


def money(value: Decimal | int | float | str) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def to_usd(amount: Decimal, usd_per_unit: Decimal) -> Decimal:
    """The warehouse's conversion rule: amount × rate, rounded half away from zero to the cent."""
    return money(amount * usd_per_unit)


def rng_for(seed: int, *key: object) -> random.Random:
    return random.Random(":".join(str(k) for k in (seed, *key)))


def daily_count(rng: random.Random, mean: float) -> int:
    """A count with the given mean: the integer part plus a Bernoulli draw for the fraction."""
    whole = int(mean)
    return whole + (1 if rng.random() < mean - whole else 0)


def at_utc(day: date, seconds: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds)


@dataclass(frozen=True)
class WorldConfig:
    seed: int = 7
    scale: float = 1.0
    as_of: date = DEFAULT_AS_OF

    @property
    def now(self) -> datetime:
        """The world's clock: the end of the ``as_of`` day (midnight UTC after it)."""
        return at_utc(self.as_of + timedelta(days=1), 0)


def days(config: WorldConfig) -> Iterator[tuple[int, date]]:
    day = HISTORY_START
    while day <= config.as_of:
        yield (day - HISTORY_START).days, day
        day += timedelta(days=1)
