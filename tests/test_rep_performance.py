"""Rep performance (docs/architecture.md: Warehouse layout, Metric definitions): bookings by owner at close, quotas, commission tiers and the SCD2 rep
dimension, reconciled with the sandbox truth after a pipeline run on a small world."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import requests

from orchestration.runner import RunOutcome
from sandbox.crm_world import _full_owner_history
from sandbox.server import SandboxServer
from sandbox.sim import to_usd
from sandbox.truth import compute_truth
from tests.helpers import DBT_PROJECT_DIR, dbt_build, query, run_main

CENT = Decimal("0.01")
REP_NODES = [
    "commission_plan",
    "snap_crm__rep_assignments",
    "path:models/intermediate/reps",
    "dim_sales_rep",
    "fct_rep_quota",
    "rep_performance_monthly",
]


def _performance(path: Path) -> dict[tuple[str, str], dict]:
    cols = ["quota_usd", "bookings_usd", "attainment_pct", "deals_won", "deals_lost", "commission_usd", "territory"]
    rows = query(
        path, f"select strftime(month_start, '%Y-%m'), rep_id, {', '.join(cols)} from marts.rep_performance_monthly"
    )
    return {(m, r): dict(zip(cols, rest)) for m, r, *rest in rows}


def _plan() -> list[tuple[Decimal, Decimal | None, Decimal]]:
    with open(DBT_PROJECT_DIR / "seeds" / "commission_plan.csv", newline="") as f:
        return [
            (
                Decimal(r["from_attainment"]),
                Decimal(r["to_attainment"]) if r["to_attainment"] else None,
                Decimal(r["rate"]),
            )
            for r in csv.DictReader(f)
        ]


def _commission(bookings: Decimal, quota: Decimal, plan: list) -> Decimal:
    total = Decimal(0)
    for lo, hi, rate in plan:
        top = bookings if hi is None else min(bookings, hi * quota)
        total += rate * max(Decimal(0), top - lo * quota)
    return total.quantize(CENT, rounding=ROUND_HALF_UP)


def _assert_bookings_equal_truth(path: Path, truth: dict) -> None:
    perf = _performance(path)
    expected = {
        (r["month"], r["owner_id"]): (Decimal(r["bookings_usd"]), r["won"], r["lost"]) for r in truth["b2b_by_owner"]
    }
    got = {k: (v["bookings_usd"], v["deals_won"], v["deals_lost"]) for k, v in perf.items()}
    missing = {k: v for k, v in expected.items() if got.get(k, (Decimal("0.00"), 0, 0)) != v}
    assert not missing, (
        f"{len(missing)} rep×month rows differ from truth, e.g. "
        f"{[(k, got.get(k), v) for k, v in list(missing.items())[:3]]}"
    )
    extra = {k: v for k, v in got.items() if k not in expected and v != (Decimal("0.00"), 0, 0)}
    assert not extra, f"warehouse has bookings the truth does not: {list(extra.items())[:3]}"


COPIES_SHARED_BUILD = True  # the last test advances the world and runs again: on a copy of the shared build


@pytest.fixture(scope="module")
def first_run(main_run: RunOutcome) -> RunOutcome:
    """The first main job on this world (the shared build's, whose end state this module copied)."""
    return main_run


def test_bookings_and_deal_counts_by_owner_at_close_equal_truth(
    first_run: RunOutcome, warehouse: Path, sandbox: SandboxServer
) -> None:
    truth = compute_truth(sandbox.app.world)
    assert sum(r["won"] for r in truth["b2b_by_owner"]) > 10 and sum(r["lost"] for r in truth["b2b_by_owner"]) > 10
    reassigned = [
        d
        for d in sandbox.app.world.deals
        if d.closed_at and not d.is_archived and d.owner_at(d.closed_at) != d.owner_id
    ]
    assert reassigned, "the world should reassign some closed deals after close (attribution matters)"
    _assert_bookings_equal_truth(warehouse, truth)


def test_quota_per_rep_and_month_equals_goal_targets(
    first_run: RunOutcome, warehouse: Path, sandbox: SandboxServer
) -> None:
    expected = defaultdict(Decimal)
    for g in sandbox.app.world.crm.goal_targets:
        expected[(g.month_start.strftime("%Y-%m"), g.owner_id)] += g.amount_usd
    fct = {
        (m, r): q
        for m, r, q in query(
            warehouse, "select strftime(month_start, '%Y-%m'), rep_id, quota_usd from marts.fct_rep_quota"
        )
    }
    assert fct == dict(expected)
    perf = _performance(warehouse)
    assert {k: v["quota_usd"] for k, v in perf.items() if v["quota_usd"]} == dict(expected)


def test_commission_recomputed_from_the_seed_tiers(first_run: RunOutcome, warehouse: Path) -> None:
    plan = _plan()
    assert [p[2] for p in plan] == [Decimal("0.04"), Decimal("0.08"), Decimal("0.12")]
    perf = _performance(warehouse)
    assert any(v["commission_usd"] for v in perf.values())
    wrong = {
        k: (v["commission_usd"], _commission(v["bookings_usd"], v["quota_usd"], plan))
        for k, v in perf.items()
        if v["commission_usd"] != _commission(v["bookings_usd"], v["quota_usd"], plan)
    }
    assert not wrong, f"{len(wrong)} commissions differ, e.g. {list(wrong.items())[:3]}"
    for v in perf.values():
        if v["quota_usd"]:
            assert v["attainment_pct"] == (v["bookings_usd"] / v["quota_usd"]).quantize(
                Decimal("0.0001"), rounding=ROUND_HALF_UP
            )


def test_territory_is_the_current_one_for_months_after_the_last_move(
    first_run: RunOutcome, warehouse: Path, sandbox: SandboxServer
) -> None:
    owners = {o.owner_id: o for o in sandbox.app.world.owners}
    perf = _performance(warehouse)
    for (month, rep), v in perf.items():
        owner = owners[rep]
        if month > owner.history[-1].effective_from.strftime("%Y-%m"):
            assert v["territory"] == owner.territory, (month, rep)


def test_pipeline_coverage_is_the_quarters_open_pipeline_over_its_remaining_quota(
    first_run: RunOutcome, warehouse: Path, sandbox: SandboxServer
) -> None:
    """Recomputed from the world: deals open at the month start (their values then, USD at that date's rate)
    owned by the rep and expected to close in the rest of the quarter ÷ (the quarter's goal targets − the
    quarter's bookings before the month, from the truth)."""
    world = sandbox.app.world
    quota: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for g in world.crm.goal_targets:
        quota[(g.owner_id, g.month_start.strftime("%Y-%m"))] += g.amount_usd
    booked = {(r["owner_id"], r["month"]): Decimal(r["bookings_usd"]) for r in compute_truth(world)["b2b_by_owner"]}
    rows = query(
        warehouse,
        "select rep_id, month_start, quarter_pipeline_usd, remaining_quarter_quota_usd, pipeline_coverage, "
        "forecast_usd from marts.rep_performance_monthly",
    )
    checked = covered = 0
    for rep, month, pipeline_usd, remaining, coverage, _ in rows:
        first = date(month.year, 3 * ((month.month - 1) // 3) + 1, 1)
        quarter = [date(first.year, first.month + i, 1) for i in range(3)]
        at = datetime(month.year, month.month, 1, tzinfo=UTC)
        expected_pipeline = Decimal("0.00")
        for d in world.deals:
            s = d.open_at(at)
            if s and s.owner_id == rep and s.closedate and month <= s.closedate.date().replace(day=1) <= quarter[-1]:
                expected_pipeline += to_usd(s.amount, world.usd_per_unit(s.currency, month))
        left = sum(quota[(rep, q.strftime("%Y-%m"))] for q in quarter) - sum(
            booked.get((rep, q.strftime("%Y-%m")), Decimal(0)) for q in quarter if q < month
        )
        assert (pipeline_usd, remaining) == (expected_pipeline, left), (rep, month)
        want = (expected_pipeline / left).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if left > 0 else None
        assert coverage == want, (rep, month, coverage, want)
        checked += 1
        covered += bool(coverage)  # pipeline and quota left (0 without pipeline, null once the quota is met)
    assert checked and covered >= 10
    # forecast_usd is the rep's horizon-1 forecast: the reps' forecasts add up to the channel's (to rounding)
    forecasts = defaultdict(Decimal)
    for rep, month, *_, forecast in rows:
        forecasts[month] += forecast or 0
    channel = dict(
        query(
            warehouse,
            "select forecast_month, forecast_usd from intermediate.int_b2b_forecasts where horizon = 1 and rep_id is null",
        )
    )
    assert channel and all(abs(forecasts[m] - v) <= Decimal("0.01") * 30 for m, v in channel.items())


def test_dbt_build_of_the_rep_models_passes(first_run: RunOutcome, warehouse: Path, tmp_path: Path) -> None:
    stdout = dbt_build(warehouse, REP_NODES, tmp_path)
    assert "unit_test" in stdout or "unit test" in stdout


def test_dim_sales_rep_adds_a_version_when_a_rep_changes_manager(
    first_run: RunOutcome, warehouse: Path, sandbox: SandboxServer
) -> None:
    before = query(warehouse, "select rep_id, count(*) from marts.dim_sales_rep group by rep_id")
    assert all(n == 1 for _, n in before)  # history starts at the first load: one version per rep
    loaded_through = sandbox.app.config.as_of
    # the world moves a rep every 60-120 days: advance to the day after the next move
    _, full = _full_owner_history(sandbox.app.config.seed)
    next_move = min(
        a.effective_from.date() for h in full.values() for a in h if a.effective_from.date() > loaded_through
    )
    days = (next_move - loaded_through).days
    assert 0 < days <= 120
    requests.post(f"{sandbox.url}/_sandbox/advance?days={days}", timeout=60).raise_for_status()
    moved = [o for o in sandbox.app.world.owners if o.history[-1].effective_from.date() > loaded_through]
    assert moved, f"the world should move a rep within the {days} advanced days"
    run_main()
    rows = query(
        warehouse,
        "select rep_id, territory, manager_id, valid_from, valid_to, is_current "
        "from marts.dim_sales_rep order by rep_id, valid_from",
    )
    for o in moved:
        versions = [r for r in rows if r[0] == o.owner_id]
        assert len(versions) == 2, versions
        old, new = versions
        assert (new[1], new[2], new[5]) == (o.territory, o.manager_id, True)
        assert old[5] is False and old[4] == new[3] == o.history[-1].effective_from.replace(tzinfo=None)
    assert sum(1 for r in rows if r[5]) == len({r[0] for r in rows})  # one current version per rep
    _assert_bookings_equal_truth(warehouse, compute_truth(sandbox.app.world))
