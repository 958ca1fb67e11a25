"""Google Analytics 4 Data API v1beta (docs/architecture.md: Google Analytics 4 (marketing)): the store's web
sessions, as GA4 reports them (``world.marketing.session_days``, ``sandbox/marketing_world.py``).

- ``POST /v1beta/properties/{propertyId}:runReport`` with a JSON ``RunReportRequest``: ``dateRanges``
  (``startDate``/``endDate`` as ``YYYY-MM-DD``, ``today``, ``yesterday`` or ``NdaysAgo``, relative to the world's
  clock; up to 4 ranges, then rows carry a ``dateRange`` dimension), ``dimensions`` (``date``,
  ``sessionDefaultChannelGroup``, ``sessionSource``, ``sessionMedium``, ``sessionSourceMedium``,
  ``sessionCampaignName``, ``sessionCampaignId``), ``metrics`` (``sessions``, ``engagedSessions``,
  ``ecommercePurchases``, ``purchaseRevenue``), ``limit`` (default 10,000; more than 250,000 is served as 250,000, as
  Google does), ``offset``, ``orderBys`` (dimension ``ALPHANUMERIC`` | ``CASE_INSENSITIVE_ALPHANUMERIC`` | ``NUMERIC``,
  metric; ``desc``), ``keepEmptyRows`` (rows whose metrics are all 0 are left out unless true),
  ``returnPropertyQuota``.
- Response: ``dimensionHeaders``, ``metricHeaders`` (``TYPE_INTEGER`` | ``TYPE_CURRENCY``), ``rows`` (values as
  strings, ``date`` as ``YYYYMMDD``), ``rowCount`` (all rows of the report, for offset paging; proto3 JSON leaves
  ``rows`` and ``rowCount`` out of an empty report), ``metadata`` (``currencyCode`` USD, ``timeZone``),
  ``propertyQuota`` when asked, ``kind: analyticsData#runReport``.

Auth: ``Authorization: Bearer <OAuth token>`` with an analytics scope (the Data API takes no API key). Missing:
401 UNAUTHENTICATED; wrong token: 401; a valid token without an analytics scope (the plan sheet's): 403
PERMISSION_DENIED ACCESS_TOKEN_SCOPE_INSUFFICIENT; another property: 403 PERMISSION_DENIED. Invalid requests: 400
INVALID_ARGUMENT with Google's wording ("Field foo is not a valid dimension. ..."). Errors carry Google's body
``{"error": {"code", "message", "status"}}``.

Quotas (the property's token buckets, Standard property): 200,000 tokens a day, 40,000 an hour, 14,000 per project
an hour, 10 concurrent requests, 10 server errors per project an hour, 120 potentially thresholded requests an hour.
``propertyQuota`` reports each as Google does: ``consumed`` = by this request (left out when 0), ``remaining`` =
after it. A request whose property has a bucket exhausted gets 429 RESOURCE_EXHAUSTED before it runs. ``real``: the
published budgets over rolling hours and days; ``demo``: the same budgets, the windows 60 times shorter (an "hour" is
a minute); ``off``: none (still reported, never exhausted). A request costs :func:`request_tokens` (the sandbox's
formula: Google publishes none, only that cost grows with the rows and the date span). Faults come from the server's
injector (429 with this body, Google's 5xx bodies, dropped and truncated responses).

Deviations: ``dimensionFilter``, ``metricFilter``, ``metricAggregations``, ``comparisons`` and ``cohortSpec`` are
answered 400 (the sandbox does not filter); ``currencyCode`` other than the property's USD is 400 (Google converts);
no row is ever thresholded or sampled, and the report never hits the cardinality limit (no ``(other)`` row).
"""

from __future__ import annotations

import bisect
import contextvars
import json
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sandbox import sheets_api
from sandbox.marketing_world import SessionDay
from sandbox.protocol import Request, Response, route
from sandbox.ratelimit import OFF_LIMIT, TokenBucket
from sandbox.world import World

DEMO_PROPERTY_ID = "412873960"  # PastaPro's web property (a Standard property, UTC reporting)
DEMO_ACCESS_TOKEN = "ya29.a0-sandbox-pastapro-analytics-readonly"  # OAuth token, scope analytics.readonly
SERVICE = "analyticsdata.googleapis.com"
TIME_ZONE = "Etc/GMT"
CURRENCY = "USD"
EARLIEST_DATE = date(2015, 8, 14)  # GA4 reports no earlier date
DEFAULT_LIMIT, MAX_LIMIT = 10_000, 250_000
MAX_DIMENSIONS, MAX_METRICS, MAX_DATE_RANGES = 9, 10, 4
QUOTA_DOC = "https://developers.google.com/analytics/devguides/reporting/data/v1/quotas"
SCHEMA_DOC = "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"

NOT_SET = "(not set)"
DIMENSIONS: dict[str, Callable[[SessionDay], str]] = {
    "date": lambda sd: sd.day.strftime("%Y%m%d"),
    "sessionDefaultChannelGroup": lambda sd: sd.source.channel_group,
    "sessionSource": lambda sd: sd.source.source,
    "sessionMedium": lambda sd: sd.source.medium,
    "sessionSourceMedium": lambda sd: f"{sd.source.source} / {sd.source.medium}",
    "sessionCampaignName": lambda sd: sd.source.campaign,
    "sessionCampaignId": lambda sd: sd.source.campaign_id or NOT_SET,
}
METRIC_TYPES = {
    "sessions": "TYPE_INTEGER",
    "engagedSessions": "TYPE_INTEGER",
    "ecommercePurchases": "TYPE_INTEGER",
    "purchaseRevenue": "TYPE_CURRENCY",
}
REQUEST_FIELDS = frozenset(
    {
        "property",
        "dimensions",
        "metrics",
        "dateRanges",
        "dimensionFilter",
        "metricFilter",
        "offset",
        "limit",
        "metricAggregations",
        "orderBys",
        "currencyCode",
        "cohortSpec",
        "keepEmptyRows",
        "returnPropertyQuota",
        "comparisons",
    }
)
UNSUPPORTED_FIELDS = ("dimensionFilter", "metricFilter", "metricAggregations", "comparisons", "cohortSpec")
ORDER_TYPES = ("ORDER_TYPE_UNSPECIFIED", "ALPHANUMERIC", "CASE_INSENSITIVE_ALPHANUMERIC", "NUMERIC")
_RELATIVE = re.compile(r"(\d+)daysAgo")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def error(code: int, status: str, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        body["details"] = details
    return Response(code, {"error": body})


def _invalid(message: str) -> Response:
    return error(400, "INVALID_ARGUMENT", message)


class BadRequest(ValueError):
    """A RunReportRequest GA4 refuses with 400 INVALID_ARGUMENT (the message is Google's)."""


# --------------------------------------------------------------------------- quotas

# quota -> (budget, window in seconds) of a Standard property; concurrentRequests is a count of requests in flight
STANDARD_QUOTAS: dict[str, tuple[int, float]] = {
    "tokensPerDay": (200_000, 86_400.0),
    "tokensPerHour": (40_000, 3_600.0),
    "tokensPerProjectPerHour": (14_000, 3_600.0),
    "serverErrorsPerProjectPerHour": (10, 3_600.0),
    "potentiallyThresholdedRequestsPerHour": (120, 3_600.0),
}
CONCURRENT_REQUESTS = 10
DEMO_TIME_SCALE = 60.0  # demo: an "hour" of quota lasts a minute
QUOTAS: dict[str, dict[str, tuple[int, float]]] = {
    "real": dict(STANDARD_QUOTAS),
    "demo": {k: (budget, window / DEMO_TIME_SCALE) for k, (budget, window) in STANDARD_QUOTAS.items()},
}
TOKEN_QUOTAS = ("tokensPerDay", "tokensPerHour", "tokensPerProjectPerHour")
EXHAUSTED_MESSAGES = {
    "tokensPerDay": "Exhausted property tokens per day quota. These quota tokens will return tomorrow.",
    "tokensPerHour": "Exhausted property tokens per hour quota. These quota tokens will return in under an hour.",
    "tokensPerProjectPerHour": "Exhausted property tokens per hour for a project per property quota. "
    "These quota tokens will return in under an hour.",
    "concurrentRequests": "Exhausted concurrent requests quota.",
}
ROWS_PER_TOKEN, DAYS_PER_TOKEN = 250, 30


def request_tokens(days: int, matched_rows: int) -> int:
    """Tokens a report costs: 1, one more per 30 days of its date ranges past the first, one per 250 rows it
    aggregates to (all of them, not only the page served: every page of a paged report costs the whole report)."""
    return 1 + max(0, days - 1) // DAYS_PER_TOKEN + matched_rows // ROWS_PER_TOKEN


class _Window:
    """Amounts consumed in the last ``window_s`` seconds."""

    def __init__(self, budget: int, window_s: float, clock: Callable[[], float]) -> None:
        self.budget, self.window_s, self.clock = budget, window_s, clock
        self.spent: deque[tuple[float, int]] = deque()
        self.total = 0

    def _expire(self) -> None:
        now = self.clock()
        while self.spent and self.spent[0][0] <= now - self.window_s:
            self.total -= self.spent.popleft()[1]

    def remaining(self) -> int:
        self._expire()
        return max(0, self.budget - self.total)

    def charge(self, amount: int) -> None:
        if amount:
            self.spent.append((self.clock(), amount))
            self.total += amount


class PropertyQuota:
    """The property's quota buckets in a rate-limit mode (``off``: reported, never exhausted)."""

    def __init__(self, mode: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.mode = mode
        limits = QUOTAS.get(mode, STANDARD_QUOTAS)
        self.windows = {name: _Window(budget, window_s, clock) for name, (budget, window_s) in limits.items()}
        self.in_flight = 0
        self.lock = threading.Lock()

    def enter(self) -> str | None:
        """Start a request: the name of an exhausted quota (then the request is refused), else None."""
        with self.lock:
            if self.mode != "off":
                if self.in_flight >= CONCURRENT_REQUESTS:
                    return "concurrentRequests"
                for name in TOKEN_QUOTAS:
                    if self.windows[name].remaining() <= 0:
                        return name
            self.in_flight += 1
            return None

    def leave(self, tokens: int) -> dict[str, Any]:
        """Finish a request that cost ``tokens``: the ``propertyQuota`` of its response."""
        with self.lock:
            self.in_flight -= 1
            if self.mode != "off":
                for name in TOKEN_QUOTAS:
                    self.windows[name].charge(tokens)
            out: dict[str, Any] = {}
            for name in (
                "tokensPerDay",
                "tokensPerHour",
                "concurrentRequests",
                "serverErrorsPerProjectPerHour",
                "potentiallyThresholdedRequestsPerHour",
                "tokensPerProjectPerHour",
            ):
                if name == "concurrentRequests":
                    status: dict[str, int] = {"remaining": CONCURRENT_REQUESTS - self.in_flight}
                else:
                    status = {"remaining": self.windows[name].remaining()}
                    if name in TOKEN_QUOTAS and tokens:
                        status = {"consumed": tokens, **status}
                out[name] = status
            return out


_QUOTAS: weakref.WeakKeyDictionary[object, PropertyQuota] = weakref.WeakKeyDictionary()
_QUOTAS_LOCK = threading.Lock()
# the quota of the app serving the current request: set by authorize(), read by the handler (same thread, next call)
_CURRENT: contextvars.ContextVar[PropertyQuota | None] = contextvars.ContextVar("ga4_quota", default=None)


def quota_of(app: object) -> PropertyQuota:
    """The property quota of a sandbox app (created on its first GA4 request, in the app's rate-limit mode)."""
    with _QUOTAS_LOCK:
        quota = _QUOTAS.get(app)
        if quota is None:
            limiter = getattr(app, "limiter", None)
            quota = _QUOTAS[app] = PropertyQuota(getattr(limiter, "mode", "off"))
        return quota


# --------------------------------------------------------------------------- the request


def _resolve_date(text: Any, today: date, where: str) -> date:
    value = str(text or "").strip()
    if value == "today":
        return today
    if value == "yesterday":
        return today - timedelta(days=1)
    if m := _RELATIVE.fullmatch(value):
        return today - timedelta(days=int(m.group(1)))
    if _ISO.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise BadRequest(
        f"Field {where} has an invalid value {value!r}. A date must be in the format YYYY-MM-DD, NdaysAgo, "
        "yesterday, or today."
    )


def _int(body: dict[str, Any], name: str) -> int:
    raw = body.get(name, 0)
    try:
        value = int(raw)  # int64 fields: a JSON number or a decimal string (proto3 JSON)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid value at '{name}' (TYPE_INT64), \"{raw}\"") from None
    if isinstance(raw, bool) or value < 0:
        raise BadRequest(f"{name} must be positive: {raw}")
    return value


def _names(body: dict[str, Any], field: str, known: dict[str, Any], kind: str, maximum: int) -> list[str]:
    items = body.get(field) or []
    if not isinstance(items, list):
        raise BadRequest(f"Invalid value at '{field}': a list is required")
    names = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        if name not in known:
            raise BadRequest(
                f"Field {name} is not a valid {kind}. For a list of valid dimensions and metrics, see {SCHEMA_DOC}"
            )
        if name in names:
            raise BadRequest(f"Duplicate {kind} names are not allowed: {name}")
        names.append(name)
    if len(names) > maximum:
        raise BadRequest(f"Requests can have at most {maximum} {kind}s.")
    return names


def parse_request(body: Any, today: date) -> dict[str, Any]:
    """The validated report request (raises BadRequest with Google's message)."""
    if not isinstance(body, dict):
        raise BadRequest("Invalid JSON payload received. Expected an object.")
    for name in body:
        if name not in REQUEST_FIELDS:
            raise BadRequest(f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.')
    for name in UNSUPPORTED_FIELDS:
        if body.get(name):
            raise BadRequest(f"{name} is not supported by the sandbox's runReport (see sandbox/ga4_api.py).")
    currency = body.get("currencyCode") or CURRENCY
    if currency != CURRENCY:
        raise BadRequest(f"currencyCode {currency!r}: the sandbox reports in the property's currency, {CURRENCY}.")
    dimensions = _names(body, "dimensions", DIMENSIONS, "dimension", MAX_DIMENSIONS)
    metrics = _names(body, "metrics", METRIC_TYPES, "metric", MAX_METRICS)
    if not dimensions and not metrics:
        raise BadRequest("A report must request at least one dimension or metric.")
    ranges_in = body.get("dateRanges") or []
    if not isinstance(ranges_in, list) or not ranges_in:
        raise BadRequest("A report must specify at least one date range (dateRanges).")
    if len(ranges_in) > MAX_DATE_RANGES:
        raise BadRequest(f"Requests can have at most {MAX_DATE_RANGES} dateRanges.")
    ranges = []
    for i, r in enumerate(ranges_in):
        if not isinstance(r, dict):
            raise BadRequest(f"Invalid value at 'dateRanges[{i}]'")
        start = _resolve_date(r.get("startDate"), today, f"dateRanges[{i}].startDate")
        end = _resolve_date(r.get("endDate"), today, f"dateRanges[{i}].endDate")
        if start > end:
            raise BadRequest(f"Field dateRanges[{i}]: startDate {start} must be on or before endDate {end}.")
        if start < EARLIEST_DATE:
            raise BadRequest(f"Field dateRanges[{i}].startDate: dates before {EARLIEST_DATE} are not supported.")
        ranges.append((start, end, str(r.get("name") or f"date_range_{i}")))
    limit = _int(body, "limit") or DEFAULT_LIMIT
    offset = _int(body, "offset")
    order = []
    for i, ob in enumerate(body.get("orderBys") or []):
        if not isinstance(ob, dict):
            raise BadRequest(f"Invalid value at 'orderBys[{i}]'")
        desc = bool(ob.get("desc", False))
        if "dimension" in ob:
            name = (ob["dimension"] or {}).get("dimensionName")
            kind = (ob["dimension"] or {}).get("orderType") or "ALPHANUMERIC"
            if kind not in ORDER_TYPES:
                raise BadRequest(f"Invalid value at 'order_bys[{i}].dimension.order_type', \"{kind}\"")
            if name not in dimensions and not (name == "dateRange" and len(ranges) > 1):
                raise BadRequest(f"orderBys[{i}]: dimension {name} is not in the request's dimensions.")
            order.append(("dimension", name, kind, desc))
        elif "metric" in ob:
            name = (ob["metric"] or {}).get("metricName")
            if name not in metrics:
                raise BadRequest(f"orderBys[{i}]: metric {name} is not in the request's metrics.")
            order.append(("metric", name, "NUMERIC", desc))
        else:
            raise BadRequest(f"orderBys[{i}] must order by a dimension or a metric.")
    return {
        "dimensions": dimensions,
        "metrics": metrics,
        "ranges": ranges,
        "limit": min(limit, MAX_LIMIT),
        "offset": offset,
        "order": order,
        "keep_empty": bool(body.get("keepEmptyRows", False)),
        "quota": bool(body.get("returnPropertyQuota", False)),
    }


# --------------------------------------------------------------------------- the report

# id(session_days) -> (session_days, their days): the list is held, so its id stays its own while cached
_DAY_INDEX: dict[int, tuple[list[SessionDay], list[date]]] = {}


def _days_of(world: World) -> list[date]:
    session_days = world.marketing.session_days
    cached = _DAY_INDEX.get(id(session_days))
    if cached is None or cached[0] is not session_days:
        if len(_DAY_INDEX) >= 8:
            _DAY_INDEX.clear()
        cached = _DAY_INDEX[id(session_days)] = (session_days, [sd.day for sd in session_days])  # in day order
    return cached[1]


def _metric(sd: SessionDay, name: str, as_of: date) -> int | Decimal:
    if name in ("sessions", "engagedSessions"):
        sessions, engaged = sd.reported(as_of)
        return sessions if name == "sessions" else engaged
    if name == "ecommercePurchases":
        return sd.purchases
    return sd.purchase_revenue


def _format(value: int | Decimal) -> str:
    return str(value) if isinstance(value, int) else f"{value:.2f}"


def report(world: World, spec: dict[str, Any]) -> tuple[list[tuple[list[str], list[int | Decimal]]], int]:
    """Every row of the report (dimension values, metric values), ordered, and the days it spans."""
    as_of = world.config.as_of
    session_days, days = world.marketing.session_days, _days_of(world)
    dims, metrics, multi = spec["dimensions"], spec["metrics"], len(spec["ranges"]) > 1
    rows: dict[tuple[str, ...], list[int | Decimal]] = {}
    span = 0
    for start, end, name in spec["ranges"]:
        span += (end - start).days + 1
        lo, hi = bisect.bisect_left(days, start), bisect.bisect_right(days, min(end, as_of))
        for sd in session_days[lo:hi]:
            key = tuple(DIMENSIONS[d](sd) for d in dims) + ((name,) if multi else ())
            acc = rows.setdefault(key, [Decimal("0.00") if METRIC_TYPES[m] == "TYPE_CURRENCY" else 0 for m in metrics])
            for i, m in enumerate(metrics):
                acc[i] += _metric(sd, m, as_of)
    out = [(list(k), v) for k, v in rows.items() if spec["keep_empty"] or not metrics or any(v)]
    names = [*dims, *(["dateRange"] if multi else [])]
    order = spec["order"]
    if not order and metrics:  # no orderBys: the first metric, descending
        order = [("metric", metrics[0], "NUMERIC", True)]
    out.sort(key=lambda r: r[0])  # ties: dimension values ascending (a stable order for offset paging)
    for kind, name, order_type, desc in reversed(order):
        if kind == "metric":
            i = metrics.index(name)
            out.sort(key=lambda r: r[1][i], reverse=desc)
        else:
            j = names.index(name)
            out.sort(key=lambda r: _dimension_key(r[0][j], order_type), reverse=desc)
    return out, span


def _dimension_key(value: str, order_type: str) -> Any:
    if order_type == "NUMERIC":
        try:
            return (0, Decimal(value), value)
        except ArithmeticError:
            return (1, Decimal(0), value)
    return value.lower() if order_type == "CASE_INSENSITIVE_ALPHANUMERIC" else value


def run_report(req: Request, world: World, property_id: str) -> Response:
    if not property_id.isdigit():
        return _invalid(f"Invalid property ID: properties/{property_id}. A property ID is numeric.")
    if property_id != DEMO_PROPERTY_ID:
        return error(
            403,
            "PERMISSION_DENIED",
            "User does not have sufficient permissions for this property. To learn more about Property ID, see "
            "https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.",
        )
    try:
        body = json.loads(req.body or b"{}")
    except ValueError:
        return _invalid("Invalid JSON payload received. Unexpected token.")
    try:
        spec = parse_request(body, world.config.as_of)
    except BadRequest as exc:
        return _invalid(str(exc))
    quota = _CURRENT.get() or PropertyQuota("off")
    exhausted = quota.enter()
    if exhausted is not None:
        return _exhausted(exhausted)
    tokens = 0
    try:
        rows, span = report(world, spec)
        tokens = request_tokens(span, len(rows))
    finally:
        property_quota = quota.leave(tokens)
    offset, limit = spec["offset"], spec["limit"]
    dims = spec["dimensions"] + (["dateRange"] if len(spec["ranges"]) > 1 else [])
    out: dict[str, Any] = {
        "dimensionHeaders": [{"name": d} for d in dims],
        "metricHeaders": [{"name": m, "type": METRIC_TYPES[m]} for m in spec["metrics"]],
    }
    page = rows[offset : offset + limit]
    if page:
        out["rows"] = [
            {
                "dimensionValues": [{"value": v} for v in d],
                "metricValues": [{"value": _format(v)} for v in m],
            }
            for d, m in page
        ]
    if rows:
        out["rowCount"] = len(rows)
    out["metadata"] = {"currencyCode": CURRENCY, "timeZone": TIME_ZONE}
    if spec["quota"]:
        out["propertyQuota"] = property_quota
    out["kind"] = "analyticsData#runReport"
    return Response(200, out)


def _exhausted(quota: str) -> Response:
    return error(429, "RESOURCE_EXHAUSTED", f"{EXHAUSTED_MESSAGES[quota]} To learn more, see {QUOTA_DOC}")


# --- vendor wiring: routes, auth, rate limits (the server is generic) ---
NAME = "ga4"
LIST_PARAMS: dict[str, tuple[str, ...]] = {}
PATH_PREFIXES = ("/v1beta/properties",)
# GA4 limits tokens, not requests: the property's quotas are kept by this module (PropertyQuota); the server's
# request bucket never bites.
LIMITS = {"ga4": {"real": OFF_LIMIT, "demo": OFF_LIMIT}}
# valid Google tokens of the sandbox granted other scopes (the plan sheet's): 403, not 401
_SCOPED_ELSEWHERE = frozenset({sheets_api.DEMO_ACCESS_TOKEN, sheets_api.DEMO_NO_SCOPE_TOKEN})


def _info(reason: str, **metadata: str) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": SERVICE, **metadata},
    }


def authorize(app: object, req: Request) -> Response | None:
    _CURRENT.set(quota_of(app))
    scheme, _, token = req.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        if "key" in req.query:
            return error(
                401,
                "UNAUTHENTICATED",
                "API keys are not supported by this API. Expected OAuth2 access token or other authentication "
                "credentials that assert a principal. See https://cloud.google.com/docs/authentication",
                [_info("CREDENTIALS_MISSING")],
            )
        return error(
            401,
            "UNAUTHENTICATED",
            "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or "
            "other valid authentication credential. See "
            "https://developers.google.com/identity/sign-in/web/devconsole-project.",
            [_info("CREDENTIALS_MISSING")],
        )
    if token in _SCOPED_ELSEWHERE:
        return error(
            403,
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes.",
            [
                _info(
                    "ACCESS_TOKEN_SCOPE_INSUFFICIENT", method="google.analytics.data.v1beta.BetaAnalyticsData.RunReport"
                )
            ],
        )
    if token != DEMO_ACCESS_TOKEN:
        return error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
            "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            [_info("ACCESS_TOKEN_TYPE_UNSUPPORTED")],
        )
    return None


def throttled(bucket: str, wait_s: float) -> Response:
    return _exhausted("tokensPerProjectPerHour")


def limit_headers(bucket: str, state: TokenBucket) -> dict[str, str]:
    return {}  # GA4 reports its quota in the body (returnPropertyQuota), never in headers


def server_error(status: int) -> Response:
    if status == 503:
        return error(503, "UNAVAILABLE", "The service is currently unavailable.")
    return error(status, "INTERNAL", "Internal error encountered.")


def not_found(req: Request) -> Response:
    return error(404, "NOT_FOUND", f"Method not found: {req.method} {req.path}")


ROUTES = [
    route("POST", r"/v1beta/properties/(?P<property_id>[^/:]+):runReport", "ga4", run_report),
]
