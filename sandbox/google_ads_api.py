"""Google Ads API, REST (docs/architecture.md: Google Ads (marketing)): ``GoogleAdsService.SearchStream`` and
``Search`` over the world's Google Ads account (``sandbox/marketing_world.py``).

- ``POST /{version}/customers/{customer_id}/googleAds:searchStream`` with a JSON body ``{"query": "<GAQL>"}``: the
  JSON array of ``SearchGoogleAdsStreamResponse`` batches, up to 10,000 rows each (``results``, ``fieldMask``,
  ``requestId``; the last batch adds ``queryResourceConsumption``); a query without rows gives one batch without
  ``results``. ``POST .../googleAds:search`` with ``{"query", "pageToken"?}``: one page of 10,000 rows (``results``,
  ``fieldMask``, ``nextPageToken`` but on the last page, ``requestId``). Since v17 the page size is fixed: a
  ``pageSize`` in the body is an unknown field, 400 as Google answers ("Invalid JSON payload received").
- Versions: :data:`SUPPORTED_VERSIONS`; any other ``v<N>`` is 404 ``NOT_FOUND``, as Google answers a sunset version.
- JSON as the REST transcoding writes it: field names in lowerCamelCase, int64 (ids, ``costMicros``,
  ``impressions``, ``clicks``, ``amountMicros``) as strings, doubles (``conversions``, ``conversionsValue``) as
  numbers (hundredths and cents here: parse them as Decimal), enums by name, dates ``YYYY-MM-DD``; every resource in a
  row carries its ``resourceName``. A campaign without an end date has ``endDate`` ``2037-12-30``, as in Google Ads.
- GAQL subset: ``SELECT <fields> FROM campaign|ad_group|customer [WHERE <cond> [AND <cond>...]] [ORDER BY <field>
  [ASC|DESC], ...] [LIMIT n]``; conditions ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``IN (..)``, ``NOT IN (..)``,
  ``BETWEEN 'a' AND 'b'`` and ``DURING`` (TODAY, YESTERDAY, LAST_7_DAYS, LAST_14_DAYS, LAST_30_DAYS, THIS_MONTH,
  LAST_MONTH) on :data:`FIELDS`. ``segments.date`` in SELECT needs a finite date range in WHERE; metrics without
  ``segments.date`` are summed over the range (all days without one). Errors: 400 ``INVALID_ARGUMENT`` with a
  ``GoogleAdsFailure`` (``queryError`` UNRECOGNIZED_FIELD, PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE,
  EXPECTED_FILTERS_ON_DATE_RANGE, BAD_RESOURCE_TYPE_IN_FROM_CLAUSE, INVALID_DATE_FORMAT, BAD_ENUM_CONSTANT,
  BAD_OPERATOR, REQUESTED_METRICS_FOR_MANAGER, UNEXPECTED_INPUT..., with ``trigger``; ``requestId`` in the failure).
- Rows: ``FROM ad_group``: one per ad group × day of ``world.marketing.ad_days`` (Google campaigns), the
  campaign-day's figures split over its ad groups by ``AdDay.ad_group_shares`` so that the ad groups sum exactly to
  the campaign (cost in whole cents as micros, impressions, clicks, conversions to hundredths, value to cents; the
  last ad group takes the rest), spend, conversions and value as :meth:`AdDay.reported` at the world's ``as_of``
  (recent days restated later), impressions and clicks final. ``FROM campaign``: one per campaign (× day with
  ``segments.date``); ``FROM customer``: the account (× day).

Auth (Google's order): ``Authorization: Bearer`` an access token of ``sandbox/google_oauth.py`` with the ``adwords``
scope (missing or unknown: 401 ``UNAUTHENTICATED`` OAUTH_TOKEN_INVALID / OAUTH_TOKEN_HEADER_INVALID, expired: 401
OAUTH_TOKEN_EXPIRED, another scope: 403 ``PERMISSION_DENIED`` ACCESS_TOKEN_SCOPE_INSUFFICIENT); ``developer-token``
(missing or unknown: 401 authenticationError DEVELOPER_TOKEN_INVALID; the test-account-only token: 403
authorizationError DEVELOPER_TOKEN_NOT_APPROVED); ``login-customer-id`` (absent, the customer itself or its manager
``GOOGLE_MANAGER_ID``; another: 403 authorizationError USER_PERMISSION_DENIED); a customer id that is not a number:
400 CLIENT_CUSTOMER_ID_INVALID; a customer the user cannot reach: 403 USER_PERMISSION_DENIED.

Quota (Basic access): 15,000 operations per day per developer token, a search(Stream) request counting one (bucket
``google_ads``, a rolling window: ``real`` at most 15,000 in any 24 h; ``demo`` 15,000 in a "day" of 86.4 s; ``off``
none),
and a per-second request rate (bucket ``google_ads.rate``; Google publishes no number: ``real`` 10 requests of burst
at 2/s). Over either: 429 ``RESOURCE_EXHAUSTED`` with a GoogleAdsFailure ``quotaError`` RESOURCE_EXHAUSTED (the
daily operations, ``rateScope`` DEVELOPER) or RESOURCE_TEMPORARILY_EXHAUSTED (the rate, ``rateScope`` ACCOUNT) and
``quotaErrorDetails.retryDelay``; Google sends no rate-limit headers. Faults come through the server's injector
(5xx as Google's ``INTERNAL`` / ``UNAVAILABLE`` bodies).

Deviation: the real REST stream returns an error that happens after the first batch as a last array element; the
sandbox fails before streaming, so its errors are always the plain ``{"error": ...}`` body.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox import google_oauth
from sandbox.marketing_world import GOOGLE_ACCOUNT, GOOGLE_MANAGER_ID, AdDay, Campaign
from sandbox.protocol import Request, Response, decode_cursor, encode_cursor, route
from sandbox.ratelimit import TokenBucket
from sandbox.world import World

SUPPORTED_VERSIONS = ("v20", "v21", "v22")
LATEST_VERSION = SUPPORTED_VERSIONS[-1]
DEMO_DEVELOPER_TOKEN = "SbxPastaProDevTok22chr"  # Basic access (22 characters, as Google's)
DEMO_TEST_ONLY_DEVELOPER_TOKEN = "SbxPastaProTestOnly22c"  # Test account access: production accounts refused
BATCH_ROWS = 10_000  # rows per SearchStream batch and per Search page
NO_END_DATE = "2037-12-30"  # Google's end_date of a campaign without one
DAILY_OPERATIONS = 15_000  # Basic access
MANAGER_NAME = "PastaPro MCC"
SERVICE = "googleads.googleapis.com"
UNIT = Decimal("0.01")
_THROTTLED = itertools.count()  # request ids of the server's 429s

# field -> (resource, JSON path of the row, kind) ; kinds: id (int64 string), int (int64 string), text, enum, date,
# double (hundredths / cents as a JSON number)
FIELDS: dict[str, str] = {
    "campaign.resource_name": "text",
    "campaign.id": "id",
    "campaign.name": "text",
    "campaign.status": "enum",
    "campaign.advertising_channel_type": "enum",
    "campaign.start_date": "date",
    "campaign.end_date": "date",
    "campaign_budget.resource_name": "text",
    "campaign_budget.amount_micros": "int",
    "ad_group.resource_name": "text",
    "ad_group.id": "id",
    "ad_group.name": "text",
    "ad_group.status": "enum",
    "ad_group.campaign": "text",
    "customer.resource_name": "text",
    "customer.id": "id",
    "customer.currency_code": "text",
    "customer.time_zone": "text",
    "customer.descriptive_name": "text",
    "customer.manager": "bool",
    "segments.date": "date",
    "metrics.cost_micros": "int",
    "metrics.impressions": "int",
    "metrics.clicks": "int",
    "metrics.conversions": "double",
    "metrics.conversions_value": "double",
}
METRICS = tuple(f for f in FIELDS if f.startswith("metrics."))
ENUMS = {
    "campaign.status": ("ENABLED", "PAUSED", "REMOVED", "UNKNOWN", "UNSPECIFIED"),
    "campaign.advertising_channel_type": ("SEARCH", "SHOPPING", "DISPLAY", "VIDEO", "PERFORMANCE_MAX", "UNKNOWN"),
    "ad_group.status": ("ENABLED", "PAUSED", "REMOVED", "UNKNOWN", "UNSPECIFIED"),
}
# FROM resource -> the resources whose fields a row of it may select
ATTRIBUTED = {
    "campaign": ("campaign", "campaign_budget", "customer"),
    "ad_group": ("ad_group", "campaign", "campaign_budget", "customer"),
    "customer": ("customer",),
}
KNOWN_RESOURCES = ("ad_group_ad", "keyword_view", "campaign_budget", "search_term_view", "shopping_performance_view")
DURING = ("TODAY", "YESTERDAY", "LAST_7_DAYS", "LAST_14_DAYS", "LAST_30_DAYS", "THIS_MONTH", "LAST_MONTH")


# --------------------------------------------------------------------------- errors


def request_id(req: Request) -> str:
    digest = hashlib.blake2b(req.path.encode() + b"#" + req.body, digest_size=16).digest()
    return base64.urlsafe_b64encode(digest).decode()[:22]


def _status_error(code: int, status: str, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        body["details"] = details
    return Response(code, {"error": body})


def failure(
    code: int,
    status: str,
    kind: str,
    reason: str,
    message: str,
    rid: str,
    *,
    version: str = LATEST_VERSION,
    trigger: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """Google's error body with a ``GoogleAdsFailure`` detail (``errorCode`` {kind: reason})."""
    error: dict[str, Any] = {"errorCode": {kind: reason}, "message": message}
    if trigger is not None:
        error["trigger"] = {"stringValue": trigger}
    if extra:
        error.update(extra)
    top = {
        "INVALID_ARGUMENT": "Request contains an invalid argument.",
        "UNAUTHENTICATED": "Request is missing required authentication credential. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
        "PERMISSION_DENIED": "The caller does not have permission",
        "RESOURCE_EXHAUSTED": "Resource has been exhausted (e.g. check quota).",
    }[status]
    return _status_error(
        code,
        status,
        top,
        [
            {
                "@type": f"type.googleapis.com/google.ads.googleads.{version}.errors.GoogleAdsFailure",
                "errors": [error],
                "requestId": rid,
            }
        ],
    )


class QueryError(ValueError):
    def __init__(self, reason: str, message: str, trigger: str | None = None) -> None:
        super().__init__(message)
        self.reason, self.message, self.trigger = reason, message, trigger


# --------------------------------------------------------------------------- GAQL

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>!=|>=|<=|=|>|<|\(|\)|,)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # = != > >= < <= IN NOT_IN BETWEEN DURING
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    resource: str
    conditions: tuple[Condition, ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)
    limit: int | None


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            rest = text[pos:].strip()
            if rest.startswith(("'", '"')):
                raise QueryError("STRING_NOT_TERMINATED", "String literal not terminated.", rest[:20])
            raise QueryError("UNEXPECTED_INPUT", f"Error in query: unexpected input {rest[:20]}.", rest[:20])
        kind = next(k for k, v in m.groupdict().items() if v is not None)
        value = m.group(kind)
        out.append((kind, value[1:-1] if kind == "str" else value))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def parse_query(text: str) -> Query:
    toks = _tokens(text)
    pos = 0

    def peek(offset: int = 0) -> tuple[str, str] | None:
        return toks[pos + offset] if pos + offset < len(toks) else None

    def keyword(*words: str) -> bool:
        nonlocal pos
        for i, w in enumerate(words):
            t = peek(i)
            if t is None or t[0] != "word" or t[1].upper() != w:
                return False
        pos += len(words)
        return True

    def field_name(clause: str) -> str:
        nonlocal pos
        t = peek()
        if t is None:
            raise QueryError("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
        if t[0] != "word" or "." not in t[1]:
            raise QueryError("BAD_FIELD_NAME", f"Error in {clause}: invalid field name '{t[1]}'.", t[1])
        pos += 1
        if t[1] not in FIELDS:
            raise QueryError("UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{t[1]}'.", t[1])
        return t[1]

    def value() -> Any:
        nonlocal pos
        t = peek()
        if t is None:
            raise QueryError("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
        pos += 1
        if t[0] == "num":
            return Decimal(t[1])
        if t[0] in ("str", "word"):
            return t[1]
        raise QueryError("BAD_VALUE", f"Error in WHERE clause: invalid value {t[1]}.", t[1])

    if not keyword("SELECT"):
        raise QueryError("EXPECTED_SELECT", "Error in query: expected SELECT.")
    fields = [field_name("SELECT clause")]
    while peek() == ("op", ","):
        pos += 1
        fields.append(field_name("SELECT clause"))
    if not keyword("FROM"):
        raise QueryError("EXPECTED_FROM", "Error in query: expected FROM.")
    t = peek()
    if t is None:
        raise QueryError("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
    pos += 1
    resource = t[1]
    if resource not in ATTRIBUTED:
        if resource in KNOWN_RESOURCES:
            raise QueryError(
                "PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE",
                f"The following resource is not supported in the FROM clause here: '{resource}'.",
                resource,
            )
        raise QueryError(
            "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", f"Error in FROM clause: invalid resource type '{resource}'.", resource
        )
    conditions: list[Condition] = []
    if keyword("WHERE"):
        while True:
            f = field_name("WHERE clause")
            t = peek()
            if t is None:
                raise QueryError("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
            if t[0] == "op" and t[1] in ("=", "!=", ">", ">=", "<", "<="):
                pos += 1
                conditions.append(Condition(f, t[1], (value(),)))
            elif keyword("NOT", "IN") or keyword("IN"):
                negated = toks[pos - 2][1].upper() == "NOT"
                if peek() != ("op", "("):
                    raise QueryError("EXPECTED_LIST", "Error in WHERE clause: expected a list.")
                pos += 1
                items = [value()]
                while peek() == ("op", ","):
                    pos += 1
                    items.append(value())
                if peek() != ("op", ")"):
                    raise QueryError("EXPECTED_LIST", "Error in WHERE clause: expected a list.")
                pos += 1
                conditions.append(Condition(f, "NOT_IN" if negated else "IN", tuple(items)))
            elif keyword("BETWEEN"):
                low = value()
                if not keyword("AND"):
                    raise QueryError("EXPECTED_AND", "Error in WHERE clause: expected AND.")
                conditions.append(Condition(f, "BETWEEN", (low, value())))
            elif keyword("DURING"):
                t = peek()
                pos += 1
                if t is None or t[1].upper() not in DURING:
                    raise QueryError(
                        "INVALID_VALUE_WITH_DURING_OPERATOR",
                        "Error in WHERE clause: invalid value with DURING operator.",
                        t[1] if t else None,
                    )
                conditions.append(Condition(f, "DURING", (t[1].upper(),)))
            else:
                raise QueryError("BAD_OPERATOR", f"Error in WHERE clause: invalid operator {t[1]}.", t[1])
            if not keyword("AND"):
                break
    order: list[tuple[str, bool]] = []
    if keyword("ORDER", "BY"):
        while True:
            f = field_name("ORDER BY clause")
            desc = keyword("DESC")
            if not desc:
                keyword("ASC")
            order.append((f, desc))
            if peek() != ("op", ","):
                break
            pos += 1
    limit = None
    if keyword("LIMIT"):
        t = peek()
        pos += 1
        if t is None or t[0] != "num" or not t[1].isdigit():
            raise QueryError("BAD_LIMIT_VALUE", "Error in LIMIT clause: invalid limit value.", t[1] if t else None)
        limit = int(t[1])
        if limit < 1:
            raise QueryError("LIMIT_VALUE_TOO_LOW", "Error in LIMIT clause: the limit must be positive.", t[1])
    if pos < len(toks):
        raise QueryError("UNEXPECTED_INPUT", f"Error in query: unexpected input {toks[pos][1]}.", toks[pos][1])
    return Query(tuple(fields), resource, tuple(conditions), tuple(order), limit)


def _parse_date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise QueryError(
            "INVALID_DATE_FORMAT",
            f"Error in WHERE clause: invalid date '{value}': dates must be in the format YYYY-MM-DD.",
            str(value),
        ) from None


def _during(name: str, today: date) -> tuple[date, date]:
    if name == "TODAY":
        return today, today
    if name == "YESTERDAY":
        return today - timedelta(days=1), today - timedelta(days=1)
    if name.startswith("LAST_") and name.endswith("_DAYS"):
        n = int(name[5:-5])
        return today - timedelta(days=n), today - timedelta(days=1)
    first = today.replace(day=1)
    if name == "THIS_MONTH":
        return first, today
    last = first - timedelta(days=1)
    return last.replace(day=1), last


def validate(q: Query, today: date, customer_id: str) -> tuple[date | None, date | None]:
    """Checks the query against the resource's fields; returns the date range of ``segments.date`` (None: open)."""
    allowed = ATTRIBUTED[q.resource]
    for f in (*q.fields, *(c.field for c in q.conditions), *(f for f, _ in q.order)):
        resource = f.split(".")[0]
        if resource not in ("metrics", "segments") and resource not in allowed:
            raise QueryError(
                "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE",
                f"The following field cannot be selected given the resource in the FROM clause: '{f}'.",
                f,
            )
    if customer_id == GOOGLE_MANAGER_ID and any(f.startswith(("metrics.", "segments.")) for f in q.fields):
        raise QueryError(
            "REQUESTED_METRICS_FOR_MANAGER",
            "Metrics cannot be requested for a manager account. To retrieve metrics, issue separate requests against "
            "each client account under the manager account.",
        )
    low: date | None = None
    high: date | None = None
    for c in q.conditions:
        if c.field in ENUMS:
            for v in c.values:
                if str(v) not in ENUMS[c.field]:
                    raise QueryError(
                        "BAD_ENUM_CONSTANT",
                        f"Error in WHERE clause: invalid enum constant '{v}' for {c.field}.",
                        str(v),
                    )
        if c.field != "segments.date":
            continue
        if c.op == "DURING":
            a, b = _during(c.values[0], today)
        elif c.op == "BETWEEN":
            a, b = _parse_date(c.values[0]), _parse_date(c.values[1])
        elif c.op in ("=",):
            a = b = _parse_date(c.values[0])
        elif c.op in (">", ">="):
            a, b = _parse_date(c.values[0]) + timedelta(days=c.op == ">"), None
        elif c.op in ("<", "<="):
            a, b = None, _parse_date(c.values[0]) - timedelta(days=c.op == "<")
        else:
            for v in c.values:
                _parse_date(v)
            continue
        low = a if low is None or (a is not None and a > low) else low
        high = b if high is None or (b is not None and b < high) else high
    if "segments.date" in q.fields and (low is None or high is None):
        raise QueryError(
            "EXPECTED_FILTERS_ON_DATE_RANGE",
            "Error in WHERE clause: filtering on a finite date range is required when segments.date is selected.",
        )
    return low, high


# --------------------------------------------------------------------------- rows


def _share(total: int, share: Decimal) -> int:
    return int((Decimal(total) * share).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def split(ad: AdDay, as_of: date) -> list[dict[str, Any]]:
    """The campaign-day's reported figures per ad group, summing exactly to the campaign's (the last takes the rest).

    Units: cost in cents, impressions, clicks, conversions in hundredths, value in cents (all ints)."""
    spend, conversions, value = ad.reported(as_of)
    totals = {
        "cost": int(spend * 100),
        "impressions": ad.impressions,
        "clicks": ad.clicks,
        "conversions": int(conversions * 100),
        "value": int(value * 100),
    }
    out: list[dict[str, Any]] = []
    left = dict(totals)
    groups = ad.campaign.ad_group_ids
    for i in range(len(groups)):
        if i < len(groups) - 1:
            share = Decimal(str(ad.ad_group_shares[i]))
            part = {k: min(left[k], _share(v, share)) for k, v in totals.items()}
        else:
            part = dict(left)
        for k in left:
            left[k] -= part[k]
        out.append(part)
    return out


def _google_campaigns(world: World) -> list[Campaign]:
    as_of = world.config.as_of
    return [c for c in world.marketing.campaigns if c.platform == "google_ads" and c.start_date <= as_of]


def _budget_id(c: Campaign) -> str:
    return "9" + c.campaign_id[1:]


def _attributes(c: Campaign | None, group: int | None, customer_id: str) -> dict[str, Any]:
    account = GOOGLE_ACCOUNT
    manager = customer_id == GOOGLE_MANAGER_ID
    row: dict[str, Any] = {
        "customer.resource_name": f"customers/{customer_id}",
        "customer.id": customer_id,
        "customer.currency_code": account.currency,
        "customer.time_zone": account.time_zone,
        "customer.descriptive_name": MANAGER_NAME if manager else account.name,
        "customer.manager": manager,
    }
    if c is not None:
        row.update(
            {
                "campaign.resource_name": f"customers/{customer_id}/campaigns/{c.campaign_id}",
                "campaign.id": c.campaign_id,
                "campaign.name": c.name,
                "campaign.status": "ENABLED",
                "campaign.advertising_channel_type": c.kind.upper(),
                "campaign.start_date": c.start_date.isoformat(),
                "campaign.end_date": c.end_date.isoformat() if c.end_date else NO_END_DATE,
                "campaign_budget.resource_name": f"customers/{customer_id}/campaignBudgets/{_budget_id(c)}",
            }
        )
    if c is not None and group is not None:
        row.update(
            {
                "ad_group.resource_name": f"customers/{customer_id}/adGroups/{c.ad_group_ids[group]}",
                "ad_group.id": c.ad_group_ids[group],
                "ad_group.name": c.ad_group_names[group],
                "ad_group.status": "ENABLED",
                "ad_group.campaign": f"customers/{customer_id}/campaigns/{c.campaign_id}",
            }
        )
    return row


def _metrics(parts: list[dict[str, int]]) -> dict[str, Any]:
    total = {k: sum(p[k] for p in parts) for k in ("cost", "impressions", "clicks", "conversions", "value")}
    return {
        "metrics.cost_micros": total["cost"] * 10_000,
        "metrics.impressions": total["impressions"],
        "metrics.clicks": total["clicks"],
        "metrics.conversions": Decimal(total["conversions"]) / 100,
        "metrics.conversions_value": Decimal(total["value"]) / 100,
    }


def build_rows(world: World, q: Query, customer_id: str, low: date | None, high: date | None) -> list[dict[str, Any]]:
    """Flat rows (field -> value) of the FROM resource before WHERE on non-date fields."""
    as_of = world.config.as_of
    campaigns = _google_campaigns(world) if customer_id == GOOGLE_ACCOUNT.account_id else []
    by_date = "segments.date" in q.fields
    with_metrics = any(f.startswith("metrics.") for f in (*q.fields, *(c.field for c in q.conditions)))
    # (campaign id, group index or None, day or None) -> parts
    cells: dict[tuple[str, int | None, date | None], list[dict[str, int]]] = {}
    if with_metrics or by_date:
        for ad in world.marketing.ad_days:
            c = ad.campaign
            if c.platform != "google_ads" or (low and ad.day < low) or (high and ad.day > high) or not campaigns:
                continue
            parts = split(ad, as_of)
            day = ad.day if by_date else None
            if q.resource == "ad_group":
                for g, part in enumerate(parts):
                    cells.setdefault((c.campaign_id, g, day), []).append(part)
            else:
                key = (c.campaign_id if q.resource == "campaign" else "", None, day)
                cells.setdefault(key, []).extend(parts)
    rows: list[dict[str, Any]] = []
    by_id = {c.campaign_id: c for c in campaigns}
    if with_metrics or by_date:
        for (cid, g, day), parts in cells.items():
            row = _attributes(by_id.get(cid), g, customer_id)
            row.update(_metrics(parts))
            if day is not None:
                row["segments.date"] = day.isoformat()
            rows.append(row)
    elif q.resource == "customer":
        rows.append(_attributes(None, None, customer_id))
    else:
        for c in campaigns:
            groups = range(len(c.ad_group_ids)) if q.resource == "ad_group" else [None]
            rows.extend(_attributes(c, g, customer_id) for g in groups)
    for row in rows:
        c = by_id.get(row.get("campaign.id", ""))
        if c is not None:
            row["campaign_budget.amount_micros"] = int(
                (c.daily_budget * Decimal(str(world.config.scale))).quantize(UNIT, rounding=ROUND_HALF_UP) * 1_000_000
            )
    return rows


def _compare(kind: str, value: Any, literal: Any) -> tuple[Any, Any]:
    if kind in ("int", "double", "id"):
        return Decimal(value), Decimal(str(literal))
    return str(value).lower() if kind == "bool" else value, str(literal)


def matches(row: dict[str, Any], c: Condition) -> bool:
    if c.field not in row:
        return False
    kind = FIELDS[c.field]
    value = row[c.field]
    if c.op == "DURING":
        return True  # the date range was applied when the rows were built
    if c.op == "BETWEEN":
        a, low = _compare(kind, value, c.values[0])
        _, high = _compare(kind, value, c.values[1])
        return low <= a <= high
    if c.op in ("IN", "NOT_IN"):
        found = any(_compare(kind, value, v)[0] == _compare(kind, value, v)[1] for v in c.values)
        return found if c.op == "IN" else not found
    a, b = _compare(kind, value, c.values[0])
    return {
        "=": a == b,
        "!=": a != b,
        ">": a > b,
        ">=": a >= b,
        "<": a < b,
        "<=": a <= b,
    }[c.op]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def render(row: dict[str, Any], q: Query) -> dict[str, Any]:
    """One GoogleAdsRow as JSON: the selected fields (and each selected resource's resourceName), camelCase."""
    out: dict[str, Any] = {}
    resources = {q.resource, *(f.split(".")[0] for f in q.fields)} - {"metrics", "segments"}
    for resource in sorted(resources):
        out.setdefault(_camel(resource), {})["resourceName"] = row[f"{resource}.resource_name"]
    for f in q.fields:
        resource, name = f.split(".")
        value = row[f]
        kind = FIELDS[f]
        if kind in ("int", "id"):
            value = str(value)
        elif kind == "double":
            value = float(value) + 0.0
        out.setdefault(_camel(resource), {})[_camel(name)] = value
    return out


def field_mask(q: Query) -> str:
    return ",".join(".".join(_camel(p) for p in f.split(".")) for f in q.fields)


def _sort_key(kind: str, value: Any) -> Any:
    return Decimal(value) if kind in ("int", "id", "double") else str(value)


def run_query(req: Request, world: World, customer_id: str, query_text: str) -> list[dict[str, Any]] | Response:
    rid = request_id(req)
    version = req.path.split("/")[1]
    try:
        q = parse_query(query_text)
        low, high = validate(q, world.config.as_of, customer_id)
    except QueryError as exc:
        return failure(
            400, "INVALID_ARGUMENT", "queryError", exc.reason, exc.message, rid, version=version, trigger=exc.trigger
        )
    rows = [r for r in build_rows(world, q, customer_id, low, high) if all(matches(r, c) for c in q.conditions)]
    if q.order:
        for f, desc in reversed(q.order):
            rows.sort(key=lambda r, f=f: _sort_key(FIELDS[f], r.get(f, "")), reverse=desc)
    else:  # Google's order is unspecified; the sandbox's is stable (resource, then date)
        rows.sort(key=lambda r: (r.get("campaign.id", ""), r.get("ad_group.id", ""), r.get("segments.date", "")))
    if q.limit is not None:
        rows = rows[: q.limit]
    return [render(r, q) for r in rows]


# --------------------------------------------------------------------------- endpoints


def _body(req: Request, allowed: tuple[str, ...], rid: str) -> dict[str, Any] | Response:
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError):
        return _status_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token.")
    if not isinstance(body, dict):
        return _status_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object.")
    for name in body:
        if name not in allowed:
            return _status_error(
                400,
                "INVALID_ARGUMENT",
                f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.',
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"description": f'Invalid JSON payload received. Unknown name "{name}"'}],
                    }
                ],
            )
    if not isinstance(body.get("query"), str) or not body["query"].strip():
        return failure(
            400,
            "INVALID_ARGUMENT",
            "queryError",
            "UNEXPECTED_END_OF_QUERY",
            "Error in query: unexpected end of query.",
            rid,
            version=req.path.split("/")[1],
        )
    return body


def search_stream(req: Request, world: World, version: str, customer_id: str) -> Response:
    rid = request_id(req)
    body = _body(req, ("query", "summaryRowSetting"), rid)
    if isinstance(body, Response):
        return body
    rows = run_query(req, world, customer_id, body["query"])
    if isinstance(rows, Response):
        return rows
    q = parse_query(body["query"])
    mask = field_mask(q)
    batches: list[dict[str, Any]] = []
    for start in range(0, max(len(rows), 1), BATCH_ROWS):
        batch: dict[str, Any] = {}
        if rows:
            batch["results"] = rows[start : start + BATCH_ROWS]
        batch.update(fieldMask=mask, requestId=rid)
        batches.append(batch)
    batches[-1]["queryResourceConsumption"] = str(max(1, len(rows) // 100))
    return Response(200, batches)


def search(req: Request, world: World, version: str, customer_id: str) -> Response:
    rid = request_id(req)
    body = _body(req, ("query", "pageToken", "validateOnly", "returnTotalResultsCount", "summaryRowSetting"), rid)
    if isinstance(body, Response):
        return body
    start = 0
    if body.get("pageToken"):
        try:
            state = decode_cursor(str(body["pageToken"]))
            start = int(state["o"])
            if state["q"] != hashlib.sha256(body["query"].encode()).hexdigest()[:16]:
                raise ValueError("another query")
        except (ValueError, KeyError, TypeError):
            return failure(
                400,
                "INVALID_ARGUMENT",
                "requestError",
                "INVALID_PAGE_TOKEN",
                "Page token is invalid.",
                rid,
                version=version,
            )
    rows = run_query(req, world, customer_id, body["query"])
    if isinstance(rows, Response):
        return rows
    page: dict[str, Any] = {}
    if rows[start : start + BATCH_ROWS]:
        page["results"] = rows[start : start + BATCH_ROWS]
    page["fieldMask"] = field_mask(parse_query(body["query"]))
    if start + BATCH_ROWS < len(rows):
        page["nextPageToken"] = encode_cursor(
            {"o": start + BATCH_ROWS, "q": hashlib.sha256(body["query"].encode()).hexdigest()[:16]}
        )
    if body.get("returnTotalResultsCount"):
        page["totalResultsCount"] = str(len(rows))
    page["requestId"] = rid
    return Response(200, page)


# --- vendor wiring: routes, auth, rate limits (the server is generic) ---
NAME = "google_ads"
LIST_PARAMS: dict[str, tuple[str, ...]] = {}
PATH_PREFIXES = tuple(f"/{v}/customers/" for v in SUPPORTED_VERSIONS)
RATE_BUCKET = "google_ads.rate"
LIMITS = {
    # Basic access: 15,000 operations a day per developer token (a search request is one operation)
    # (a rolling window of a day: at most 15,000 in any 24 h; demo: the same over a "day" of 86.4 s)
    "google_ads": {
        "real": (DAILY_OPERATIONS, DAILY_OPERATIONS / 86_400),
        "demo": (DAILY_OPERATIONS, DAILY_OPERATIONS / 86.4),
        "policy": "rolling",
    },
    # the per-second request rate (not published by Google; the sandbox's own)
    RATE_BUCKET: {"real": (10, 2.0), "demo": (200, 100.0)},
}


def _version_of(req: Request) -> str:
    return req.path.split("/")[1] if req.path.count("/") >= 1 else ""


def authorize(app: Any, req: Request) -> Response | None:
    version = _version_of(req)
    if version not in SUPPORTED_VERSIONS:
        return not_found(req)
    rid = request_id(req)
    token = google_oauth.bearer(req)
    if token is None:
        return failure(
            401,
            "UNAUTHENTICATED",
            "authenticationError",
            "OAUTH_TOKEN_HEADER_INVALID",
            "Oauth token HTTP header is malformed.",
            rid,
            version=version,
        )
    check = google_oauth.verify(token)
    if check.status == "expired":
        return failure(
            401,
            "UNAUTHENTICATED",
            "authenticationError",
            "OAUTH_TOKEN_EXPIRED",
            "Oauth token is expired.",
            rid,
            version=version,
        )
    if check.status != "valid":
        return failure(
            401,
            "UNAUTHENTICATED",
            "authenticationError",
            "OAUTH_TOKEN_INVALID",
            "Oauth token is invalid.",
            rid,
            version=version,
        )
    if check.scope != google_oauth.ADS_SCOPE:
        return _status_error(
            403,
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes.",
            [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                    "domain": "googleapis.com",
                    "metadata": {"service": SERVICE, "method": "google.ads.googleads.v.services.GoogleAdsService"},
                }
            ],
        )
    developer_token = req.headers.get("developer-token", "")
    if developer_token == DEMO_TEST_ONLY_DEVELOPER_TOKEN:
        return failure(
            403,
            "PERMISSION_DENIED",
            "authorizationError",
            "DEVELOPER_TOKEN_NOT_APPROVED",
            "The developer token is only approved for use with test accounts. To access non-test accounts, apply for "
            "Basic or Standard access.",
            rid,
            version=version,
        )
    if developer_token != DEMO_DEVELOPER_TOKEN:
        return failure(
            401,
            "UNAUTHENTICATED",
            "authenticationError",
            "DEVELOPER_TOKEN_INVALID",
            "The developer token is not valid.",
            rid,
            version=version,
        )
    customer_id = req.path.split("/")[3] if req.path.count("/") >= 3 else ""
    if not customer_id.isdigit():
        return failure(
            400,
            "INVALID_ARGUMENT",
            "authenticationError",
            "CLIENT_CUSTOMER_ID_INVALID",
            "Client customer ID is not a number.",
            rid,
            version=version,
        )
    login = req.headers.get("login-customer-id")
    reachable = {GOOGLE_ACCOUNT.account_id, GOOGLE_MANAGER_ID}
    if customer_id not in reachable or (login is not None and login not in (customer_id, GOOGLE_MANAGER_ID)):
        return failure(
            403,
            "PERMISSION_DENIED",
            "authorizationError",
            "USER_PERMISSION_DENIED",
            "User doesn't have permission to access customer. Note: If you're accessing a client customer, the "
            "manager's customer id must be set in the 'login-customer-id' header. See "
            "https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid",
            rid,
            version=version,
        )
    allowed, wait_s = app.limiter.take(RATE_BUCKET)
    if not allowed:
        return _quota(False, wait_s, version, rid)
    return None


def _quota(daily: bool, wait_s: float, version: str, rid: str) -> Response:
    seconds = max(1, round(wait_s))
    details = {
        "rateScope": "DEVELOPER" if daily else "ACCOUNT",
        "rateName": "Number of operations for basic access" if daily else "Requests per account",
        "retryDelay": f"{seconds}s",
    }
    return failure(
        429,
        "RESOURCE_EXHAUSTED",
        "quotaError",
        "RESOURCE_EXHAUSTED" if daily else "RESOURCE_TEMPORARILY_EXHAUSTED",
        f"Too many requests. Retry in {seconds} seconds." if daily else "Too many requests in a short amount of time.",
        rid,
        version=version,
        extra={"details": {"quotaErrorDetails": details}},
    )


def throttled(bucket: str, wait_s: float) -> Response:
    # the daily operations (the server's bucket; its wait is the time until the window frees a slot), or an
    # injected 429 (wait 1 s): the short-term rate
    daily = bucket == "google_ads" and wait_s > 1.0
    rid = base64.urlsafe_b64encode(hashlib.blake2b(f"throttled:{next(_THROTTLED)}".encode(), digest_size=16).digest())
    return _quota(daily, wait_s, LATEST_VERSION, rid.decode()[:22])  # no request here: the latest version's failure


def limit_headers(bucket: str, state: TokenBucket) -> dict[str, str]:
    return {}  # Google sends no quota headers; the GoogleAdsFailure says which quota and when to retry


def server_error(status: int) -> Response:
    if status == 503:
        return _status_error(503, "UNAVAILABLE", "The service is currently unavailable.")
    return _status_error(status, "INTERNAL", "Internal error encountered.")


def not_found(req: Request) -> Response:
    return _status_error(404, "NOT_FOUND", f"The requested URL {req.path} was not found on this server.")


_CUSTOMER = r"/(?P<version>v\d+)/customers/(?P<customer_id>[^/]+)/googleAds"
ROUTES = [
    route("POST", _CUSTOMER + r":searchStream", "google_ads", search_stream),
    route("POST", _CUSTOMER + r":search", "google_ads", search),
]


def decode_json(data: bytes) -> Any:
    """A response body with doubles as Decimal (what a client should do with conversions and values)."""
    return json.loads(data, parse_float=Decimal)
