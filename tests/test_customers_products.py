"""Customers and products: identity resolution, PII kept out of the marts, order lines, new customers."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.runner import RunOutcome
from sandbox.server import SandboxServer
from tests.helpers import dbt_build, query

READS_SHARED_BUILD = True  # dbt builds here rebuild the same models from the same data


@pytest.fixture(scope="module")
def run(main_run: RunOutcome) -> RunOutcome:
    return main_run


def test_matched_customers_are_the_crm_contacts_linked_to_shopify(
    run: RunOutcome, warehouse: Path, sandbox: SandboxServer
) -> None:
    linked = [c for c in sandbox.app.world.crm.contacts if c.shopify_customer_id is not None]
    assert linked
    matched = query(warehouse, "select count(*) from marts.dim_customer where is_matched_across_sources")[0][0]
    assert matched == len(linked)
    assert query(
        warehouse,
        "select count(*) from marts.dim_customer where is_matched_across_sources "
        "and (sources <> 'crm,shopify' or crm_contact_id is null or shopify_customer_id is null)",
    ) == [(0,)]
    # each linked contact resolves to the very customer of its Shopify counterpart
    keys = dict(
        ((t, i), k)
        for t, i, k in query(
            warehouse, "select identity_type, source_id, customer_key from intermediate.int_customer_identities"
        )
    )
    for c in linked:
        assert keys[("crm_contact", c.contact_id)] == keys[("shopify_customer", str(c.shopify_customer_id))]
    # marketplace buyers never match anyone
    assert query(
        warehouse,
        "select count(*) from marts.dim_customer where customer_type = 'marketplace_buyer' "
        "and (is_matched_across_sources or sources not in ('amazon', 'ebay'))",
    ) == [(0,)]


# Employee directory columns (sales reps = HubSpot owners), not customers: owned by dim_sales_rep and the rep
# marts (rep_name is a contract column); skipped. Every other varchar column of marts must carry no '@' at all
# and no customer's email or full name.
EMPLOYEE_COLUMNS = {("dim_sales_rep", "rep_name"), ("rep_performance_monthly", "rep_name")}


def test_no_email_or_name_reaches_the_marts(run: RunOutcome, warehouse: Path, sandbox: SandboxServer) -> None:
    people = [*sandbox.app.world.crm.contacts, *sandbox.app.world.commerce.shopify_customers]
    emails = {c.email.strip().lower() for c in people}
    names = {f"{c.first_name} {c.last_name}".lower() for c in people}
    assert len(emails) > 100 and len(names) > 50
    columns = query(
        warehouse,
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts' and data_type = 'VARCHAR'",
    )
    assert ("dim_customer", "email_hash") in columns
    hits = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table, column in columns:
            if (table, column) in EMPLOYEE_COLUMNS:  # reps share names with some customers (same name pool)
                continue
            values = {
                v
                for (v,) in con.execute(
                    f'select distinct lower("{column}") from marts."{table}" where "{column}" is not null'
                ).fetchall()
            }
            hits += [(table, column, v) for v in values if "@" in v or v in emails or any(n in v for n in names)][:3]
    assert not hits, hits


def test_every_order_line_has_a_product(run: RunOutcome, warehouse: Path) -> None:
    assert query(warehouse, "select count(*) from marts.fct_order_lines")[0][0] > 0
    assert query(
        warehouse,
        """
        select count(*) from marts.fct_order_lines l left join marts.dim_product p using (product_key)
        where p.product_key is null""",
    ) == [(0,)]
    # every channel's lines, and the marketplaces sell the Shopify catalog's SKUs
    assert {r[0] for r in query(warehouse, "select distinct channel from marts.fct_order_lines")} == {
        "shopify",
        "amazon",
        "ebay",
    }
    assert query(warehouse, "select count(*) from marts.dim_product where not is_in_catalog") == [(0,)]
    # Σ lines = order gross in local currency; in USD within a cent per order (rounded per line vs per order)
    assert query(
        warehouse,
        """
        select count(*) from marts.fct_orders o
        join (select order_key, count(*) n, sum(gross_sales) g, sum(gross_sales_usd) u from marts.fct_order_lines group by 1) l
            using (order_key)
        where o.gross_sales <> l.g or abs(o.gross_sales_usd - l.u) > 0.005 * l.n""",
    ) == [(0,)]


def test_new_customers_sum_to_customers_with_a_counted_order(run: RunOutcome, warehouse: Path) -> None:
    ((new_total, commerce_new),) = query(
        warehouse,
        """
        select sum(new_customers), sum(case when channel <> 'b2b' then new_customers else 0 end)
        from marts.channel_revenue_daily""",
    )
    commerce_customers = query(
        warehouse,
        """
        select count(distinct l.customer_key) from marts.fct_order_lines l where l.counts_as_sale""",
    )[0][0]
    resolved = query(
        warehouse,
        "select count(distinct customer_key) from intermediate.int_customer_orders "
        "where counts_as_sale and customer_key is not null",
    )[0][0]
    assert commerce_new == commerce_customers > 0
    assert new_total == resolved
    assert (
        new_total
        == query(warehouse, "select count(*) from marts.dim_customer where first_order_date is not null")[0][0]
    )
    assert query(warehouse, "select count(*) from marts.channel_revenue_daily where new_customers > customers") == [
        (0,)
    ]


def test_dbt_build_of_the_customer_and_product_models_passes(run: RunOutcome, warehouse: Path, tmp_path: Path) -> None:
    names = {name for _, name, passed in run.checks}
    assert any("dim_customer" in n for n in names) and any("fct_order_lines" in n for n in names)
    dbt_build(
        warehouse,
        [
            "path:models/intermediate/customers",
            "dim_customer",
            "dim_product",
            "fct_order_lines",
            "channel_revenue_daily",
        ],
        tmp_path,
    )
