"""Deal funnel marts (docs/architecture.md: Warehouse layout, Metric definitions): stage visits and the monthly funnel agree with the sandbox's stage histories."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from orchestration.runner import RunOutcome
from sandbox.crm_world import CLOSED_STAGES, PIPELINES, WON_STAGES
from sandbox.server import SandboxServer
from tests.helpers import dbt_build, query

FUNNEL_MODELS = (
    "int_deal_stages_ordered",
    "int_deal_stage_visits",
    "dim_deal_stage",
    "fct_deal_stage_transitions",
    "sales_funnel_monthly",
)


READS_SHARED_BUILD = True  # dbt builds here rebuild the same models from the same data


@pytest.fixture(scope="module")
def run(main_run: RunOutcome) -> RunOutcome:
    return main_run


def test_funnel_models_are_built_and_checked(run: RunOutcome) -> None:
    checked = {asset for asset, _, _ in run.checks}
    for model in ("dim_deal_stage", "fct_deal_stage_transitions", "sales_funnel_monthly"):
        assert any(a.endswith(model) for a in checked), f"no dbt tests ran on {model}"


def test_one_stage_visit_row_per_history_entry(run: RunOutcome, warehouse: Path, sandbox: SandboxServer) -> None:
    deals = sandbox.app.world.deals
    expected = sum(len(d.stage_history) for d in deals)
    assert any(d.reopened for d in deals)  # the world has deals that visit a stage twice
    ((rows, archived),) = query(
        warehouse, "select count(*), count(case when is_archived_deal then 1 end) from marts.fct_deal_stage_transitions"
    )
    assert rows == expected
    assert archived == sum(len(d.stage_history) for d in deals if d.is_archived)
    per_visit = query(warehouse, "select deal_id, stage_id, visit_number from marts.fct_deal_stage_transitions")
    expected_visits = set()
    for d in deals:
        seen: dict[str, int] = defaultdict(int)
        for stage, _ in d.stage_history:
            seen[stage] += 1
            expected_visits.add((d.deal_id, stage, seen[stage]))
    assert set(per_visit) == expected_visits


def test_deals_entered_per_stage_and_month_equal_the_world(
    run: RunOutcome, warehouse: Path, sandbox: SandboxServer
) -> None:
    entered: dict[tuple[date, str], set[str]] = defaultdict(set)
    for d in sandbox.app.world.deals:
        if d.is_archived:  # the funnel leaves archived (deleted) deals out
            continue
        for stage, at in d.stage_history:
            entered[(date(at.year, at.month, 1), stage)].add(d.deal_id)
    expected = {k: len(v) for k, v in entered.items()}
    actual = {
        (m, s): n
        for m, s, n in query(warehouse, "select cohort_month, stage, deals_entered from marts.sales_funnel_monthly")
    }
    assert actual == expected
    # every pipeline's stages are in the funnel, in their pipeline's order
    stages = query(warehouse, "select distinct pipeline, stage, stage_order from marts.sales_funnel_monthly")
    for p in PIPELINES:
        order = {s: i for i, (s, _, _) in enumerate(p.stages)}
        mine = [(s, o) for pipeline, s, o in stages if pipeline == p.pipeline_id]
        assert mine and all(order[s] == o for s, o in mine), p.pipeline_id


def test_funnel_ratios_are_consistent(run: RunOutcome, warehouse: Path) -> None:
    rows = query(
        warehouse,
        """
        select stage, deals_entered, deals_advanced, deals_won, conversion_to_next, conversion_to_won
        from marts.sales_funnel_monthly""",
    )
    assert rows
    for stage, entered, advanced, won, to_next, to_won in rows:
        assert 0 <= won <= entered
        if stage in CLOSED_STAGES:  # the won and lost stages of every pipeline
            assert advanced is None and to_next is None
        else:
            assert 0 <= advanced <= entered
            assert abs(to_next - Decimal(advanced) / entered) <= Decimal("0.00005")
        if stage in WON_STAGES:
            assert to_won == 1


def test_dbt_build_of_the_funnel_passes(run: RunOutcome, warehouse: Path, tmp_path: Path) -> None:
    """Models, contracts, data tests and unit tests (conversion, days in stage) of the funnel."""
    stdout = dbt_build(warehouse, FUNNEL_MODELS, tmp_path)
    assert "ERROR=0" in stdout and "unit" in stdout
