"""Google Sheets API v4: paths, the plan tab's layout and the read quota."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://sheets.googleapis.com"
SPREADSHEET_PATH = "v4/spreadsheets/{spreadsheet_id}"
VALUES_PATH = "v4/spreadsheets/{spreadsheet_id}/values/{range}"
DEFAULT_RANGE = "Plan"  # the whole tab; Sheets leaves trailing empty cells and rows out
# Google's quota: 60 read requests per minute per user. It sends no quota headers: the pacer idles until a 429,
# then paces at the published rate (the session backs off exponentially meanwhile).
READS_PER_MINUTE = 60

CHANNELS = ("shopify", "amazon", "ebay", "b2b")
TERRITORIES = ("West", "Central", "East", "International")
# the sheet's header cell (case and spacing ignored) -> raw column; a CSV may use either form
HEADER_COLUMNS = {
    "version": "plan_version",
    "month": "month",
    "channel": "channel",
    "territory": "territory",
    "net revenue (usd)": "net_revenue_usd",
    "published": "published_date",
    "notes": "notes",
}
REQUIRED_COLUMNS = ("plan_version", "month", "channel", "territory", "net_revenue_usd", "published_date")
KEY_COLUMNS = ("plan_version", "month", "channel", "territory")
