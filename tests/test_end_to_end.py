"""sandbox → dlt → DuckDB → dbt → checks, materialized through Dagster, reconciled with the sandbox truth."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import requests
from dagster import DagsterInstance

from cli.summary import MONEY, RAW_TABLE_OF_TRUTH, raw_counts
from orchestration.runner import RunOutcome, run_main_job
from sandbox.server import SandboxServer
from sandbox.truth import compute_truth

MEASURES = ("orders", *MONEY)


def _run() -> RunOutcome:
    with DagsterInstance.ephemeral() as instance:
        outcome = run_main_job(instance, log_level="WARNING")
    assert outcome.success, [e.message for e in outcome.result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert not outcome.failed_checks
    return outcome


def _daily(path: Path) -> dict[tuple[str, str], tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            f"select cast(date_day as varchar), channel, {', '.join(MEASURES)} from marts.channel_revenue_daily"
        ).fetchall()
    return {(d, c): tuple(rest) for d, c, *rest in rows}


def _assert_reconciles(path: Path, truth: dict) -> None:
    with duckdb.connect(str(path), read_only=True) as con:
        counts = raw_counts(con)
    for key, table in RAW_TABLE_OF_TRUTH.items():
        assert counts[table] == truth["record_counts"][key], (
            f"{table}: {counts[table]} rows, truth {truth['record_counts'][key]}"
        )
    daily = _daily(path)
    zero = (0, *(Decimal("0.00"),) * (len(MEASURES) - 1))
    expected = {
        (r["date"], r["channel"]): (r["orders"], *(Decimal(r[m]) for m in MEASURES[1:])) for r in truth["daily"]
    }
    mismatches = {k: (daily.get(k, zero), v) for k, v in expected.items() if daily.get(k, zero) != v}
    assert not mismatches, f"{len(mismatches)} date×channel rows differ from truth, e.g. {list(mismatches.items())[:3]}"
    extra = {k: v for k, v in daily.items() if k not in expected and v != zero}
    assert not extra, f"warehouse has sales the truth does not: {list(extra.items())[:3]}"


COPIES_SHARED_BUILD = True  # later tests run again and advance the world: on a copy of the shared build


@pytest.fixture(scope="module")
def first_run(main_run: RunOutcome) -> RunOutcome:
    """The first main job on this world (the shared build's, whose end state this module copied)."""
    return main_run


def test_raw_counts_and_daily_revenue_equal_truth(
    first_run: RunOutcome, warehouse: Path, sandbox: SandboxServer
) -> None:
    truth = compute_truth(sandbox.app.world)
    assert sum(r["orders"] for r in truth["daily"] if r["channel"] == "shopify") > 200  # the world is not trivial
    assert {r["channel"] for r in truth["daily"]} == {"shopify", "amazon", "ebay", "b2b"}
    assert any(Decimal(r["marketplace_fees_usd"]) for r in truth["daily"] if r["channel"] == "amazon")
    assert any(Decimal(r["refunds_usd"]) for r in truth["daily"] if r["channel"] == "ebay")
    _assert_reconciles(warehouse, truth)


def test_finance_monthly_revenue_equals_truth_for_every_month_and_channel(
    first_run: RunOutcome, warehouse: Path, sandbox: SandboxServer
) -> None:
    truth = compute_truth(sandbox.app.world)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("""
            select strftime(revenue_month, '%Y-%m'), channel, orders, gross_sales_usd, discounts_usd, refunds_usd,
                   net_sales_usd, marketplace_fees_usd, net_revenue_usd, adjustments_usd
            from finance.monthly_revenue""").fetchall()
    got = {(m, c): tuple(rest) for m, c, *rest in rows}
    zero = Decimal("0.00")
    for r in truth["monthly"]:
        want = (
            r["orders"],
            *(
                Decimal(r[k])
                for k in (
                    "gross_sales_usd",
                    "discounts_usd",
                    "refunds_usd",
                    "net_sales_usd",
                    "marketplace_fees_usd",
                    "net_revenue_usd",
                )
            ),
            zero,
        )
        assert got.get((r["month"], r["channel"])) == want, (r["month"], r["channel"])


def test_every_check_ran_including_great_expectations(first_run: RunOutcome) -> None:
    names = {name for _, name, _ in first_run.checks}
    assert {"gx_raw_shopify_orders", "gx_raw_amazon_orders", "gx_raw_crm_deals", "gx_raw_fx_rates"} <= names
    assert any(name.startswith("unique_") for name in names)  # dbt tests arrive as asset checks too


def test_second_run_loads_nothing_twice(first_run: RunOutcome, warehouse: Path, sandbox: SandboxServer) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        before = raw_counts(con)
    daily_before = _daily(warehouse)
    assert _run().rebuilt  # this copy keeps no record of the build it copied: a build
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert raw_counts(con) == before
    assert _daily(warehouse) == daily_before
    # nothing new since a build that succeeded: the sources load, their checks run, the models are not rebuilt
    again = _run()
    assert not again.rebuilt
    assert [r.job_def.name for r in again.results] == ["salesdw_ingest"]
    assert again.checks and all(asset.startswith("raw_") for asset, _, _ in again.checks)
    assert _daily(warehouse) == daily_before


def test_advancing_the_world_brings_new_and_changed_records(
    first_run: RunOutcome, warehouse: Path, sandbox: SandboxServer
) -> None:
    old_truth = compute_truth(sandbox.app.world)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        old_ids = {r[0] for r in con.execute("select id from raw_shopify.orders").fetchall()}
        old_deals = dict(con.execute("select id, properties__hs_lastmodifieddate from raw_crm.deals").fetchall())
    assert requests.post(f"{sandbox.url}/_sandbox/advance", params={"days": 25}, timeout=60).ok
    new_truth = compute_truth(sandbox.app.world)
    assert _run().rebuilt  # new records: the models are rebuilt
    _assert_reconciles(warehouse, new_truth)
    assert new_truth["record_counts"]["shopify.orders"] > old_truth["record_counts"]["shopify.orders"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # refunds that happened after the old as_of, on orders that were loaded before it
        late_refunds = con.execute(f"""
            select count(*) from raw_shopify.orders__refunds r join raw_shopify.orders o on r._dlt_parent_id = o._dlt_id
            where o.id in ({",".join(f"'{i}'" for i in old_ids)})
                and r.created_at >= timestamp '2026-07-01 00:00:00+00'""").fetchone()[0]
        new_deals = dict(con.execute("select id, properties__hs_lastmodifieddate from raw_crm.deals").fetchall())
    assert late_refunds > 0
    # deals loaded before changed since (a stage, an amount, a slipped expected close date)
    assert sum(1 for k, v in old_deals.items() if new_deals[k] != v) > 0


def test_dbt_docs_generate_documents_every_public_table(first_run: RunOutcome, warehouse: Path, tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    project = Path(__file__).resolve().parents[1] / "dbt_project"
    dbt = Path(sys.executable).parent / "dbt"
    done = subprocess.run(
        [str(dbt), "docs", "generate", "--profiles-dir", ".", "--target-path", str(tmp_path)],
        cwd=project,
        env={**os.environ, "SALESDW_DUCKDB_PATH": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    catalog = json.loads((tmp_path / "catalog.json").read_text())["nodes"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())["nodes"]
    public = {
        n["unique_id"]: n
        for n in manifest.values()
        if n["resource_type"] == "model" and n["config"].get("schema") in ("marts", "finance")
    }
    assert len(public) >= 17
    for unique_id, node in public.items():
        assert unique_id in catalog, unique_id
        assert node["config"]["contract"]["enforced"], f"{unique_id}: contract not enforced"
        undocumented = [c for c in catalog[unique_id]["columns"] if not node["columns"].get(c, {}).get("description")]
        assert not undocumented, f"{unique_id}: undocumented columns {undocumented}"
