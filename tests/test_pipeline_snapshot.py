"""Pipeline snapshots, pipeline coverage and the B2B pipeline forecast (docs/architecture.md: Deals as a pipeline): the pipeline as it
was at each month start, rebuilt by the warehouse from the deals' property histories, equals a recount from the
world's own deal histories (sandbox objects, never the API); coverage and the forecast follow from it."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sandbox.server import SandboxServer
from sandbox.sim import HISTORY_START, to_usd
from sandbox.truth import compute_truth, month_starts
from sandbox.world import World
from tests.helpers import query

READS_SHARED_BUILD = True

Key = tuple[str, str, str | None, str | None, str]  # snapshot month, rep, expected-close month, category, stage


def _month(day: date | datetime | None) -> str | None:
    return day.strftime("%Y-%m") if day else None


def recount(world: World) -> dict[Key, tuple[int, Decimal]]:
    """Deals and USD amount per (snapshot month, rep, expected-close month, category, stage), from the world."""
    out: dict[Key, list] = defaultdict(lambda: [0, Decimal("0.00")])
    for month in month_starts(HISTORY_START, world.config.as_of):
        at = datetime(month.year, month.month, 1, tzinfo=UTC)
        for d in world.deals:
            s = d.open_at(at)
            if s is None:
                continue
            row = out[(_month(month), s.owner_id, _month(s.closedate), s.forecast_category, s.stage)]
            row[0] += 1
            row[1] += to_usd(s.amount, world.usd_per_unit(s.currency, month))
    return {k: (n, usd) for k, (n, usd) in out.items()}


def snapshot(path: Path) -> dict[Key, tuple[int, Decimal]]:
    rows = query(
        path,
        "select strftime(snapshot_month, '%Y-%m'), rep_id, strftime(expected_close_month, '%Y-%m'), "
        "forecast_category, stage, sum(deals), sum(amount_usd) from marts.pipeline_snapshot_monthly "
        "group by 1, 2, 3, 4, 5",
    )
    return {(m, r, e, c, s): (int(n), usd) for m, r, e, c, s, n, usd in rows}


def test_every_months_snapshot_equals_a_recount_from_the_worlds_histories(
    warehouse: Path, sandbox: SandboxServer
) -> None:
    world = sandbox.app.world
    expected, got = recount(world), snapshot(warehouse)
    # not vacuous: many months, and the past differs from today (slipped dates, later stages, new amounts)
    months = {k[0] for k in expected}
    assert len(months) >= 24 and sum(n for n, _ in expected.values()) > 100
    now = world.config.now
    first = datetime(2025, 1, 1, tzinfo=UTC)
    then = [(d, d.open_at(first)) for d in world.deals if d.open_at(first)]
    assert any(_month(s.closedate) != _month(d.closedate) for d, s in then)
    assert any(s.stage != d.stage_at(now) for d, s in then)
    assert any(s.forecast_category != d.forecast_category for d, s in then)
    differ = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
    extra = {k: v for k, v in got.items() if k not in expected}
    assert not differ and not extra, (list(differ.items())[:3], list(extra.items())[:3])


def test_snapshot_totals_equal_the_truth(warehouse: Path, sandbox: SandboxServer) -> None:
    truth = compute_truth(sandbox.app.world)["pipeline_monthly"]
    want: dict[tuple[str, str | None], list] = defaultdict(lambda: [0, Decimal("0.00")])
    for r in truth:
        want[(r["snapshot_month"], r["expected_close_month"])][0] += r["deals"]
        want[(r["snapshot_month"], r["expected_close_month"])][1] += Decimal(r["amount_usd"])
    rows = query(
        warehouse,
        "select strftime(snapshot_month, '%Y-%m'), strftime(expected_close_month, '%Y-%m'), sum(deals), "
        "sum(amount_usd) from marts.pipeline_snapshot_monthly group by 1, 2",
    )
    assert {(m, e): [int(n), usd] for m, e, n, usd in rows} == dict(want)
    assert any(r["currency"] != "USD" for r in truth)  # converted at the snapshot date's rate


def test_weighted_amount_is_the_stage_probability_times_the_amount(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select p.stage, p.amount_usd, p.weighted_amount_usd, s.win_probability from marts.pipeline_snapshot_monthly p "
        "join staging.stg_crm__deal_pipeline_stages s on s.stage_id = p.stage",
    )
    assert rows and {r[0] for r in rows} >= {"appointmentscheduled", "contractsent"}
    for _, amount, weighted, probability in rows:
        assert abs(weighted - amount * probability) <= Decimal("0.01")


def test_b2b_forecasts_are_non_negative_inside_their_intervals_and_reps_add_up_to_the_channel(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select forecast_month, horizon, target_month, rep_id, forecast_usd, lower_usd, upper_usd, pipeline_part_usd, "
        "run_rate_part_usd from intermediate.int_b2b_forecasts",
    )
    assert rows and {r[1] for r in rows} == {1, 2, 3}
    assert sum(r[5] < r[4] < r[6] for r in rows) > len(rows) // 2  # real intervals, not points
    channel: dict[tuple[date, int], Decimal] = {}
    reps: dict[tuple[date, int], Decimal] = defaultdict(Decimal)
    for month, horizon, target, rep, point, lower, upper, pipeline_part, run_rate_part in rows:
        assert target.month == (month.month + horizon - 2) % 12 + 1
        assert 0 <= lower <= point <= upper
        assert abs(point - pipeline_part - run_rate_part) <= Decimal("0.01")
        if rep is None:
            channel[(month, horizon)] = point
        else:
            reps[(month, horizon)] += point
    assert channel.keys() == reps.keys()
    assert all(abs(channel[k] - reps[k]) <= Decimal("0.01") * 30 for k in channel)
