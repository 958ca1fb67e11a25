"""Product costs and margins (docs/costs.md): the gross margin equals a recomputation from the world's own costs and
sales, a sale without a cost is reported by a check (never costed at zero), and a cost change between two loads is
applied only to the sales from its date on."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import requests

from sandbox.product_costs import cost_history, full_history, gross_margin_truth
from sandbox.shopify_nodes import variant_node
from sandbox.world import build_world
from tests.conftest import TEST_WORLD, SharedBuild
from tests.helpers import dbt_run_build, query, run_main

READS_SHARED_BUILD = True  # the read-only checks; the two-loads test copies the shared build (private_build)

MARGIN_SQL = """
    select strftime(revenue_month, '%Y-%m'), channel, cogs_usd, gross_margin_usd, cost_missing_units
    from marts.channel_revenue_monthly where channel <> 'b2b'
"""


def _margins(path: Path) -> dict[tuple[str, str], tuple[Decimal, Decimal, int]]:
    return {(m, c): (cogs, gm, missing) for m, c, cogs, gm, missing in query(path, MARGIN_SQL)}


def _expected(truth: dict) -> dict[tuple[str, str], tuple[Decimal, Decimal, int]]:
    return {k: (r["cogs"], r["gross_margin"], r["cost_missing_units"]) for k, r in truth.items()}


def test_costs_move_a_few_times_a_year_and_shopify_serves_the_current_one() -> None:
    world = build_world(TEST_WORLD)
    history = cost_history(world)
    assert set(history) == {p.sku for p in world.products}
    years = (TEST_WORLD.as_of - date(2024, 1, 1)).days / 365
    changes = sum(len(v) - 1 for v in history.values()) / len(history) / years
    assert 2 <= changes <= 6, changes
    for p in world.products[:5]:
        item = variant_node(p, world)["inventoryItem"]
        latest = history[p.sku][-1]
        assert Decimal(item["unitCost"]["amount"]) == latest.unit_cost
        assert item["updatedAt"] == latest.valid_from.strftime("%Y-%m-%dT%H:%M:%SZ")
    # the history is drawn whatever as_of is: a later world only adds versions
    later = full_history(TEST_WORLD.seed, world.products)
    assert all(later[sku][: len(v)] == v for sku, v in history.items())


def test_gross_margin_per_channel_and_month_equals_the_worlds(shared_build: SharedBuild) -> None:
    world = build_world(TEST_WORLD)
    expected = _expected(gross_margin_truth(world, [world.config.now]))
    assert _margins(shared_build.warehouse) == expected
    published = query(
        shared_build.warehouse,
        "select strftime(revenue_month, '%Y-%m'), channel, cogs_usd, gross_margin_usd from finance.monthly_revenue "
        "where channel <> 'b2b'",
    )
    assert {(m, c): (cogs, gm) for m, c, cogs, gm in published} == {k: v[:2] for k, v in expected.items()}
    assert query(shared_build.warehouse, "select count(*) from marts.fct_order_lines where is_cost_missing") == [(0,)]
    assert ("marts/fct_order_lines", "cost_is_known_for_every_sale", True) in shared_build.outcome.checks
    # the SKU × channel × month mart adds up to the channel's net sales, COGS, gross margin and fees, to the cent
    diff = query(
        shared_build.warehouse,
        """select count(*), count(m.channel) from (
               select p.month_start, p.channel, sum(p.net_sales_usd) as net_sales, sum(p.cogs_usd) as cogs,
                   sum(p.gross_margin_usd) as gross_margin, sum(p.marketplace_fees_usd) as fees
               from marts.product_profitability_monthly as p group by 1, 2
           ) as p
           left join finance.monthly_revenue as m on m.revenue_month = p.month_start and m.channel = p.channel
           where m.channel is null or p.net_sales <> m.net_sales_usd or p.cogs <> m.cogs_usd
               or p.gross_margin <> m.gross_margin_usd or p.fees <> m.marketplace_fees_usd""",
    )
    assert diff == [(0, 0)]


def test_a_cost_change_between_two_loads_applies_from_its_date(private_build: SharedBuild) -> None:
    first = build_world(TEST_WORLD)
    first_now = first.config.now
    changed_at = min(
        v.valid_from
        for versions in full_history(TEST_WORLD.seed, first.products).values()
        for v in versions
        if v.valid_from > first_now
    )
    days = (changed_at.date() - TEST_WORLD.as_of).days + 30  # sales on both sides of the change
    published = query(private_build.warehouse, "select * from finance.monthly_revenue order by 1, 2")
    assert requests.post(f"{private_build.sandbox.url}/_sandbox/advance", params={"days": days}, timeout=120).ok
    second = private_build.sandbox.app.world
    run_main()

    assert _margins(private_build.warehouse) == _expected(gross_margin_truth(second, [first_now, second.config.now]))
    old, new = cost_history(first), cost_history(second)
    changed = {sku: (old[sku][-1], v) for sku, versions in new.items() for v in versions if v.valid_from == changed_at}
    assert changed and all(o.unit_cost != n.unit_cost for o, n in changed.values())
    costs = query(
        private_build.warehouse,
        f"""select sku, order_date >= date '{changed_at.date()}', unit_cost_usd
            from marts.fct_order_lines
            where sku in ({", ".join(f"'{s}'" for s in changed)}) and counts_as_sale and order_date >= date '2026-06-01'""",
    )
    assert any(after for _, after, _ in costs), "no sale after the change"
    for sku, after, cost in costs:
        o, n = changed[sku]
        assert cost == (n.unit_cost if after else o.unit_cost), (sku, after, cost)
    # the months published before keep their figures (COGS included); later changes to them are adjustments
    now_rows = {r[:2]: r for r in query(private_build.warehouse, "select * from finance.monthly_revenue")}
    for row in published:
        if row[10] == "closed":
            assert now_rows[row[:2]] == row


def test_a_sale_without_a_cost_is_flagged_and_reported(private_build: SharedBuild, tmp_path: Path) -> None:
    """A SKU Shopify has no cost for (its versions taken out of the snapshot): its sales are flagged, their cost is
    null (never zero) and the check cost_is_known_for_every_sale warns with one failure per line."""
    path = private_build.warehouse
    sku = query(
        path,
        "select sku from marts.fct_order_lines where counts_as_sale and channel = 'amazon' "
        "group by 1 order by count(*) desc, 1 limit 1",
    )[0][0]
    lines = query(path, f"select count(*) from marts.fct_order_lines where counts_as_sale and sku = '{sku}'")[0][0]
    with duckdb.connect(str(path)) as con:
        con.execute(f"delete from snapshots.snap_shopify__unit_costs where sku = '{sku}'")
    result = dbt_run_build(path, ["int_product_cost_ranges", "int_order_line_costs", "fct_order_lines"], tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "WARN" in result.stdout and f"Got {lines} result" in result.stdout, result.stdout[-3000:]
    flagged = query(
        path,
        "select sku, count(*), count(cogs_usd), count(unit_cost_usd) from marts.fct_order_lines "
        "where is_cost_missing and counts_as_sale group by 1",
    )
    assert flagged == [(sku, lines, 0, 0)]  # costed at nothing, not at zero


def test_restocked_refunds_return_their_cost(shared_build: SharedBuild) -> None:
    """The world's Shopify refunds restock their units (restockType RETURN): each returns its cost to stock."""
    rows = query(
        shared_build.warehouse,
        """select count(*), count(*) filter (where restocked_quantity > 0),
                  count(*) filter (where restocked_cost_usd > 0)
           from marts.fct_refunds where channel = 'shopify'""",
    )
    total, restocked, costed = rows[0]
    assert total > 0 and restocked == total and costed == total
    others = query(
        shared_build.warehouse,
        "select count(*) from marts.fct_refunds where restocked_quantity > 0 and channel <> 'shopify'",
    )
    assert others == [(0,)]
