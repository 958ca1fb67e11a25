"""Google Analytics 4 Data API v1beta: the endpoint, the report the source asks for, windows, paging and quota."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://analyticsdata.googleapis.com"
RUN_REPORT_PATH = "v1beta/properties/{property_id}:runReport"
DEFAULT_START_DATE = "2023-11-01"  # the ad accounts' start: no web data is older
# GA4 completes a day's sessions late (24-48 hours on a real property; the sandbox's completes the next day):
# every run re-reads the last loaded days.
LOOKBACK_DAYS = 3
MIN_LOOKBACK_DAYS = 1
WINDOW_DAYS = 30  # one report per 30 days: few tokens each (cost grows with the date span and the rows)
PAGE_SIZE = 10_000  # GA4's default limit (its maximum is 250,000)

# GA4 dimension -> raw column, in the order of the merge key (after property_id)
DIMENSIONS = {
    "date": "date",
    "sessionDefaultChannelGroup": "session_default_channel_group",
    "sessionSource": "session_source",
    "sessionMedium": "session_medium",
    "sessionCampaignName": "session_campaign_name",
    "sessionCampaignId": "session_campaign_id",
}
INTEGER_METRICS = {
    "sessions": "sessions",
    "engagedSessions": "engaged_sessions",
    "ecommercePurchases": "ecommerce_purchases",
}
CURRENCY_METRICS = {"purchaseRevenue": "purchase_revenue"}
METRICS = {**INTEGER_METRICS, **CURRENCY_METRICS}
KEY_COLUMNS = ("property_id", *DIMENSIONS.values())
OTHER_ROW = "(other)"  # GA4's row for everything past a report's cardinality limit: no key, cannot be merged

# Pacing from returnPropertyQuota: keep this many tokens of the property's hourly budget for others (dashboards,
# explorations share it; a Standard property has 14,000 per project an hour); when the hour's remaining tokens
# fall to the reserve, pause QUOTA_PAUSE_S and look again, at most MAX_QUOTA_WAIT_S in all, then fail.
QUOTA_RESERVE_TOKENS = 1_400
QUOTA_PAUSE_S = 60.0
MAX_QUOTA_WAIT_S = 3_600.0
