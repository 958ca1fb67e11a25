"""Meta Marketing API (Ads Insights): paths, fields, windows, and the Business Use Case usage headers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_BASE_URL = "https://graph.facebook.com"
API_VERSION = "v24.0"
INSIGHTS_PATH = "{version}/act_{account_id}/insights"
REPORT_RUN_PATH = "{version}/{report_run_id}"
REPORT_INSIGHTS_PATH = "{version}/{report_run_id}/insights"
FIELDS = (
    "account_id",
    "account_currency",
    "campaign_id",
    "campaign_name",
    "spend",
    "impressions",
    "clicks",
    "actions",
    "action_values",
    "date_start",
    "date_stop",
)
PRIMARY_KEY = ("account_id", "campaign_id", "date_start")
# The purchase appears as purchase, offsite_conversion.fb_pixel_purchase and omni_purchase: the same conversions.
# Staging reads omni_purchase only (Meta's deduplicated count across web, app and offline).
PURCHASE_ACTION = "omni_purchase"
# Meta restates conversions for 7 days (7-day click attribution): incremental windows re-read 8 days.
LOOKBACK_DAYS = 8
SYNC_MAX_DAYS = 31  # a longer window goes through an async report run (Meta refuses ~90+ days synchronously)
ASYNC_WINDOW_DAYS = 366  # a back-fill is split into report runs of at most this many days
PAGE_SIZE = 500
# Ads Insights standard tier: 600 + 400 × active ads calls per rolling hour; the pacer follows the usage headers.
SLOW_DOWN_AT_PCT = 75.0  # from here the pacer spaces calls out over what is left of the window
STOP_AT_PCT = 90.0  # from here it waits for the score to fall before the next call
NESTED_TABLES = ("campaign_insights__actions", "campaign_insights__action_values")


@dataclass(frozen=True)
class Usage:
    """What one response says of the ads_insights budget: the highest of the three percentages, the minutes
    to regain access (non-zero only when throttled), and the seconds until the score is back to 0."""

    pct: float
    regain_s: float
    reset_s: float | None


def read_usage(headers: Mapping[str, str]) -> Usage | None:
    """``X-Business-Use-Case-Usage`` (ads_insights entries) and ``X-Ad-Account-Usage``; None without either."""
    buc, account = headers.get("X-Business-Use-Case-Usage"), headers.get("X-Ad-Account-Usage")
    if buc is None and account is None:
        return None
    pct, regain, reset = 0.0, 0.0, None
    try:
        for entries in (json.loads(buc) if buc else {}).values():
            for e in entries:
                if e.get("type") not in (None, "ads_insights"):
                    continue
                pct = max(pct, *(float(e.get(k) or 0) for k in ("call_count", "total_cputime", "total_time")))
                regain = max(regain, 60.0 * float(e.get("estimated_time_to_regain_access") or 0))
        if account:
            body = json.loads(account)
            pct = max(pct, float(body.get("acc_id_util_pct") or 0))
            if body.get("reset_time_duration") is not None:
                reset = float(body["reset_time_duration"])
    except (ValueError, TypeError, AttributeError):
        return None
    return Usage(pct, regain, reset)
