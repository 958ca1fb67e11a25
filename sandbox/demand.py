"""Demand of the simulated company (docs/architecture.md: The demand model): how many orders (or new deals)
a channel gets on a day.

The mean of a day is ``base × trend × weekday × season × holiday × promotion × month shock × day shock``:
- trend: a constant yearly growth rate per channel (log-linear), 1.0 at ``TREND_ANCHOR``;
- weekday: a fixed profile per channel (the shop sells on Sundays, B2B buyers on weekdays);
- season: one smooth yearly harmonic (comfort food sells in winter, less in summer);
- holiday: the peak from Black Friday to Christmas (Black Friday and Cyber Monday spike, the week after
  Christmas dips);
- promotion: a few promotions a year per channel, each with its own seeded start, length and lift
  (Amazon's Prime Day in July is one of them), so their timing differs from year to year;
- month shock: an AR(1) process over months (a good or a bad month lingers), drawn month by month;
- day shock: log-normal day-to-day noise. The count itself is then a Poisson draw around the mean.

Everything is a pure function of (seed, channel, day): a day's demand never depends on ``as_of``.
``planning_multiplier`` is what the business could know in advance (trend, weekday, season and holiday, no
shocks and no promotions): the plan is set from it, and it is deliberately not the truth.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from sandbox.sim import HISTORY_START, rng_for

TREND_ANCHOR = date(2025, 6, 1)  # trend = 1.0 here, near the middle of the default history
MONTH_SHOCK_PHI = 0.55  # persistence of a month's shock into the next
CHANNELS = ("shopify", "amazon", "ebay", "b2b")


@dataclass(frozen=True)
class ChannelDemand:
    growth: float  # yearly growth of demand (0.25 = +25 % a year)
    weekday: tuple[float, ...]  # Monday .. Sunday
    season_amplitude: float  # the yearly harmonic's amplitude (0.1 = ±10 %)
    season_peak_day: int  # day of the year at which the harmonic peaks
    holiday_lift: float  # extra demand at the height of the holiday season (0.5 = +50 %)
    promotions_per_year: tuple[int, int]  # how many promotions a year (inclusive range)
    promotion_lift: tuple[float, float]  # a promotion's lift (inclusive range)
    month_shock_sd: float  # innovation of the AR(1) month shock (log scale)
    day_shock_sd: float  # log-normal day noise


DEMAND = {
    "shopify": ChannelDemand(
        0.28, (1.02, 0.95, 0.93, 0.97, 0.96, 1.04, 1.13), 0.10, 20, 0.55, (4, 6), (1.25, 1.7), 0.045, 0.12
    ),
    # marketplace buyers stock up in winter; beyond Prime Day a seller runs one or two small deals a year
    "amazon": ChannelDemand(
        0.20, (1.00, 0.98, 0.97, 0.98, 0.97, 1.03, 1.07), 0.15, 30, 0.70, (1, 2), (1.15, 1.4), 0.035, 0.10
    ),
    "ebay": ChannelDemand(
        0.12, (0.97, 0.95, 0.96, 0.97, 0.98, 1.06, 1.11), 0.06, 10, 0.35, (1, 3), (1.2, 1.6), 0.05, 0.14
    ),
    # deals created: restaurants plan menus in spring and autumn, buyers rarely open deals on weekends
    "b2b": ChannelDemand(
        0.15, (1.20, 1.25, 1.25, 1.2, 1.0, 0.30, 0.15), 0.12, 270, -0.25, (0, 0), (1.0, 1.0), 0.06, 0.15
    ),
}


@dataclass(frozen=True)
class Promotion:
    channel: str
    name: str  # the discount code on a Shopify order; the campaign's name elsewhere
    start: date
    end: date  # inclusive
    lift: float
    discount: float  # the discount the promotion gives (a share of the order's gross)

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


def black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return thursday + timedelta(days=22)


def holiday_shape(day: date) -> float:
    """0 outside the season, up to 1 at its height: Black Friday and Cyber Monday, then a ramp to Christmas;
    the days after Christmas dip below normal (negative)."""
    bf = black_friday(day.year)
    if day < bf - timedelta(days=7):
        return 0.0
    if day < bf:  # the week before: early deals
        return 0.15
    offset = (day - bf).days
    if offset == 0:
        return 1.6
    if offset == 3:  # Cyber Monday
        return 1.3
    christmas = date(day.year, 12, 25)
    if day < christmas - timedelta(days=2):
        span = (christmas - bf).days
        return 0.35 + 0.65 * offset / span  # shopping builds towards Christmas
    if day <= christmas:
        return 0.2
    return -0.3  # the lull after Christmas


def _trend(spec: ChannelDemand, day: date) -> float:
    return (1 + spec.growth) ** ((day - TREND_ANCHOR).days / 365.25)


def _season(spec: ChannelDemand, day: date) -> float:
    angle = 2 * math.pi * (day.timetuple().tm_yday - spec.season_peak_day) / 365.25
    return 1 + spec.season_amplitude * math.cos(angle)


def planning_multiplier(channel: str, day: date) -> float:
    """What can be known in advance: trend × weekday × season × holiday (no promotions, no shocks)."""
    spec = DEMAND[channel]
    return (
        _trend(spec, day)
        * spec.weekday[day.weekday()]
        * _season(spec, day)
        * max(0.2, 1 + spec.holiday_lift * holiday_shape(day))
    )


@lru_cache(maxsize=64)
def promotions(seed: int, channel: str, year: int) -> tuple[Promotion, ...]:
    """The year's promotions of a channel, each with its own timing (never inside the holiday season)."""
    spec = DEMAND[channel]
    rng = rng_for(seed, "promotions", channel, year)
    out: list[Promotion] = []
    if channel == "amazon":  # Prime Day: two days in the second or third week of July
        start = date(year, 7, rng.randint(8, 17))
        out.append(
            Promotion(channel, f"PRIMEDAY{year % 100}", start, start + timedelta(days=1), rng.uniform(2.0, 2.6), 0.2)
        )
    for n in range(rng.randint(*spec.promotions_per_year)):
        length = rng.randint(3, 10)
        start = date(year, 1, 1) + timedelta(days=rng.randint(10, 300))
        if any(p.start - timedelta(days=length + 3) <= start <= p.end + timedelta(days=3) for p in out):
            continue  # overlapping promotions are not run
        name = f"{('SPRING', 'SUMMER', 'PASTA', 'SAUCE', 'FALL', 'FRESH', 'FAMILY')[rng.randrange(7)]}{rng.choice((15, 20, 25))}"
        discount = int(name[-2:]) / 100
        out.append(
            Promotion(
                channel,
                f"{name}-{year % 100}{n}",
                start,
                start + timedelta(days=length - 1),
                rng.uniform(*spec.promotion_lift),
                discount,
            )
        )
    return tuple(sorted(out, key=lambda p: p.start))


def promotion_on(seed: int, channel: str, day: date) -> Promotion | None:
    return next((p for p in promotions(seed, channel, day.year) if p.covers(day)), None)


def _month_index(day: date) -> int:
    return (day.year - HISTORY_START.year) * 12 + day.month - HISTORY_START.month


@lru_cache(maxsize=4096)
def month_shock(seed: int, channel: str, month_index: int) -> float:
    """The AR(1) shock of a month (log scale), drawn month by month from a month before the history."""
    if month_index < 0:
        return 0.0
    spec = DEMAND[channel]
    innovation = rng_for(seed, "demand-month", channel, month_index).gauss(0, spec.month_shock_sd)
    return MONTH_SHOCK_PHI * month_shock(seed, channel, month_index - 1) + innovation


def daily_mean(seed: int, channel: str, day: date, base: float) -> float:
    """The expected count of ``day`` for a channel whose average day (at the trend anchor) is ``base``."""
    spec = DEMAND[channel]
    mean = base * planning_multiplier(channel, day)
    promotion = promotion_on(seed, channel, day)
    if promotion is not None:
        mean *= promotion.lift
    shock = month_shock(seed, channel, _month_index(day))
    day_noise = rng_for(seed, "demand-day", channel, day).gauss(0, spec.day_shock_sd)
    return mean * math.exp(shock + day_noise - spec.day_shock_sd**2 / 2)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (a normal approximation above 60, where the exact loop gets slow)."""
    if mean <= 0:
        return 0
    if mean > 60:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def daily_orders(seed: int, channel: str, day: date, base: float, rng: random.Random) -> int:
    """How many orders (or, for b2b, new deals) ``day`` brings: a Poisson draw around ``daily_mean``."""
    return poisson(rng, daily_mean(seed, channel, day, base))
