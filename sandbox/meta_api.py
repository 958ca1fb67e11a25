"""Meta (Facebook/Instagram) Marketing API, Ads Insights (docs/architecture.md: Meta (marketing)): the daily
campaign figures of the two PastaPro ad accounts (``sandbox/marketing_world.py``: META_US in USD, META_EU in EUR).

- ``GET /v{N}.0/act_{ad_account_id}/insights``: the synchronous call. ``level=campaign``, ``time_increment=1``
  (one row per campaign and day; ``all_days``: one row per campaign over the range), ``time_range`` (JSON
  ``{"since": "YYYY-MM-DD", "until": "YYYY-MM-DD"}``, inclusive; without it the last 30 days before today),
  ``fields`` (comma-separated: account_id, account_currency, campaign_id, campaign_name, spend, impressions,
  clicks, actions, action_values, date_start, date_stop; ``date_start``/``date_stop`` always come back),
  ``limit`` (default 25) and ``after``. Envelope ``{"data": [...], "paging": {"cursors": {"before", "after"},
  "next": "<full URL>"}}``; no ``next`` on the last page, no ``paging`` at all for an empty result.
- Values as Meta sends them: numbers as strings (``"spend": "12.34"``, ``"impressions": "1234"``), ``actions`` and
  ``action_values`` lists of ``{"action_type", "value"}`` (actions with a zero count are left out):
  ``link_click``, ``landing_page_view``, ``add_to_cart``, ``initiate_checkout`` and the purchase three times,
  as ``purchase``, ``offsite_conversion.fb_pixel_purchase`` and ``omni_purchase`` (the same conversions:
  summing them over-counts). Figures are ``AdDay.reported(as_of)``: the last 7 days are restated as late
  conversions arrive. Days after ``as_of`` have no rows (no delivery yet), as a ``time_range`` that reaches
  into the future returns only the days so far.
- A synchronous request for too much data (more than ``MAX_SYNC_DAYS`` days at ``time_increment=1``) fails with
  Meta's HTTP 500, code 1, error_subcode 99 "Please reduce the amount of data you're asking for, then retry your
  request" (``is_transient: false``): long ranges go through an async report run.
- Async: ``POST /v{N}.0/act_{id}/insights`` (the same parameters, in the query or a form body) ->
  ``{"report_run_id"}``; ``GET /v{N}.0/{report_run_id}`` -> the AdReportRun (``id``, ``account_id``,
  ``async_status`` Job Not Started -> Job Started -> Job Running -> Job Completed, ``async_percent_completion``,
  ``date_start``, ``date_stop``, ``time_ref``, ``time_completed``), advancing one step per poll;
  ``GET /v{N}.0/{report_run_id}/insights`` (``limit``, ``after``) -> the result, paged as above. The result is
  the data as of the POST.
- ``time_range.since`` at most 37 months before today (error code 3018), as Meta keeps insights.
- Versions: ``SUPPORTED_VERSIONS``; an older one -> code 2635 (deprecated), any other -> code 2500.
- Auth: a system-user token as ``access_token`` (query or form) or ``Authorization: Bearer``; none -> code 104,
  a wrong one -> code 190 (OAuthException, HTTP 400). An ad account the token cannot see -> code 100 subcode 33.
- Rate limit: the Business Use Case limit of ``ads_insights``, a rolling hour of ``600 + 400 × active ads`` calls
  at the standard tier (``real``; ``demo``: 40 calls per 5 s; ``off``: none). Every response carries
  ``X-Business-Use-Case-Usage`` ``{"<business_id>": [{"type": "ads_insights", "call_count", "total_cputime",
  "total_time", "estimated_time_to_regain_access"}]}`` (percentages; minutes) and ``X-Ad-Account-Usage``
  ``{"acc_id_util_pct", "reset_time_duration", "ads_api_access_tier"}``; at 100 %: HTTP 400, code 80000,
  error_subcode 2446079, ``is_transient: true``.
Errors carry Graph's body ``{"error": {"message", "type", "code", "error_subcode"?, "is_transient"?, "fbtrace_id"}}``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import threading
import time
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sandbox.marketing_world import META_EU, META_US, AdDay
from sandbox.protocol import Request, Response, decode_cursor, encode_cursor, route
from sandbox.world import World

DEMO_ACCESS_TOKEN = "EAAPastaProSandboxSystemUserToken0000000000ZDZD"  # a system user's token, ads_read
BUSINESS_ID = "918273645501234"  # PastaPro's Business Manager: the key of X-Business-Use-Case-Usage
ACCOUNTS = {a.account_id: a for a in (META_US, META_EU)}
SUPPORTED_VERSIONS = ("v23.0", "v24.0")
OLDEST_VERSION = 23
MAX_SYNC_DAYS = 90  # a synchronous time_increment=1 request for more days is "too much data"
MAX_LOOKBACK_MONTHS = 37
DEFAULT_LIMIT, MAX_LIMIT = 25, 5000
ACTIVE_ADS = 8  # PastaPro's 4 Meta campaigns × 2 ads: the standard tier's budget is 600 + 400 × active ads
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
DEFAULT_FIELDS = ("spend", "impressions")
PURCHASE_TYPES = ("purchase", "offsite_conversion.fb_pixel_purchase", "omni_purchase")
BUCKET = "meta.ads_insights"
RATE_LIMIT_DOCS = "https://developers.facebook.com/docs/graph-api/overview/rate-limiting"


def _trace(*parts: object) -> str:
    return "A" + hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=15).hexdigest()[:22]


def error(
    code: int,
    message: str,
    *,
    kind: str = "OAuthException",
    status: int = 400,
    subcode: int | None = None,
    transient: bool | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        body["error_subcode"] = subcode
    if transient is not None:
        body["is_transient"] = transient
    body.update(extra)
    body["fbtrace_id"] = _trace(code, subcode, message)
    return Response(status, {"error": body})


def _invalid(message: str) -> Response:
    return error(100, f"(#100) {message}")


def _no_object(object_id: str) -> Response:
    return error(
        100,
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api",
        kind="GraphMethodException",
        subcode=33,
    )


def _version_error(version: str) -> Response | None:
    if version in SUPPORTED_VERSIONS:
        return None
    try:
        major = int(float(version.lstrip("v")))
    except ValueError:
        major = 0
    if 0 < major < OLDEST_VERSION:
        return error(
            2635,
            f"(#2635) You are calling a deprecated version of the Ads API. Please update to the latest version: "
            f"{SUPPORTED_VERSIONS[-1]}.",
        )
    return error(2500, f"Unknown path components: /{version}")


# --------------------------------------------------------------------------- the rows


@dataclass(frozen=True)
class Query:
    account_id: str
    since: date
    until: date  # clamped to as_of
    daily: bool
    fields: tuple[str, ...]


_INDEX: OrderedDict[int, tuple[World, dict[str, list[AdDay]]]] = OrderedDict()
_INDEX_LOCK = threading.Lock()


def _ad_days(world: World, account_id: str) -> list[AdDay]:
    """The account's Meta campaign days, in day then campaign order (cached per world object)."""
    with _INDEX_LOCK:
        hit = _INDEX.get(id(world))
        if hit is None or hit[0] is not world:
            by_account: dict[str, list[AdDay]] = {a: [] for a in ACCOUNTS}
            for ad in world.marketing.ad_days:
                if ad.campaign.platform == "meta" and ad.campaign.account.account_id in by_account:
                    by_account[ad.campaign.account.account_id].append(ad)
            hit = (world, by_account)
            _INDEX[id(world)] = hit
            while len(_INDEX) > 4:
                _INDEX.popitem(last=False)
        return hit[1][account_id]


def _count(value: Decimal | int) -> str:
    """A count as Meta writes it: "3" (a restated recent day's late conversions may still be a fraction)."""
    value = Decimal(value)
    return str(int(value)) if value == value.to_integral_value() else format(value.normalize(), "f")


@dataclass
class _Figures:
    spend: Decimal = Decimal("0.00")
    impressions: int = 0
    clicks: int = 0
    sessions: int = 0
    conversions: Decimal = Decimal("0.00")
    value: Decimal = Decimal("0.00")

    def add(self, ad: AdDay, as_of: date) -> None:
        spend, conversions, value = ad.reported(as_of)
        self.spend += spend
        self.impressions += ad.impressions
        self.clicks += ad.clicks
        self.sessions += ad.sessions
        self.conversions += conversions
        self.value += value


def _actions(f: _Figures) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    checkouts = math.ceil(f.conversions * Decimal("1.6")) if f.conversions else round(f.sessions * 0.02)
    carts = checkouts + round(f.sessions * 0.05)
    counts: list[tuple[str, Decimal | int]] = [
        ("link_click", f.clicks),
        ("landing_page_view", f.sessions),
        ("add_to_cart", carts),
        ("initiate_checkout", checkouts),
        *((t, f.conversions) for t in PURCHASE_TYPES),
    ]
    actions = [{"action_type": t, "value": _count(n)} for t, n in counts if n]
    values = [{"action_type": t, "value": str(f.value)} for t in PURCHASE_TYPES if f.conversions]
    return actions, values


def _render(ad_or_campaign: AdDay, f: _Figures, start: date, stop: date, fields: tuple[str, ...]) -> dict[str, Any]:
    c = ad_or_campaign.campaign
    actions, values = _actions(f)
    full: dict[str, Any] = {
        "account_id": c.account.account_id,
        "account_currency": c.currency,
        "campaign_id": c.campaign_id,
        "campaign_name": c.name,
        "spend": str(f.spend),
        "impressions": str(f.impressions),
        "clicks": str(f.clicks),
        "actions": actions,
        "action_values": values,
    }
    row = {k: full[k] for k in fields if k in full and not (k in ("actions", "action_values") and not full[k])}
    row["date_start"], row["date_stop"] = start.isoformat(), stop.isoformat()
    return row


def insight_rows(world: World, q: Query) -> list[dict[str, Any]]:
    """The rows of a query, as Meta renders them (daily: day then campaign order; all_days: campaign order)."""
    as_of = world.config.as_of
    ads = _ad_days(world, q.account_id)
    days = [a.day for a in ads]
    window = ads[bisect_left(days, q.since) : bisect_right(days, q.until)]
    if q.daily:
        out = []
        for ad in window:
            f = _Figures()
            f.add(ad, as_of)
            out.append(_render(ad, f, ad.day, ad.day, q.fields))
        return out
    totals: dict[str, tuple[AdDay, _Figures]] = {}
    for ad in window:
        first, f = totals.setdefault(ad.campaign.campaign_id, (ad, _Figures()))
        f.add(ad, as_of)
    return [_render(first, f, q.since, q.until, q.fields) for first, f in totals.values()]


def _params(req: Request) -> dict[str, str]:
    params = dict(req.query)
    if req.method == "POST" and req.body:
        params.update(req.form())
    return params


def parse_query(params: dict[str, str], account_id: str, as_of: date) -> Query | Response:
    level = params.get("level", "campaign")
    if level != "campaign":
        return _invalid(f"level {level!r}: this sandbox serves level=campaign only")
    increment = params.get("time_increment", "all_days")
    if increment not in ("1", "all_days"):
        return _invalid(f"time_increment {increment!r}: this sandbox serves 1 (daily) and all_days")
    raw = params.get("time_range")
    if raw:
        try:
            span = json.loads(raw)
            since, until = date.fromisoformat(span["since"]), date.fromisoformat(span["until"])
        except (ValueError, KeyError, TypeError):
            return _invalid("Param time_range must be a JSON object with since and until dates (YYYY-MM-DD)")
    else:  # Meta's default: last_30d, today excluded
        since, until = as_of - timedelta(days=30), as_of - timedelta(days=1)
    if since > until:
        return _invalid("Param time_range: since must be on or before until")
    earliest = _months_before(as_of, MAX_LOOKBACK_MONTHS)
    if since < earliest:
        return error(
            3018,
            f"(#3018) The start date of the time range cannot be beyond {MAX_LOOKBACK_MONTHS} months from the "
            f"current date",
        )
    fields = tuple(f.strip() for f in params.get("fields", ",".join(DEFAULT_FIELDS)).split(",") if f.strip())
    unknown = [f for f in fields if f not in FIELDS]
    if unknown:
        return _invalid(
            f"{unknown[0]} is not valid for fields param. please check "
            "https://developers.facebook.com/docs/marketing-api/reference/ads-insights/ for all valid values"
        )
    return Query(account_id, since, min(until, as_of), increment == "1", fields)


def _months_before(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(y, m + 1, min(day.day, 28))


def _page(req: Request, rows: list[dict[str, Any]], params: dict[str, str]) -> Response:
    try:
        limit = int(params.get("limit", DEFAULT_LIMIT))
        offset = int(decode_cursor(params["after"])["o"]) if params.get("after") else 0
    except (ValueError, KeyError, TypeError):
        return _invalid("Param after or limit is invalid")
    if not 1 <= limit <= MAX_LIMIT:
        return _invalid(f"Param limit must be between 1 and {MAX_LIMIT}")
    chunk = rows[offset : offset + limit]
    if not chunk:
        return Response(200, {"data": []})
    after = encode_cursor({"o": offset + len(chunk)})
    paging: dict[str, Any] = {"cursors": {"before": encode_cursor({"o": offset}), "after": after}}
    if offset + len(chunk) < len(rows):
        query = {k: v for k, v in req.query.items() if k != "after"}
        paging["next"] = f"{req.base_url}{req.path}?{urlencode({**query, 'after': after})}"
    return Response(200, {"data": chunk, "paging": paging})


def get_insights(req: Request, world: World, version: str, account_id: str) -> Response:
    if (bad := _version_error(version)) is not None:
        return bad
    if account_id not in ACCOUNTS:
        return _no_object(f"act_{account_id}")
    params = _params(req)
    q = parse_query(params, account_id, world.config.as_of)
    if isinstance(q, Response):
        return q
    if q.daily and (q.until - q.since).days + 1 > MAX_SYNC_DAYS:
        return error(
            1,
            "Please reduce the amount of data you're asking for, then retry your request",
            status=500,
            subcode=99,
            transient=False,
            error_user_title="Too much data",
            error_user_msg="Use an asynchronous report run (POST .../insights) for long date ranges.",
        )
    return _page(req, insight_rows(world, q), params)


# --------------------------------------------------------------------------- async report runs

STEPS = ("Job Not Started", "Job Started")


@dataclass
class ReportRun:
    run_id: str
    query: Query
    rows: list[dict[str, Any]]
    running_polls: int
    created: float
    polls: int = 0
    completed: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def status(self) -> tuple[str, int]:
        step = self.polls
        if step < len(STEPS):
            return STEPS[step], 0
        running = step - len(STEPS)
        if running < self.running_polls:
            return "Job Running", round(100 * (running + 1) / (self.running_polls + 1))
        return "Job Completed", 100


_RUNS: OrderedDict[str, ReportRun] = OrderedDict()
_RUNS_LOCK = threading.Lock()
_RUN_IDS = itertools.count(1)
MAX_RUNS = 500


def post_insights(req: Request, world: World, version: str, account_id: str) -> Response:
    if (bad := _version_error(version)) is not None:
        return bad
    if account_id not in ACCOUNTS:
        return _no_object(f"act_{account_id}")
    q = parse_query(_params(req), account_id, world.config.as_of)
    if isinstance(q, Response):
        return q
    days = (q.until - q.since).days + 1
    with _RUNS_LOCK:
        run_id = str(6_120_000_000_000_000 + next(_RUN_IDS))
        _RUNS[run_id] = ReportRun(run_id, q, insight_rows(world, q), 1 + max(0, days) // 400, time.time())
        while len(_RUNS) > MAX_RUNS:
            _RUNS.popitem(last=False)
    return Response(200, {"report_run_id": run_id})


def _run(run_id: str) -> ReportRun | None:
    with _RUNS_LOCK:
        return _RUNS.get(run_id)


def get_report_run(req: Request, world: World, version: str, run_id: str) -> Response:
    if (bad := _version_error(version)) is not None:
        return bad
    run = _run(run_id)
    if run is None:
        return _no_object(run_id)
    with _RUNS_LOCK:
        status, pct = run.status()
        run.polls += 1
        if status == "Job Completed" and run.completed is None:
            run.completed = time.time()
    body = {
        "id": run.run_id,
        "account_id": run.query.account_id,
        "time_ref": int(run.created),
        "time_completed": int(run.completed) if status == "Job Completed" and run.completed else 0,
        "async_status": status,
        "async_percent_completion": pct,
        "date_start": run.query.since.isoformat(),
        "date_stop": run.query.until.isoformat(),
        "is_running": status != "Job Completed",
    }
    return Response(200, body)


def get_report_insights(req: Request, world: World, version: str, run_id: str) -> Response:
    if (bad := _version_error(version)) is not None:
        return bad
    run = _run(run_id)
    if run is None:
        return _no_object(run_id)
    if run.status()[0] != "Job Completed" or run.completed is None:
        return error(
            2601,
            "(#2601) Error accessing adreport job: the report run has not completed yet, poll its async_status",
        )
    return _page(req, run.rows, dict(req.query))


# --- vendor wiring: routes, auth, rate limits (the server is generic) ---
NAME = "meta"
LIST_PARAMS: dict[str, tuple[str, ...]] = {}  # fields is comma-separated in one value, as Graph takes it
PATH_PREFIXES = tuple(f"/{v}/" for v in SUPPORTED_VERSIONS)
_REAL_PER_HOUR = 600 + 400 * ACTIVE_ADS
LIMITS = {BUCKET: {"real": (_REAL_PER_HOUR, _REAL_PER_HOUR / 3600), "demo": (40, 8.0), "policy": "rolling"}}


def _token(req: Request) -> str | None:
    scheme, _, bearer = req.headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and bearer.strip():
        return bearer.strip()
    if "access_token" in req.query:
        return req.query["access_token"]
    if req.method == "POST" and req.body:
        return req.form().get("access_token")
    return None


def authorize(app: object, req: Request) -> Response | None:
    token = _token(req)
    if not token:
        return error(104, "An access token is required to request this resource.")
    if token != DEMO_ACCESS_TOKEN:
        return error(190, "Invalid OAuth access token - Cannot parse access token")
    return None


def throttled(bucket: str, wait_s: float) -> Response:
    return error(
        80000,
        "(#80000) There have been too many calls from this ad-account. Wait a bit and try again. For more info, "
        f"please refer to {RATE_LIMIT_DOCS}.",
        subcode=2446079,
        transient=True,
    )


def usage(state: Any) -> tuple[int, int, int]:
    """(call_count %, seconds until a call is allowed again, seconds until the score is back to 0) of a limiter."""
    stamps = list(getattr(state, "stamps", ()))
    if not stamps or not state.capacity:
        return 0, 0, 0
    now, window = state.clock(), state.window_s
    live = [s for s in stamps if s > now - window]
    pct = min(100, int(len(live) * 100 / state.capacity))
    regain = max(0.0, live[0] + window - now) if live and len(live) >= state.capacity else 0.0
    reset = max(0.0, live[-1] + window - now) if live else 0.0
    return pct, math.ceil(regain), math.ceil(reset)


def limit_headers(bucket: str, state: Any) -> dict[str, str]:
    pct, regain_s, reset_s = usage(state)
    buc = {
        BUSINESS_ID: [
            {
                "type": "ads_insights",
                "call_count": pct,
                "total_cputime": pct * 3 // 5,
                "total_time": pct * 4 // 5,
                "estimated_time_to_regain_access": math.ceil(regain_s / 60),
            }
        ]
    }
    account = {"acc_id_util_pct": float(pct), "reset_time_duration": reset_s, "ads_api_access_tier": "standard_access"}
    return {
        "X-Business-Use-Case-Usage": json.dumps(buc, separators=(",", ":")),
        "X-Ad-Account-Usage": json.dumps(account, separators=(",", ":")),
    }


def server_error(status: int) -> Response:
    if status == 500:
        return error(
            2,
            "An unexpected error has occurred. Please retry your request later.",
            status=500,
            transient=True,
        )
    return error(2, "Service temporarily unavailable", status=status, transient=True)


def not_found(req: Request) -> Response:
    return error(2500, f"Unknown path components: {req.path}")


def response_headers(req: Request) -> dict[str, str]:
    version = req.path.split("/")[1] if req.path.count("/") > 1 else SUPPORTED_VERSIONS[-1]
    return {"facebook-api-version": version, "x-fb-trace-id": _trace(req.method, req.path, datetime.now())}


_V = r"/(?P<version>v\d+\.\d+)"
ROUTES = [
    route("GET", _V + r"/act_(?P<account_id>\d+)/insights", BUCKET, get_insights),
    route("POST", _V + r"/act_(?P<account_id>\d+)/insights", BUCKET, post_insights),
    route("GET", _V + r"/(?P<run_id>\d+)", BUCKET, get_report_run),
    route("GET", _V + r"/(?P<run_id>\d+)/insights", BUCKET, get_report_insights),
]
