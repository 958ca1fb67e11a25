"""Google Ads API (REST): endpoints, version, the GAQL queries the source runs, the lookback and the pacing."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://googleads.googleapis.com"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
API_VERSION = "v21"
SEARCH_STREAM_PATH = "{version}/customers/{customer_id}/googleAds:searchStream"
START_DATE = "2023-11-01"  # the account's first campaigns
# Google restates recent days: conversions arrive for ~3 days, invalid-click credits within 2 (the world's
# CONVERSION_SETTLE_DAYS / SPEND_CREDIT_DAYS); every run re-reads at least this many days before the newest loaded.
LOOKBACK_DAYS = 7
MIN_LOOKBACK_DAYS = 7
# A full load reads the history one calendar year per searchStream (a few operations of the 15,000 a day).
# Google sends no rate-limit headers: the pacer idles until a 429, then paces at this rate (burst, per second).
PACE = (10, 2.0)
NO_END_DATE = "2037-12-30"  # Google's end_date of a campaign that has none

AD_GROUP_STATS_FIELDS = (
    "customer.id",
    "customer.currency_code",
    "campaign.id",
    "campaign.name",
    "ad_group.id",
    "ad_group.name",
    "ad_group.status",
    "segments.date",
    "metrics.cost_micros",
    "metrics.impressions",
    "metrics.clicks",
    "metrics.conversions",
    "metrics.conversions_value",
)
CAMPAIGN_FIELDS = (
    "customer.id",
    "customer.currency_code",
    "customer.time_zone",
    "campaign.id",
    "campaign.name",
    "campaign.status",
    "campaign.advertising_channel_type",
    "campaign.start_date",
    "campaign.end_date",
    "campaign_budget.amount_micros",
)
NESTED_TABLES: tuple[str, ...] = ()


def ad_group_stats_query(start: str, end: str) -> str:
    return (
        f"SELECT {', '.join(AD_GROUP_STATS_FIELDS)} FROM ad_group "
        f"WHERE segments.date BETWEEN '{start}' AND '{end}' ORDER BY segments.date"
    )


def campaigns_query() -> str:
    return f"SELECT {', '.join(CAMPAIGN_FIELDS)} FROM campaign"
