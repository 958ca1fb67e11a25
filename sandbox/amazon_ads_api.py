"""Amazon Ads API (docs/architecture.md: Amazon Ads (marketing)): profiles and Sponsored Products reporting v3.

Auth: Login with Amazon, the same ``POST /auth/o2/token`` as SP-API (``amazon_api.TokenIssuer``) with the Ads app's
own client id, secret and refresh token (:data:`LWA_CLIENTS`). Every call sends ``Authorization: Bearer <token>``
and ``Amazon-Advertising-API-ClientId: <the app's client id>`` (the token must have been issued to that client);
every call but ``GET /v2/profiles`` also ``Amazon-Advertising-API-Scope: <profileId>``. Errors as Amazon sends them:
``{"code": "UNAUTHORIZED", "details": "..."}`` for auth and scope, ``{"code": "400", "detail": "..."}`` (the v3
reporting form) for validation.

- ``GET /v2/profiles``: the advertiser's profiles (``profileId`` a JSON number, ``countryCode``, ``currencyCode``,
  ``timezone``, ``accountInfo {marketplaceStringId, id, type: "seller", name}``).
- ``POST /reporting/reports`` (``Content-Type: application/vnd.createasyncreportrequest.v3+json``, else 415):
  ``{name, startDate, endDate, configuration: {adProduct, groupBy, columns, reportTypeId, timeUnit, format}}``.
  Validated as documented: ``startDate`` ≤ ``endDate``, at most 31 days, ``YYYY-MM-DD``; ``adProduct``
  ``SPONSORED_PRODUCTS``, ``reportTypeId`` ``spCampaigns``, ``groupBy`` ``["campaign"]``, ``timeUnit`` ``DAILY``
  (``date`` column) or ``SUMMARY`` (``startDate``/``endDate`` columns), ``format`` ``GZIP_JSON``, every column known
  (400 ``configuration columns includes invalid values``). The same request while its report is still PENDING or
  PROCESSING: 425 ``{"code": "425", "detail": "The Request is a duplicate of : <reportId>"}``. Answer: the report
  (``reportId``, ``status: "PENDING"``, ``url``/``fileSize``/``urlExpiresAt`` null until it completes).
- ``GET /reporting/reports/{reportId}``: the report of the scope's profile (else 404); its status moves
  PENDING → PROCESSING → COMPLETED over the polls (a few polls, per report), or FAILED with ``failureReason``
  (with faults on, a few reports fail: the client creates them again). A completed report has ``url``, a
  pre-signed S3-style URL served by the sandbox (``X-Amz-Algorithm``, ``X-Amz-Date``, ``X-Amz-Expires``,
  ``X-Amz-Signature``...), re-signed on every poll, valid for an hour (``urlExpiresAt``), and ``fileSize``.
- The URL (``GET /offline-report-storage-us-east-1-prod/<key>``): the gzipped JSON array of rows, no Amazon auth
  (an ``Authorization`` header next to the query signature is S3's 400 ``InvalidArgument``); an expired URL is
  S3's 403 ``AccessDenied`` "Request has expired", a bad signature 403 ``SignatureDoesNotMatch`` (XML bodies).

Rows (``spCampaigns``, grouped by campaign, DAILY): one per Sponsored Products campaign × day of the profile
(``world.marketing.ad_days``) with the figures as Amazon reports them at the world's ``as_of``
(:meth:`AdDay.reported`: spend before the invalid-click credits of the last 2 days, conversions and sales still
arriving for 14 days). Numbers are JSON numbers as in Amazon's files (``cost`` 12.34: parse as Decimal, exact);
``purchases14d`` and ``unitsSoldClicks14d`` are whole numbers (the world's over-counted conversions, in
hundredths, rounded half up).

Rate limits: Amazon throttles reporting dynamically (by the region's report queue) and sends no rate-limit headers,
only ``Retry-After`` (seconds) on a 429 ``{"code": "429", "details": "Too Many Requests"}``. ``real``: a fixed
low tier of those throttles (:data:`LIMITS`); ``demo``: the same buckets scaled up; ``off``: none. The S3 URL
answers an exhausted bucket with S3's 503 ``SlowDown``.

Deviations: the real v3 reporting keeps about 95 days of data (older ``startDate``: 400); the sandbox serves the
whole history so that the warehouse reconciles with the world's truth. Only ``spCampaigns`` by campaign is served
(other report types, groupBy values and columns are answered as unknown). Report ids are UUIDs derived from the
request (deterministic per sandbox), status advances by polls rather than by minutes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.marketing_world import AMAZON_PROFILES, AdDay
from sandbox.protocol import Request, Response, route
from sandbox.ratelimit import TokenBucket
from sandbox.s3_presigned import Bucket, s3_error
from sandbox.sim import money
from sandbox.world import World

DEMO_CLIENT_ID = "amzn1.application-oa2-client.sandbox-ads"
DEMO_CLIENT_SECRET = "sandbox-ads-client-secret"
DEMO_REFRESH_TOKEN = "Atzr|sandbox-ads-refresh-token"
LWA_CLIENTS = {DEMO_CLIENT_ID: (DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN)}  # the TokenIssuer learns the Ads app
CREATE_CONTENT_TYPE = "application/vnd.createasyncreportrequest.v3+json"
MAX_RANGE_DAYS = 31
URL_TTL_S = 3600
BUCKET = "offline-report-storage-us-east-1-prod"
S3_SIGNING_KEY = b"sandbox-offline-report-storage"  # the sandbox's stand-in for AWS's signing key
S3_ACCESS_KEY = "ASIASANDBOXREPORTS000"
FILES = Bucket(BUCKET, S3_SIGNING_KEY, S3_ACCESS_KEY)
FAIL_RATES = {"none": 0.0, "light": 0.02, "heavy": 0.08}  # reports that end FAILED, by fault mode
COLUMNS_DAILY = (
    "date",
    "campaignId",
    "campaignName",
    "campaignStatus",
    "campaignBudgetAmount",
    "campaignBudgetType",
    "campaignBudgetCurrencyCode",
    "impressions",
    "clicks",
    "cost",
    "spend",
    "costPerClick",
    "clickThroughRate",
    "purchases14d",
    "sales14d",
    "unitsSoldClicks14d",
)
COLUMNS_SUMMARY = tuple(c for c in COLUMNS_DAILY if c != "date") + ("startDate", "endDate")
SELLER_IDS = {"US": "A3PASTAPROUS01", "UK": "A3PASTAPROUK01", "DE": "A3PASTAPRODE01"}
_local = threading.local()


# --------------------------------------------------------------------------- errors


def auth_error(status: int, details: str, code: str = "UNAUTHORIZED") -> Response:
    return Response(status, {"code": code, "details": details})


def report_error(status: int, detail: str) -> Response:
    return Response(status, {"code": str(status), "detail": detail})


# --------------------------------------------------------------------------- reports


@dataclass
class Report:
    report_id: str
    profile_id: str
    key: str  # the canonical request: the same key while PENDING/PROCESSING is a duplicate
    name: str | None
    start: date
    end: date
    configuration: dict[str, Any]
    created_at: float
    pending_polls: int
    processing_polls: int
    fails: bool
    data: bytes  # the gzipped file
    polls: int = 0
    updated_at: float = 0.0

    @property
    def status(self) -> str:
        if self.polls <= self.pending_polls:
            return "PENDING"
        if self.polls <= self.pending_polls + self.processing_polls:
            return "PROCESSING"
        return "FAILED" if self.fails else "COMPLETED"

    @property
    def file_key(self) -> str:
        return f"{self.report_id}-{int(self.created_at)}.json.gz"


@dataclass
class ReportStore:
    """One sandbox app's reports (kept across world advances, as Amazon keeps them)."""

    fail_rate: float = 0.0
    seed: int = 0
    clock: Any = time.time  # wall clock (S3 signs with real time)
    reports: dict[str, Report] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_id(self, key: str) -> str:
        return str(uuid.UUID(hashlib.md5(f"{self.seed}:{key}:{len(self.reports)}".encode()).hexdigest()))

    def pending_duplicate(self, profile_id: str, key: str) -> Report | None:
        for r in self.reports.values():
            if r.profile_id == profile_id and r.key == key and r.status in ("PENDING", "PROCESSING"):
                return r
        return None


_STORES: weakref.WeakKeyDictionary[object, ReportStore] = weakref.WeakKeyDictionary()
_STORES_LOCK = threading.Lock()


def store_for(app: object) -> ReportStore:
    """The report store of a sandbox app (created on its first Ads request)."""
    with _STORES_LOCK:
        store = _STORES.get(app)
        if store is None:
            mode = getattr(app, "fault_mode", "none")
            store = ReportStore(FAIL_RATES.get(mode, 0.0), int(getattr(app, "fault_seed", 0)))
            _STORES[app] = store
        return store


def _unit(*parts: object) -> float:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(at * 1000) % 1000:03d}Z"


def _profile(world: World, profile_id: str):
    return next(
        (p for p in world.marketing.accounts if p.platform == "amazon_ads" and p.account_id == profile_id), None
    )


# --------------------------------------------------------------------------- rows


def _days_of(world: World, profile_id: str) -> list[AdDay]:
    return world.commerce.cached(
        ("amazon_ads.days", profile_id),
        lambda: [
            ad
            for ad in world.marketing.ad_days
            if ad.campaign.platform == "amazon_ads" and ad.campaign.account.account_id == profile_id
        ],
    )


def _units(world: World) -> dict[tuple[date, str], tuple[int, int]]:
    """(day, campaign id) -> (sponsored orders, their units), from the world's sponsored Amazon orders."""

    def build() -> dict[tuple[date, str], tuple[int, int]]:
        out: dict[tuple[date, str], tuple[int, int]] = {}
        for order_id, c in world.marketing.sponsored.items():
            a = world.amazon_by_id[order_id]
            key = (a.purchase_date.date(), c.campaign_id)
            orders, units = out.get(key, (0, 0))
            out[key] = (orders + 1, units + sum(i.quantity for i in a.items))
        return out

    return world.commerce.cached(("amazon_ads.units",), build)


def _whole(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _number(value: Decimal) -> float:
    return float(value) + 0.0  # a JSON number written with the shortest repr: two decimals at most; never -0.0


def day_figures(world: World, ad: AdDay) -> dict[str, Any]:
    """One campaign-day as the report serves it (all columns), at the world's ``as_of``."""
    as_of = world.config.as_of
    cost, conversions, value = ad.reported(as_of)
    purchases = _whole(conversions)
    orders, units = _units(world).get((ad.day, ad.campaign.campaign_id), (0, 0))
    sold = round(purchases * units / orders) if orders else purchases
    c = ad.campaign
    return {
        "date": ad.day.isoformat(),
        "campaignId": int(c.campaign_id),
        "campaignName": c.name,
        "campaignStatus": "ENABLED" if c.active_on(as_of) else "PAUSED",
        "campaignBudgetAmount": _number(money(c.daily_budget * Decimal(str(world.config.scale)))),
        "campaignBudgetType": "DAILY_BUDGET",
        "campaignBudgetCurrencyCode": c.currency,
        "impressions": ad.impressions,
        "clicks": ad.clicks,
        "cost": cost,
        "purchases14d": purchases,
        "sales14d": value,
        "unitsSoldClicks14d": sold,
    }


def _finish(row: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    cost, clicks, impressions = row["cost"], row["clicks"], row["impressions"]
    full = {
        **row,
        "cost": _number(cost),
        "spend": _number(cost),
        "sales14d": _number(row["sales14d"]),
        "costPerClick": _number(money(cost / clicks)) if clicks else 0.0,
        "clickThroughRate": round(clicks / impressions, 4) if impressions else 0.0,
    }
    return {c: full[c] for c in columns}


def report_rows(world: World, profile_id: str, start: date, end: date, columns: list[str], unit: str) -> list[dict]:
    days = [ad for ad in _days_of(world, profile_id) if start <= ad.day <= end]
    figures = [day_figures(world, ad) for ad in days]
    if unit == "DAILY":
        return [_finish(f, columns) for f in figures]
    totals: dict[int, dict[str, Any]] = {}
    for f in figures:  # SUMMARY: one row per campaign over the range
        t = totals.setdefault(
            f["campaignId"],
            {**f, "impressions": 0, "clicks": 0, "cost": Decimal(0), "purchases14d": 0, "sales14d": Decimal(0)}
            | {"unitsSoldClicks14d": 0, "startDate": start.isoformat(), "endDate": end.isoformat()},
        )
        for k in ("impressions", "clicks", "cost", "purchases14d", "sales14d", "unitsSoldClicks14d"):
            t[k] += f[k]
    return [_finish(t, columns) for t in totals.values()]


# --------------------------------------------------------------------------- endpoints


def list_profiles(req: Request, world: World) -> Response:
    return Response(
        200,
        [
            {
                "profileId": int(p.account_id),
                "countryCode": p.country_code,
                "currencyCode": p.currency,
                "dailyBudget": 999999999.0,
                "timezone": p.time_zone,
                "accountInfo": {
                    "marketplaceStringId": p.marketplace_id,
                    "id": SELLER_IDS.get(p.country_code or "", "A3PASTAPRO0001"),
                    "type": "seller",
                    "name": p.name,
                    "validPaymentMethod": True,
                },
            }
            for p in world.marketing.accounts
            if p.platform == "amazon_ads"
        ],
    )


def _parse_day(value: Any, name: str) -> date | Response:
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        return report_error(400, f"{name} must be a date in the format YYYY-MM-DD, was {value!r}")


def _validate(body: Any) -> tuple[date, date, dict[str, Any]] | Response:
    if not isinstance(body, dict):
        return report_error(400, "Request body must be a JSON object")
    for name in ("startDate", "endDate", "configuration"):
        if name not in body:
            return report_error(400, f"{name} is required")
    start = _parse_day(body["startDate"], "startDate")
    if isinstance(start, Response):
        return start
    end = _parse_day(body["endDate"], "endDate")
    if isinstance(end, Response):
        return end
    if start > end:
        return report_error(400, "startDate must be before or equal to endDate")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        return report_error(400, f"Report date range must be {MAX_RANGE_DAYS} days or less")
    cfg = body["configuration"]
    if not isinstance(cfg, dict):
        return report_error(400, "configuration must be an object")
    for name in ("adProduct", "groupBy", "columns", "reportTypeId", "timeUnit", "format"):
        if name not in cfg:
            return report_error(400, f"configuration {name} is required")
    if cfg["adProduct"] != "SPONSORED_PRODUCTS":
        return report_error(400, f"configuration adProduct {cfg['adProduct']!r} is not supported (SPONSORED_PRODUCTS)")
    if cfg["reportTypeId"] != "spCampaigns":
        return report_error(
            400, f"configuration reportTypeId {cfg['reportTypeId']!r} is invalid. Allowed values: (spCampaigns)"
        )
    if cfg["groupBy"] != ["campaign"]:
        return report_error(
            400, f"configuration groupBy includes invalid values: ({cfg['groupBy']}). Allowed values: (campaign)"
        )
    if cfg["timeUnit"] not in ("DAILY", "SUMMARY"):
        return report_error(
            400, f"configuration timeUnit {cfg['timeUnit']!r} is invalid. Allowed values: (SUMMARY, DAILY)"
        )
    if cfg["format"] != "GZIP_JSON":
        return report_error(400, f"configuration format {cfg['format']!r} is invalid. Allowed values: (GZIP_JSON)")
    columns = cfg["columns"]
    allowed = COLUMNS_DAILY if cfg["timeUnit"] == "DAILY" else COLUMNS_SUMMARY
    if not isinstance(columns, list) or not columns:
        return report_error(400, "configuration columns must be a non-empty list")
    invalid = [c for c in columns if c not in allowed]
    if invalid:
        return report_error(
            400,
            f"configuration columns includes invalid values: ({', '.join(map(str, invalid))}). "
            f"Allowed values: ({', '.join(allowed)})",
        )
    return start, end, cfg


def _render(store: ReportStore, r: Report, base_url: str) -> dict[str, Any]:
    status = r.status
    body: dict[str, Any] = {
        "reportId": r.report_id,
        "name": r.name,
        "status": status,
        "startDate": r.start.isoformat(),
        "endDate": r.end.isoformat(),
        "configuration": r.configuration,
        "createdAt": _iso(r.created_at),
        "updatedAt": _iso(r.updated_at or r.created_at),
        "generatedAt": None,
        "url": None,
        "urlExpiresAt": None,
        "fileSize": None,
        "failureReason": None,
    }
    if status == "FAILED":
        body["failureReason"] = "Report generation failed due to an internal error. Please create the report again."
    if status == "COMPLETED":
        now = store.clock()
        body["generatedAt"] = _iso(r.updated_at)
        body["url"] = presign(base_url, r.file_key, now)
        body["urlExpiresAt"] = _iso(now + URL_TTL_S)
        body["fileSize"] = len(r.data)
    return body


def presign(base_url: str, key: str, now: float) -> str:
    return FILES.presign(base_url, key, now, URL_TTL_S)


def create_report(req: Request, world: World) -> Response:
    store: ReportStore = _local.store
    profile_id = req.headers["amazon-advertising-api-scope"]
    content_type = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != CREATE_CONTENT_TYPE:
        return report_error(415, f"Cannot consume content type {content_type or '(none)'}; use {CREATE_CONTENT_TYPE}")
    try:
        body = json.loads(req.body or b"null")
    except ValueError:
        return report_error(400, "Request body is not valid JSON")
    checked = _validate(body)
    if isinstance(checked, Response):
        return checked
    start, end, cfg = checked
    key = json.dumps({"startDate": body["startDate"], "endDate": body["endDate"], "configuration": cfg}, sort_keys=True)
    with store.lock:
        duplicate = store.pending_duplicate(profile_id, key)
        if duplicate is not None:
            return report_error(425, f"The Request is a duplicate of : {duplicate.report_id}")
        report_id = store.new_id(f"{profile_id}:{key}")
        rows = report_rows(
            world, profile_id, start, min(end, world.config.as_of), list(cfg["columns"]), cfg["timeUnit"]
        )
        now = store.clock()
        report = Report(
            report_id=report_id,
            profile_id=profile_id,
            key=key,
            name=body.get("name"),
            start=start,
            end=end,
            configuration=cfg,
            created_at=now,
            pending_polls=1 + int(_unit(store.seed, report_id, "pending") * 2),
            processing_polls=1 + int(_unit(store.seed, report_id, "processing") * 2),
            fails=_unit(store.seed, report_id, "fails") < store.fail_rate,
            data=gzip.compress(json.dumps(rows, separators=(",", ":")).encode(), mtime=0),
            updated_at=now,
        )
        store.reports[report_id] = report
        return Response(200, _render(store, report, req.base_url))


def get_report(req: Request, world: World, report_id: str) -> Response:
    store: ReportStore = _local.store
    with store.lock:
        report = store.reports.get(report_id)
        if report is None or report.profile_id != req.headers["amazon-advertising-api-scope"]:
            return report_error(404, f"Report {report_id} was not found")
        before = report.status
        report.polls += 1
        if report.status != before:
            report.updated_at = store.clock()
        return Response(200, _render(store, report, req.base_url))


def download(req: Request, world: World, key: str) -> Response:
    store: ReportStore = _local.store
    refused = FILES.refuse(req, key, store.clock())
    if refused is not None:
        return refused
    report = next((r for r in store.reports.values() if r.file_key == key and r.status == "COMPLETED"), None)
    if report is None:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
    return Response(
        200,
        report.data,
        {"Content-Type": "application/octet-stream", "ETag": f'"{hashlib.md5(report.data).hexdigest()}"'},
    )


# --- vendor wiring: routes, auth, rate limits (the server is generic) ---
NAME = "amazon_ads"
LIST_PARAMS: dict[str, tuple[str, ...]] = {}  # no list-valued query parameters (report requests are JSON bodies)
PATH_PREFIXES = ("/v2/profiles", "/reporting/", f"/{BUCKET}/")
# Amazon throttles reporting dynamically (by the report queue of the region) and publishes no fixed numbers: real is
# a fixed low tier (report creation 1 per 5 s with a burst of 5; polls 1/s, burst 10), demo the same buckets scaled.
LIMITS = {
    "amazon_ads.profiles": {"real": (5, 1.0), "demo": (100, 50.0)},
    "amazon_ads.createReport": {"real": (5, 0.2), "demo": (100, 50.0)},
    "amazon_ads.getReport": {"real": (10, 1.0), "demo": (500, 250.0)},
    "amazon_ads.download": {"real": (100, 50.0), "demo": (500, 250.0)},
}


def authorize(app: Any, req: Request) -> Response | None:
    _local.store = store_for(app)
    if req.path.startswith(f"/{BUCKET}/"):
        return None  # pre-signed: the query signature is the auth (checked by the handler)
    scheme, _, token = req.headers.get("authorization", "").partition(" ")
    tokens = app.tokens
    issued_at = tokens.issued.get(token.strip()) if scheme.lower() == "bearer" else None
    if issued_at is None:
        return auth_error(401, "Not authorized: missing or invalid access token")
    if tokens.clock() - issued_at > 3600:
        return auth_error(401, "Not authorized: the access token has expired")
    client_id = req.headers.get("amazon-advertising-api-clientid", "")
    if client_id not in LWA_CLIENTS:
        return auth_error(401, "Not authorized: Amazon-Advertising-API-ClientId is missing or unknown")
    if tokens.client_of.get(token.strip()) != client_id:
        return auth_error(401, "Not authorized: the access token was not issued to this client id")
    if req.path.startswith("/v2/profiles"):
        return None
    scope = req.headers.get("amazon-advertising-api-scope", "")
    if not scope.isdigit():
        return auth_error(400, "Amazon-Advertising-API-Scope header is missing or malformed", code="INVALID_ARGUMENT")
    if _profile(app.world, scope) is None:
        return auth_error(401, "Not authorized to access this advertiser")
    return None


def throttled(bucket: str, wait_s: float) -> Response:
    retry = str(max(1, math.ceil(wait_s))) if math.isfinite(wait_s) else "60"
    if bucket == "amazon_ads.download":
        response = s3_error(503, "SlowDown", "Please reduce your request rate.")
    else:
        response = Response(429, {"code": "429", "details": "Too Many Requests"})
    response.headers["Retry-After"] = retry
    return response


def limit_headers(bucket: str, state: TokenBucket) -> dict[str, str]:
    return {}  # Amazon Ads announces no limits; only Retry-After on a 429


def server_error(status: int) -> Response:
    return Response(status, {"code": str(status), "details": "Internal Server Error. Please retry."})


def not_found(req: Request) -> Response:
    if req.path.startswith(f"/{BUCKET}/"):
        return s3_error(404, "NoSuchKey", "The specified key does not exist.")
    return Response(404, {"code": "NOT_FOUND", "details": f"Could not find resource for {req.method} {req.path}"})


def response_headers(req: Request) -> dict[str, str]:
    rid = str(uuid.UUID(hashlib.md5(f"{req.method} {req.path} {time.monotonic_ns()}".encode()).hexdigest()))
    return {"x-amz-request-id": rid} if req.path.startswith(f"/{BUCKET}/") else {"x-amzn-RequestId": rid}


ROUTES = [
    route("GET", r"/v2/profiles", "amazon_ads.profiles", list_profiles),
    route("POST", r"/reporting/reports", "amazon_ads.createReport", create_report),
    route("GET", r"/reporting/reports/(?P<report_id>[0-9a-f-]{36})", "amazon_ads.getReport", get_report),
    route("GET", rf"/{BUCKET}/(?P<key>[^/]+\.json\.gz)", "amazon_ads.download", download),
]

__all__ = ["AMAZON_PROFILES", "DEMO_CLIENT_ID", "ROUTES", "ReportStore", "report_rows", "store_for"]
