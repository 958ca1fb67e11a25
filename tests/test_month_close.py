"""A closed month never changes; a late source change lands as an adjustment in the open month."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from sandbox.connect import sandbox_env
from sandbox.server import SandboxApp, SandboxServer
from sandbox.truth import compute_truth
from sandbox.world import build_world
from tests.conftest import TEST_WORLD
from tests.helpers import query, run_main

WORLD = replace(TEST_WORLD, scale=0.07)  # a world with late changes across month ends


def _month_end_with_a_late_change() -> date:
    """The last day of a month whose orders change after it ended (an edit or a cancellation next month)."""
    world = build_world(WORLD)
    candidates = set()
    for o in world.shopify_orders:
        late = [e.edited_at for e in o.edits] + ([o.cancelled_at] if o.cancelled_at else [])
        for at in late:
            if (at.year, at.month) != (o.created_at.year, o.created_at.month) and not o.test:
                candidates.add(at.date().replace(day=1) - timedelta(days=1))
    for e in world.commerce.ebay_orders:
        if e.cancelled_at and (e.cancelled_at.year, e.cancelled_at.month) != (e.created_at.year, e.created_at.month):
            candidates.add(e.cancelled_at.date().replace(day=1) - timedelta(days=1))
    assert candidates, "the test world has no late change across a month end"
    return max(candidates)


@pytest.mark.slow
def test_closed_month_is_frozen_and_the_late_change_is_an_adjustment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    month_end = _month_end_with_a_late_change()
    closed_month = month_end.replace(day=1)
    path = tmp_path / "wh.duckdb"
    with SandboxServer(SandboxApp(replace(WORLD, as_of=month_end), rate_limits="off"), port=0) as server:
        for k, v in {
            **sandbox_env(server.url),
            "SALESDW_DUCKDB_PATH": str(path),
            # the month closes at its end (0 days after), before its late changes arrive
            "SALESDW_CLOSE_REFERENCE_DATE": (month_end + timedelta(days=1)).isoformat(),
            "SALESDW_CLOSE_AFTER_DAYS": "0",
        }.items():
            monkeypatch.setenv(k, v)
        run_main()
        published = query(path, "select * from finance.monthly_revenue where period_status = 'closed' order by 1, 2")
        assert {r[0] for r in published} >= {closed_month}
        assert query(path, "select count(*) from finance.revenue_adjustments") == [(0,)]

        assert requests.post(f"{server.url}/_sandbox/advance", params={"days": 5}, timeout=60).ok
        truth = compute_truth(server.app.world)
        run_main()
        run_main()  # nothing new changed: no adjustment is recorded twice

    assert (
        query(path, "select * from finance.monthly_revenue where period_status = 'closed' order by 1, 2") == published
    )
    live = {(r["month"], r["channel"]): Decimal(r["net_revenue_usd"]) for r in truth["monthly"]}
    adjustments = query(
        path,
        """select original_month, booked_month, channel, amount_usd, reason
                                  from finance.revenue_adjustments""",
    )
    assert adjustments, "the late change was not detected"
    open_month = month_end + timedelta(days=1)
    for original, booked, channel, amount, reason in adjustments:
        assert booked == open_month and original <= closed_month and reason
    for revenue_month, channel, *_rest in published:
        key = (revenue_month.strftime("%Y-%m"), channel)
        net_published = [r for r in published if r[0] == revenue_month and r[1] == channel][0][9]
        adjusted = sum((a[3] for a in adjustments if a[0] == revenue_month and a[2] == channel), Decimal(0))
        assert net_published + adjusted == live.get(key, Decimal(0)), key  # published + adjustments = today's truth
    open_rows = query(
        path,
        f"""select channel, net_revenue_usd, adjustments_usd from finance.monthly_revenue
                                 where revenue_month = date '{open_month}'""",
    )
    for channel, net_revenue, adjustments_usd in open_rows:
        booked = sum((a[3] for a in adjustments if a[2] == channel), Decimal(0))
        assert adjustments_usd == booked
        assert net_revenue == live.get((open_month.strftime("%Y-%m"), channel), Decimal(0)) + booked
