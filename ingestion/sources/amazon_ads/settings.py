"""Amazon Ads API: endpoints, the Sponsored Products report requested, windows, polling and the published throttles."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://advertising-api.amazon.com"  # North America; EU: advertising-api-eu.amazon.com
DEFAULT_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
PROFILES_PATH = "v2/profiles"
REPORTS_PATH = "reporting/reports"
CREATE_CONTENT_TYPE = "application/vnd.createasyncreportrequest.v3+json"
CLIENT_ID_HEADER = "Amazon-Advertising-API-ClientId"
SCOPE_HEADER = "Amazon-Advertising-API-Scope"
DEFAULT_START_DATE = "2023-11-01"  # the ad accounts' first campaigns
MAX_WINDOW_DAYS = 31  # a v3 report covers at most 31 days
# Amazon's attribution window is 14 days: purchases and sales of a day keep arriving (and invalid-click credits lower
# cost) for two weeks, so every run re-reads this many days before the newest day loaded.
LOOKBACK_DAYS = 15
REPORT_CONFIGURATION = {
    "adProduct": "SPONSORED_PRODUCTS",
    "groupBy": ["campaign"],
    "columns": [
        "date",
        "campaignId",
        "campaignName",
        "campaignStatus",
        "campaignBudgetAmount",
        "campaignBudgetCurrencyCode",
        "impressions",
        "clicks",
        "cost",
        "purchases14d",
        "sales14d",
        "unitsSoldClicks14d",
    ],
    "reportTypeId": "spCampaigns",
    "timeUnit": "DAILY",
    "format": "GZIP_JSON",
}
# Amazon throttles reporting dynamically and sends no rate-limit headers, only Retry-After on a 429: the pacers pace
# at these rates (burst, per second; the rates configurable) from the first request, and after a 429 their own pace
# explains at the rate its Retry-After shows if that is slower (ingestion.http.pacing.RetryAfterPacer).
CREATE_REPORT_LIMIT = (5, 0.2)
GET_REPORT_LIMIT = (10, 1.0)
PROFILES_LIMIT = (5, 1.0)
MAX_IN_FLIGHT = 8  # reports created and not yet downloaded, at most
POLL_INTERVAL_S = 5.0  # first wait between polling rounds; grows ×1.5 up to POLL_MAX_S while nothing completes
POLL_MAX_S = 60.0
POLL_TIMEOUT_S = 3 * 3600.0  # Amazon: a report can take up to 3 hours
REPORT_ATTEMPTS = 5  # a FAILED report is created again, this many times at most
DOWNLOAD_ATTEMPTS = 6  # a file that does not decompress (cut short) or a URL that expired is fetched again
NESTED_TABLES: tuple[str, ...] = ()
