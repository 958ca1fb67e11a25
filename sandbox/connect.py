"""How the sources reach a sandbox: dlt config/secrets as environment variables, demo credentials."""

from __future__ import annotations

import json

from sandbox import (
    amazon_ads_api,
    amazon_api,
    ebay_api,
    ga4_api,
    google_ads_api,
    google_oauth,
    hubspot_api,
    meta_api,
    plan_world,
    sheets_api,
    shopify_oauth,
)
from sandbox.marketing_world import GOOGLE_ACCOUNT, GOOGLE_MANAGER_ID


def sandbox_env(url: str) -> dict[str, str]:
    """Environment that points every source at the sandbox at ``url`` with its demo credentials."""
    return {
        "SOURCES__SHOPIFY__SHOP_URL": url,
        # a Dev Dashboard app (client-credentials grant); the legacy static token still works as ACCESS_TOKEN
        "SOURCES__SHOPIFY__CLIENT_ID": shopify_oauth.CLIENT_ID,
        "SOURCES__SHOPIFY__CLIENT_SECRET": shopify_oauth.CLIENT_SECRET,
        "SOURCES__SHOPIFY__POLL_INTERVAL_S": "0.1",  # the sandbox's bulk operations finish in a moment
        "SOURCES__HUBSPOT__BASE_URL": url,
        "SOURCES__HUBSPOT__ACCESS_TOKEN": hubspot_api.DEMO_ACCESS_TOKEN,
        "SOURCES__AMAZON__ENDPOINT": url,
        "SOURCES__AMAZON__TOKEN_URL": f"{url}/auth/o2/token",
        "SOURCES__AMAZON__CLIENT_ID": amazon_api.DEMO_CLIENT_ID,
        "SOURCES__AMAZON__CLIENT_SECRET": amazon_api.DEMO_CLIENT_SECRET,
        "SOURCES__AMAZON__REFRESH_TOKEN": amazon_api.DEMO_REFRESH_TOKEN,
        "SOURCES__EBAY__BASE_URL": url,
        "SOURCES__EBAY__CLIENT_ID": ebay_api.DEMO_CLIENT_ID,
        "SOURCES__EBAY__CLIENT_SECRET": ebay_api.DEMO_CLIENT_SECRET,
        "SOURCES__EBAY__REFRESH_TOKEN": ebay_api.DEMO_REFRESH_TOKEN,
        "SOURCES__FX__BASE_URL": url,
        "SOURCES__PLAN__BASE_URL": url,
        "SOURCES__PLAN__SPREADSHEET_ID": plan_world.SPREADSHEET_ID,
        "SOURCES__PLAN__ACCESS_TOKEN": sheets_api.DEMO_ACCESS_TOKEN,
        "SOURCES__GOOGLE_ANALYTICS__BASE_URL": url,
        "SOURCES__GOOGLE_ANALYTICS__PROPERTY_ID": ga4_api.DEMO_PROPERTY_ID,
        "SOURCES__GOOGLE_ANALYTICS__ACCESS_TOKEN": ga4_api.DEMO_ACCESS_TOKEN,
        "SOURCES__META_ADS__BASE_URL": url,
        "SOURCES__META_ADS__ACCESS_TOKEN": meta_api.DEMO_ACCESS_TOKEN,
        "SOURCES__META_ADS__AD_ACCOUNT_IDS": '["' + '", "'.join(meta_api.ACCOUNTS) + '"]',
        "SOURCES__AMAZON_ADS__BASE_URL": url,
        "SOURCES__AMAZON_ADS__TOKEN_URL": f"{url}/auth/o2/token",
        "SOURCES__AMAZON_ADS__CLIENT_ID": amazon_ads_api.DEMO_CLIENT_ID,
        "SOURCES__AMAZON_ADS__CLIENT_SECRET": amazon_ads_api.DEMO_CLIENT_SECRET,
        "SOURCES__AMAZON_ADS__REFRESH_TOKEN": amazon_ads_api.DEMO_REFRESH_TOKEN,
        "SOURCES__AMAZON_ADS__POLL_INTERVAL_S": "0.05",  # the sandbox's reports complete after a few polls
        # the pacers' rates once throttled: the demo tier (an injected 429 must not slow a demo to Amazon's low tier;
        # with --rate-limits real the sandbox's 429s and Retry-After still hold the source to the real tier)
        "SOURCES__AMAZON_ADS__CREATE_REPORTS_PER_S": str(amazon_ads_api.LIMITS["amazon_ads.createReport"]["demo"][1]),
        "SOURCES__AMAZON_ADS__POLLS_PER_S": str(amazon_ads_api.LIMITS["amazon_ads.getReport"]["demo"][1]),
        "SOURCES__GOOGLE_ADS__BASE_URL": url,
        "SOURCES__GOOGLE_ADS__TOKEN_URL": f"{url}{google_oauth.TOKEN_PATH}",
        "SOURCES__GOOGLE_ADS__DEVELOPER_TOKEN": google_ads_api.DEMO_DEVELOPER_TOKEN,
        "SOURCES__GOOGLE_ADS__CLIENT_ID": google_oauth.ADS_CLIENT_ID,
        "SOURCES__GOOGLE_ADS__CLIENT_SECRET": google_oauth.ADS_CLIENT_SECRET,
        "SOURCES__GOOGLE_ADS__REFRESH_TOKEN": google_oauth.ADS_REFRESH_TOKEN,
        "SOURCES__GOOGLE_ADS__LOGIN_CUSTOMER_ID": GOOGLE_MANAGER_ID,
        "SOURCES__GOOGLE_ADS__CUSTOMER_IDS": json.dumps([GOOGLE_ACCOUNT.account_id]),
    }
