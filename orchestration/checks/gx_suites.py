from __future__ import annotations

from datetime import datetime

from orchestration.checks.gx_runner import SuiteSpec, gxe

EARLIEST = datetime(2020, 1, 1)
FAR_FUTURE = datetime(2100, 1, 1)
AMAZON_ORDER_STATUSES = [
    "Pending",
    "Unshipped",
    "PartiallyShipped",
    "Shipped",
    "Canceled",
    "Unfulfillable",
    "InvoiceUnconfirmed",
    "PendingAvailability",
]
MONEY_STRING = r"^-?\d+(?:\.\d+)?$"


def money(col: str, alias: str) -> str:
    # unparseable money strings become NULL here and are caught by not-null checks
    return f"try_cast({col} as decimal(18, 2)) as {alias}"


def not_null(*cols: str) -> list[gxe.Expectation]:
    return [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in cols]


def non_negative(*cols: str) -> list[gxe.Expectation]:
    return [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in cols]


def key(col: str) -> list[gxe.Expectation]:
    return [*not_null(col), gxe.ExpectColumnValuesToBeUnique(column=col)]


def in_set(col: str, values: list[str]) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeInSet(column=col, value_set=values)


SHOPIFY_ORDERS = SuiteSpec(
    name="raw_shopify_orders",
    asset=("raw_shopify", "orders"),
    sql=f"""
        select id, currency_code as currency, timezone('UTC', created_at) as created_at,
               {money("current_total_price_set__shop_money__amount", "total_price")},
               {money("current_total_discounts_set__shop_money__amount", "total_discounts")},
               {money("current_subtotal_price_set__shop_money__amount", "subtotal_price")}
        from raw_shopify.orders""",
    expectations=lambda: [
        *key("id"),
        *not_null("currency", "created_at", "total_price", "total_discounts", "subtotal_price"),
        in_set("currency", ["USD"]),
        gxe.ExpectColumnValuesToBeBetween(column="created_at", min_value=EARLIEST, max_value=FAR_FUTURE),
        *non_negative("total_price", "total_discounts", "subtotal_price"),
    ],
)

SHOPIFY_LINE_ITEMS = SuiteSpec(
    name="raw_shopify_orders__line_items",
    asset=("raw_shopify", "orders__line_items"),
    sql=f"""
        select _dlt_root_id, quantity, current_quantity,
               {money("original_unit_price_set__shop_money__amount", "unit_price")}
        from raw_shopify.orders__line_items""",
    expectations=lambda: [
        *not_null("_dlt_root_id", "quantity", "current_quantity", "unit_price"),
        gxe.ExpectColumnValuesToBeBetween(column="quantity", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="current_quantity", min_value=0),
        *non_negative("unit_price"),
    ],
)

AMAZON_ORDERS = SuiteSpec(
    name="raw_amazon_orders",
    asset=("raw_amazon", "orders"),
    # canceled orders legitimately carry no order_total, so the amount is nullable
    sql=f"""
        select amazon_order_id, order_status, timezone('UTC', purchase_date) as purchase_date,
               order_total__amount as order_total_raw, {money("order_total__amount", "order_total")},
               order_total__currency_code as currency
        from raw_amazon.orders""",
    expectations=lambda: [
        *key("amazon_order_id"),
        *not_null("order_status", "purchase_date"),
        in_set("order_status", AMAZON_ORDER_STATUSES),
        gxe.ExpectColumnValuesToBeBetween(column="purchase_date", min_value=EARLIEST, max_value=FAR_FUTURE),
        gxe.ExpectColumnValuesToMatchRegex(column="order_total_raw", regex=MONEY_STRING),
        *non_negative("order_total"),
        in_set("currency", ["USD", "GBP", "EUR"]),
    ],
)

AMAZON_ORDER_ITEMS = SuiteSpec(
    name="raw_amazon_orders__order_items",
    asset=("raw_amazon", "orders__order_items"),
    sql=f"""
        select _dlt_root_id, quantity_ordered, {money("item_price__amount", "item_price")},
               item_price__currency_code as currency
        from raw_amazon.orders__order_items""",
    expectations=lambda: [
        *not_null("_dlt_root_id", "quantity_ordered", "item_price", "currency"),
        *non_negative("item_price"),
        in_set("currency", ["USD", "GBP", "EUR"]),
        gxe.ExpectColumnValuesToBeBetween(column="quantity_ordered", min_value=1),
    ],
)

CRM_DEALS = SuiteSpec(
    name="raw_crm_deals",
    asset=("raw_crm", "deals"),
    sql=f"""
        select d.id, d.properties__amount as amount_raw, {money("d.properties__amount", "amount")},
               d.properties__deal_currency_code as currency, d.properties__dealstage as dealstage,
               s.id is not null as stage_in_pipelines
        from raw_crm.deals as d
        left join (select distinct id from raw_crm.deal_pipelines__stages) as s on s.id = d.properties__dealstage""",
    # a deal's stage is a stage of one of the portal's pipelines (raw_crm.deal_pipelines__stages, every pipeline)
    expectations=lambda: [
        *key("id"),
        *not_null("dealstage"),
        gxe.ExpectColumnValuesToMatchRegex(column="amount_raw", regex=MONEY_STRING),
        *non_negative("amount"),
        in_set("currency", ["USD", "EUR", "GBP"]),
        in_set("stage_in_pipelines", [True]),
    ],
)

FX_RATES = SuiteSpec(
    name="raw_fx_rates",
    asset=("raw_fx", "rates"),
    sql="""
        select rate, rate_date, try_cast(rate_date as date) as rate_day, base_currency, quote_currency
        from raw_fx.rates""",
    expectations=lambda: [
        *not_null("rate", "rate_day", "base_currency", "quote_currency"),
        gxe.ExpectColumnValuesToBeBetween(column="rate", min_value=0, strict_min=True),
        gxe.ExpectColumnValuesToMatchRegex(column="rate_date", regex=r"^\d{4}-\d{2}-\d{2}$"),
        in_set("base_currency", ["EUR", "GBP", "CAD"]),
        in_set("quote_currency", ["USD"]),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["base_currency", "quote_currency", "rate_date"]),
    ],
)

EBAY_ORDERS = SuiteSpec(
    name="raw_ebay_orders",
    asset=("raw_ebay", "orders"),
    sql=f"""
        select order_id, timezone('UTC', creation_date) as creation_date,
               {money("pricing_summary__price_subtotal__value", "subtotal")},
               {money("total_marketplace_fee__value", "marketplace_fee")},
               pricing_summary__total__currency as currency, cancel_status__cancel_state as cancel_state
        from raw_ebay.orders""",
    expectations=lambda: [
        *key("order_id"),
        *not_null("creation_date", "subtotal", "marketplace_fee", "currency"),
        gxe.ExpectColumnValuesToBeBetween(column="creation_date", min_value=EARLIEST, max_value=FAR_FUTURE),
        *non_negative("subtotal", "marketplace_fee"),
        in_set("currency", ["USD"]),
        in_set("cancel_state", ["NONE_REQUESTED", "IN_PROGRESS", "CANCELED"]),
    ],
)

AMAZON_FINANCIAL_EVENT_LINES = SuiteSpec(
    name="raw_amazon_financial_event_lines",
    asset=("raw_amazon", "financial_event_lines"),
    sql="""
        select event_line_id, event_type,
               -- null only when an order's event (shipment, refund, retrocharge) lacks its order id
               coalesce(amazon_order_id, case when event_type not in ('shipment', 'refund', 'retrocharge')
                   then '' end) as amazon_order_id,
               try_cast(posted_date as timestamptz) as posted_at, line_kind, amount, currency
        from raw_amazon.financial_event_lines""",
    expectations=lambda: [
        *key("event_line_id"),
        *not_null("amazon_order_id", "posted_at", "amount", "currency"),
        in_set(
            "event_type",
            [
                "shipment",
                "refund",
                "service_fee",
                "adjustment",
                "product_ads_payment",
                "retrocharge",
                "fba_liquidation",
            ],
        ),
        in_set("line_kind", ["charge", "fee", "promotion", "other"]),
        in_set("currency", ["USD", "GBP", "EUR"]),
    ],
)

AD_CURRENCIES = ["USD", "EUR", "GBP"]  # the ad accounts' currencies


def ad_figures(*money_cols: str) -> list[gxe.Expectation]:
    """An ad platform's day: its money and counts present and never negative."""
    return [
        *not_null(*money_cols, "impressions", "clicks"),
        *non_negative(*money_cols, "impressions", "clicks"),
    ]


GA4_TRAFFIC = SuiteSpec(
    name="raw_ga4_traffic_daily",
    asset=("raw_ga4", "traffic_daily"),
    sql="""
        select row_key, date, session_default_channel_group as channel_group, sessions, engaged_sessions,
               ecommerce_purchases, purchase_revenue, currency_code
        from raw_ga4.traffic_daily""",
    expectations=lambda: [
        *key("row_key"),
        *not_null("date", "channel_group", "sessions", "engaged_sessions", "ecommerce_purchases", "purchase_revenue"),
        *non_negative("sessions", "engaged_sessions", "ecommerce_purchases", "purchase_revenue"),
        in_set(
            "channel_group",
            [
                "Paid Search",
                "Paid Shopping",
                "Paid Social",
                "Organic Search",
                "Organic Social",
                "Email",
                "Referral",
                "Direct",
                "Unassigned",
            ],
        ),
        in_set("currency_code", ["USD"]),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="sessions", column_B="engaged_sessions", or_equal=True),
    ],
)

META_INSIGHTS = SuiteSpec(
    name="raw_meta_campaign_insights",
    asset=("raw_meta", "campaign_insights"),
    sql="""
        select insight_key, account_id, campaign_id, date_start, date_stop, account_currency, spend, impressions, clicks
        from raw_meta.campaign_insights""",
    expectations=lambda: [
        *key("insight_key"),
        *not_null("account_id", "campaign_id", "date_start", "account_currency"),
        *ad_figures("spend"),
        in_set("account_currency", AD_CURRENCIES),
        # time_increment=1: every row is one day
        gxe.ExpectColumnPairValuesToBeEqual(column_A="date_start", column_B="date_stop"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["account_id", "campaign_id", "date_start"]),
    ],
)

AMAZON_ADS_CAMPAIGN_DAYS = SuiteSpec(
    name="raw_amazon_ads_sp_campaign_days",
    asset=("raw_amazon_ads", "sp_campaign_days"),
    sql="""
        select profile_id, campaign_id, date, currency, cost, sales_14d, impressions, clicks, purchases_14d
        from raw_amazon_ads.sp_campaign_days""",
    expectations=lambda: [
        *not_null("profile_id", "campaign_id", "date", "currency"),
        *ad_figures("cost", "sales_14d"),
        *non_negative("purchases_14d"),
        in_set("currency", AD_CURRENCIES),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["profile_id", "campaign_id", "date"]),
    ],
)

GOOGLE_ADS_AD_GROUP_STATS = SuiteSpec(
    name="raw_google_ads_ad_group_stats",
    asset=("raw_google_ads", "ad_group_stats"),
    sql="""
        select customer_id, campaign_id, ad_group_id, date, currency, cost_micros, impressions, clicks, conversions,
               conversions_value
        from raw_google_ads.ad_group_stats""",
    expectations=lambda: [
        *not_null("customer_id", "campaign_id", "ad_group_id", "date", "currency"),
        *ad_figures("cost_micros", "conversions", "conversions_value"),
        in_set("currency", AD_CURRENCIES),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["customer_id", "ad_group_id", "date"]),
    ],
)

SHOPIFY_ABANDONED_CHECKOUTS = SuiteSpec(
    name="raw_shopify_abandoned_checkouts",
    asset=("raw_shopify", "abandoned_checkouts"),
    sql=f"""
        select id, total_price_set__shop_money__currency_code as currency, timezone('UTC', created_at) as created_at,
               timezone('UTC', updated_at) as updated_at, subtotal_price_set__shop_money__amount as subtotal_raw,
               {money("subtotal_price_set__shop_money__amount", "subtotal_price")},
               {money("total_price_set__shop_money__amount", "total_price")}
        from raw_shopify.abandoned_checkouts""",
    expectations=lambda: [
        *key("id"),
        *not_null("currency", "created_at", "updated_at", "subtotal_price", "total_price"),
        in_set("currency", ["USD"]),
        gxe.ExpectColumnValuesToMatchRegex(column="subtotal_raw", regex=MONEY_STRING),
        *non_negative("subtotal_price", "total_price"),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="updated_at", column_B="created_at", or_equal=True),
    ],
)

RAW_SUITES: list[SuiteSpec] = [
    SHOPIFY_ORDERS,
    SHOPIFY_LINE_ITEMS,
    AMAZON_ORDERS,
    AMAZON_ORDER_ITEMS,
    CRM_DEALS,
    FX_RATES,
    EBAY_ORDERS,
    AMAZON_FINANCIAL_EVENT_LINES,
    GA4_TRAFFIC,
    META_INSIGHTS,
    AMAZON_ADS_CAMPAIGN_DAYS,
    GOOGLE_ADS_AD_GROUP_STATS,
    SHOPIFY_ABANDONED_CHECKOUTS,
]
SUITES_BY_ASSET: dict[tuple[str, str], SuiteSpec] = {s.asset: s for s in RAW_SUITES}
