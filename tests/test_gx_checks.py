from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import great_expectations.expectations as gxe
import pytest

from orchestration.checks.gx_runner import SuiteSpec, ValidationOutcome, validate
from orchestration.checks.gx_suites import (
    AMAZON_ADS_CAMPAIGN_DAYS,
    AMAZON_ORDER_ITEMS,
    AMAZON_ORDERS,
    CRM_DEALS,
    FX_RATES,
    GA4_TRAFFIC,
    GOOGLE_ADS_AD_GROUP_STATS,
    META_INSIGHTS,
    RAW_SUITES,
    SHOPIFY_ABANDONED_CHECKOUTS,
    SHOPIFY_LINE_ITEMS,
    SHOPIFY_ORDERS,
)

# Minimal raw tables (only the columns the suites read) with legit rows.
GOOD_WAREHOUSE = """
create schema raw_shopify; create schema raw_amazon; create schema raw_crm; create schema raw_fx; create schema raw_ebay;
create table raw_ebay.orders (order_id varchar, creation_date timestamptz, pricing_summary__price_subtotal__value varchar,
    total_marketplace_fee__value varchar, pricing_summary__total__currency varchar, cancel_status__cancel_state varchar);
insert into raw_ebay.orders values ('e-1', '2025-03-01 10:00:00+00', '20.2', '2.71', 'USD', 'NONE_REQUESTED'),
    ('e-2', '2025-03-02 10:00:00+00', '15.0', '0', 'USD', 'CANCELED');
create table raw_amazon.financial_event_lines (event_line_id varchar, event_type varchar, amazon_order_id varchar,
    posted_date varchar, line_kind varchar, amount decimal(18, 2), currency varchar);
insert into raw_amazon.financial_event_lines values
    ('l1', 'shipment', '113-1', '2025-02-03T10:00:00Z', 'charge', 19.99, 'USD'),
    ('l2', 'shipment', '113-1', '2025-02-03T10:00:00Z', 'fee', -3.00, 'USD'),
    ('l3', 'refund', '113-1', '2025-03-01T10:00:00Z', 'charge', -19.99, 'USD');
create table raw_shopify.orders (id varchar, currency_code varchar, created_at timestamptz,
    current_total_price_set__shop_money__amount varchar, current_total_discounts_set__shop_money__amount varchar,
    current_subtotal_price_set__shop_money__amount varchar);
insert into raw_shopify.orders values
    ('gid://shopify/Order/1', 'USD', '2025-01-01 10:00:00+00', '12.34', '0.00', '12.34'),
    ('gid://shopify/Order/2', 'USD', '2025-06-30 23:59:59+00', '40.00', '5.00', '45.00'),
    ('gid://shopify/Order/3', 'USD', '2026-10-31 17:13:51+00', '8.26', '0.00', '8.26');
create table raw_shopify.orders__line_items (_dlt_root_id varchar, quantity bigint, current_quantity bigint,
    original_unit_price_set__shop_money__amount varchar);
insert into raw_shopify.orders__line_items values ('a', 1, 1, '12.34'), ('b', 2, 0, '22.50'), ('b', 5, 5, '0.00');
create table raw_amazon.orders (amazon_order_id varchar, order_status varchar, purchase_date timestamptz,
    order_total__amount varchar, order_total__currency_code varchar);
insert into raw_amazon.orders values
    ('113-1', 'Shipped', '2025-02-01 12:00:00+00', '19.99', 'USD'),
    ('202-2', 'Unshipped', '2025-02-02 12:00:00+00', '7.50', 'GBP'),
    ('303-3', 'Canceled', '2025-02-03 12:00:00+00', null, null);
create table raw_amazon.orders__order_items (_dlt_root_id varchar, quantity_ordered bigint,
    item_price__amount varchar, item_price__currency_code varchar);
insert into raw_amazon.orders__order_items values ('x', 1, '19.99', 'USD'), ('y', 3, '7.50', 'EUR');
create table raw_crm.deals (id varchar, properties__amount varchar, properties__deal_currency_code varchar,
    properties__dealstage varchar);
insert into raw_crm.deals values
    ('d1', '4138.00', 'USD', 'closedwon'), ('d2', null, 'EUR', 'appointmentscheduled'),
    ('d3', '892.50', 'GBP', 'closedlost');
create table raw_crm.deal_pipelines__stages (id varchar);
insert into raw_crm.deal_pipelines__stages values ('appointmentscheduled'), ('closedwon'), ('closedlost');
create table raw_fx.rates (rate decimal(18, 8), rate_date varchar, base_currency varchar, quote_currency varchar);
insert into raw_fx.rates values
    (1.03418055, '2025-01-02', 'EUR', 'USD'), (1.03500000, '2025-01-03', 'EUR', 'USD'),
    (1.25000000, '2025-01-02', 'GBP', 'USD'), (0.69584389, '2025-01-02', 'CAD', 'USD');
create schema raw_ga4; create schema raw_meta; create schema raw_amazon_ads;
create table raw_ga4.traffic_daily (row_key varchar, date date, session_default_channel_group varchar,
    sessions bigint, engaged_sessions bigint, ecommerce_purchases bigint, purchase_revenue decimal(18, 2),
    currency_code varchar);
insert into raw_ga4.traffic_daily values ('k1', '2025-01-02', 'Paid Search', 40, 25, 2, 81.20, 'USD'),
    ('k2', '2025-01-02', 'Direct', 12, 12, 0, 0.00, 'USD');
create table raw_meta.campaign_insights (insight_key varchar, account_id varchar, campaign_id varchar,
    date_start date, date_stop date, account_currency varchar, spend decimal(18, 2), impressions bigint, clicks bigint);
insert into raw_meta.campaign_insights values ('1:2:2025-01-02', '1', '2', '2025-01-02', '2025-01-02', 'USD', 25.10,
    4100, 38), ('3:4:2025-01-02', '3', '4', '2025-01-02', '2025-01-02', 'EUR', 0.00, 0, 0);
create table raw_amazon_ads.sp_campaign_days (profile_id varchar, campaign_id varchar, date date, currency varchar,
    cost decimal(18, 2), sales_14d decimal(18, 2), impressions bigint, clicks bigint, purchases_14d bigint);
insert into raw_amazon_ads.sp_campaign_days values ('36', '30', '2025-01-02', 'GBP', 9.81, 64.20, 3900, 14, 3);
create schema raw_google_ads;
create table raw_google_ads.ad_group_stats (customer_id varchar, campaign_id varchar, ad_group_id varchar, date date,
    currency varchar, cost_micros bigint, impressions bigint, clicks bigint, conversions decimal(18, 6),
    conversions_value decimal(18, 6));
insert into raw_google_ads.ad_group_stats values ('45', '2', '11', '2025-01-02', 'USD', 12340000, 800, 21, 1.5, 61.2);
create table raw_shopify.abandoned_checkouts (id varchar, total_price_set__shop_money__currency_code varchar,
    created_at timestamptz, updated_at timestamptz, subtotal_price_set__shop_money__amount varchar,
    total_price_set__shop_money__amount varchar);
insert into raw_shopify.abandoned_checkouts values ('gid://shopify/AbandonedCheckout/37', 'USD',
    '2025-01-02 10:00:00+00', '2025-01-02 10:40:00+00', '12.98', '12.98');
"""


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect(str(tmp_path / "wh.duckdb"))
    c.execute(GOOD_WAREHOUSE)
    yield c
    c.close()


def failed(outcome: ValidationOutcome) -> set[tuple[str, str]]:
    return {(f["expectation"], str(f["column"])) for f in outcome.failures}


@pytest.mark.parametrize("suite", RAW_SUITES, ids=lambda s: s.name)
def test_every_raw_suite_passes_on_good_data(con: duckdb.DuckDBPyConnection, suite: SuiteSpec) -> None:
    outcome = validate(con, suite)
    assert outcome.passed, outcome.failures
    assert outcome.failures == [] and outcome.sample_rows == []
    assert outcome.rows > 0 and outcome.evaluated == len(suite.build())
    assert f"from {'.'.join(suite.asset)}" in " ".join(suite.sql.split())


def test_shopify_orders_fails_on_negative_price_and_duplicate_id(con: duckdb.DuckDBPyConnection) -> None:
    assert validate(con, SHOPIFY_ORDERS).passed
    con.execute(
        "insert into raw_shopify.orders values "
        "('gid://shopify/Order/2', 'USD', '2025-03-01 00:00:00+00', '-5.00', '0.00', '1.00')"
    )

    outcome = validate(con, SHOPIFY_ORDERS)

    assert not outcome.passed and outcome.rows == 4
    assert failed(outcome) == {
        ("expect_column_values_to_be_between", "total_price"),
        ("expect_column_values_to_be_unique", "id"),
    }
    by_col = {f["column"]: f for f in outcome.failures}
    assert by_col["total_price"]["unexpected_count"] == 1
    assert by_col["total_price"]["partial_unexpected"] == ["-5.0"]
    assert by_col["id"]["unexpected_count"] == 2
    bad = {"id": "gid://shopify/Order/2", "total_price": "-5.0", "currency": "USD"}
    assert any(bad.items() <= row.items() for row in outcome.sample_rows)
    assert len(outcome.sample_rows) <= 5

    meta = outcome.metadata()
    assert json.loads(json.dumps(meta)) == meta
    assert meta["suite"] == "raw_shopify_orders" and meta["asset"] == "raw_shopify.orders"
    assert (meta["rows"], meta["failed"], meta["expectations"]) == (4, 2, outcome.evaluated)


def test_shopify_orders_catches_unparseable_money_and_old_dates(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "update raw_shopify.orders set current_total_discounts_set__shop_money__amount = 'n/a', "
        "created_at = '2019-12-31 00:00:00+00' where id = 'gid://shopify/Order/3'"
    )
    outcome = validate(con, SHOPIFY_ORDERS)
    assert failed(outcome) == {
        ("expect_column_values_to_not_be_null", "total_discounts"),
        ("expect_column_values_to_be_between", "created_at"),
    }
    assert [r["id"] for r in outcome.sample_rows] == ["gid://shopify/Order/3"]


BETWEEN, IN_SET = "expect_column_values_to_be_between", "expect_column_values_to_be_in_set"


@pytest.mark.parametrize(
    ("suite", "bad_sql", "expected"),
    [
        pytest.param(
            SHOPIFY_LINE_ITEMS,
            "insert into raw_shopify.orders__line_items values ('c', 0, 0, '1.00')",
            {(BETWEEN, "quantity")},
            id="shopify_line_items",
        ),
        pytest.param(
            SHOPIFY_LINE_ITEMS,
            "insert into raw_shopify.orders__line_items values ('c', 2, -1, '-1.00'), ('d', 1, null, '1.00')",
            {
                (BETWEEN, "current_quantity"),
                (BETWEEN, "unit_price"),
                ("expect_column_values_to_not_be_null", "current_quantity"),
            },
            id="shopify_line_items_current_quantity_and_price",
        ),
        pytest.param(
            AMAZON_ORDERS,
            "insert into raw_amazon.orders values ('113-1', 'Lost', '2025-01-01', '1,00', 'USD')",
            {
                ("expect_column_values_to_be_unique", "amazon_order_id"),
                (IN_SET, "order_status"),
                ("expect_column_values_to_match_regex", "order_total_raw"),
            },
            id="amazon_orders",
        ),
        pytest.param(
            AMAZON_ORDER_ITEMS,
            "insert into raw_amazon.orders__order_items values ('z', 1, '-0.01', 'JPY')",
            {(BETWEEN, "item_price"), (IN_SET, "currency")},
            id="amazon_order_items",
        ),
        pytest.param(
            CRM_DEALS,
            "insert into raw_crm.deals values ('d4', '-1.00', 'USD', 'won')",
            {(BETWEEN, "amount"), (IN_SET, "stage_in_pipelines")},
            id="crm_deals",
        ),
        pytest.param(
            FX_RATES,
            "insert into raw_fx.rates values (0, '2025-01-02', 'EUR', 'USD')",
            {
                (BETWEEN, "rate"),
                ("expect_compound_columns_to_be_unique", "['base_currency', 'quote_currency', 'rate_date']"),
            },
            id="fx_rates",
        ),
        pytest.param(
            GA4_TRAFFIC,
            "insert into raw_ga4.traffic_daily values ('k1', '2025-01-03', 'Paid', 5, 6, -1, 1.00, 'EUR')",
            {
                ("expect_column_values_to_be_unique", "row_key"),
                (IN_SET, "channel_group"),
                (IN_SET, "currency_code"),
                (BETWEEN, "ecommerce_purchases"),
                ("expect_column_pair_values_a_to_be_greater_than_b", "None"),
            },
            id="ga4_traffic_daily",
        ),
        pytest.param(
            META_INSIGHTS,
            "insert into raw_meta.campaign_insights values "
            "('1:5:2025-01-02', '1', '5', '2025-01-02', '2025-01-08', 'JPY', -1.00, 10, 1)",
            {(BETWEEN, "spend"), (IN_SET, "account_currency"), ("expect_column_pair_values_to_be_equal", "None")},
            id="meta_campaign_insights",
        ),
        pytest.param(
            AMAZON_ADS_CAMPAIGN_DAYS,
            "insert into raw_amazon_ads.sp_campaign_days values ('36', '30', '2025-01-02', 'GBP', 1.00, null, 1, 1, 0)",
            {
                ("expect_column_values_to_not_be_null", "sales_14d"),
                ("expect_compound_columns_to_be_unique", "['profile_id', 'campaign_id', 'date']"),
            },
            id="amazon_ads_sp_campaign_days",
        ),
        pytest.param(
            GOOGLE_ADS_AD_GROUP_STATS,
            "insert into raw_google_ads.ad_group_stats values ('45', '2', '11', '2025-01-02', 'JPY', -1, 1, 1, 0, 0)",
            {
                (BETWEEN, "cost_micros"),
                (IN_SET, "currency"),
                ("expect_compound_columns_to_be_unique", "['customer_id', 'ad_group_id', 'date']"),
            },
            id="google_ads_ad_group_stats",
        ),
        pytest.param(
            SHOPIFY_ABANDONED_CHECKOUTS,
            "insert into raw_shopify.abandoned_checkouts values ('gid://shopify/AbandonedCheckout/38', 'USD', "
            "'2025-01-02 10:00:00+00', '2025-01-02 09:00:00+00', '1,00', '1.00')",
            {
                ("expect_column_values_to_match_regex", "subtotal_raw"),
                ("expect_column_values_to_not_be_null", "subtotal_price"),
                ("expect_column_pair_values_a_to_be_greater_than_b", "None"),
            },
            id="shopify_abandoned_checkouts",
        ),
    ],
)
def test_suite_fails_on_bad_row(
    con: duckdb.DuckDBPyConnection, suite: SuiteSpec, bad_sql: str, expected: set[tuple[str, str]]
) -> None:
    con.execute(bad_sql)
    outcome = validate(con, suite)
    assert not outcome.passed
    assert failed(outcome) == expected
    assert outcome.sample_rows, "offending rows must be sampled from the frame"


def test_static_expectation_list_can_be_reused(con: duckdb.DuckDBPyConnection) -> None:
    spec = SuiteSpec(
        name="static",
        asset=("raw_crm", "deals"),
        sql="select id from raw_crm.deals",
        expectations=[gxe.ExpectColumnValuesToBeUnique(column="id")],
    )
    assert validate(con, spec).passed and validate(con, spec).passed
    con.execute("insert into raw_crm.deals values ('d1', null, 'USD', 'closedwon')")
    outcome = validate(con, spec)
    assert not outcome.passed and [r["id"] for r in outcome.sample_rows] == ["d1", "d1"]


def test_missing_column_fails_with_exception_message(con: duckdb.DuckDBPyConnection) -> None:
    spec = SuiteSpec(
        name="missing_col",
        asset=("raw_crm", "deals"),
        sql="select id from raw_crm.deals",
        expectations=lambda: [gxe.ExpectColumnValuesToNotBeNull(column="owner_id")],
    )
    outcome = validate(con, spec)
    assert not outcome.passed
    assert "owner_id" in outcome.failures[0]["exception"]


def _run_check(check: Any) -> Any:
    """Execute one GX asset check as Dagster runs it (its asset external to the job); the evaluation."""
    from dagster import AssetSelection, AssetSpec, Definitions, define_asset_job

    job = define_asset_job("gx_probe", selection=AssetSelection.checks(check))
    defs = Definitions(
        assets=[AssetSpec(check.check_specs_by_output_name["result"].asset_key)], asset_checks=[check], jobs=[job]
    )
    result = defs.resolve_job_def("gx_probe").execute_in_process(raise_on_error=False)
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def test_a_suite_passes_the_same_rows_again_without_gx(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memo (gx_memo.py): rows a suite passed are not validated again; changed rows are, and a failure is
    never remembered."""
    from orchestration.checks import gx_checks

    con.close()
    monkeypatch.setenv("SALESDW_DUCKDB_PATH", str(tmp_path / "wh.duckdb"))
    check = gx_checks._gx_check(SHOPIFY_ORDERS)
    validated: list[str] = []
    real_validate = gx_checks.validate

    def counted(c: Any, suite: SuiteSpec) -> ValidationOutcome:
        validated.append(suite.name)
        return real_validate(c, suite)

    monkeypatch.setattr(gx_checks, "validate", counted)
    first = _run_check(check)
    assert first.passed and validated == ["raw_shopify_orders"] and "validated" not in first.metadata
    again = _run_check(check)
    assert again.passed and validated == ["raw_shopify_orders"]  # GX not run: the same rows passed
    assert again.metadata["validated"].value and again.metadata["rows"].value == first.metadata["rows"].value

    with duckdb.connect(str(tmp_path / "wh.duckdb")) as c:  # one order's price turns negative
        c.execute(
            "update raw_shopify.orders set current_total_price_set__shop_money__amount = '-1.00' where id = "
            "(select min(id) from raw_shopify.orders)"
        )
    for _ in range(2):  # a failure is validated (and fails) every time
        bad = _run_check(check)
        assert not bad.passed and bad.metadata["failed"].value >= 1
    assert validated == ["raw_shopify_orders"] * 3
