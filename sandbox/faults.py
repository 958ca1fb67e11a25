"""Seeded, replayable faults for the sandbox (docs/architecture.md: The simulated company, API contracts "faults are seeded").

Two families:

**Transient faults** (``light`` ≈ 2.5 % of vendor requests, ``heavy`` ≈ 10 %), decided per request by
:class:`FaultInjector`. The decision for the k-th request (k = 0, 1, ...) of a given
``(method, path, query, body)`` is a pure function of ``(fault seed, mode, that request key, k)``, so
the same sequence of requests gets the same faults, whatever other clients do meanwhile, and a retry
of a faulted request (same key, k + 1) draws again. Kinds (:data:`KINDS`):

- ``rate_limited``   429 with the vendor's own throttled() body and headers (Shopify ``Retry-After: 2.0``)
- ``http_500`` / ``http_502`` / ``http_503``   vendor-shaped JSON error bodies (:func:`server_error`)
- ``slow``           the right response, but only after ``slow_s`` seconds (past the client's timeout)
- ``dropped``        the connection is closed without any response (``requests.ConnectionError``)
- ``truncated_json`` 200 with a prefix of the body and a *matching* ``Content-Length``: a complete
                     HTTP message whose JSON is invalid (``response.json()`` raises)
- ``short_body``     200 announcing the full ``Content-Length`` but sending a prefix, then closing: the
                     client sees a short read (``requests.exceptions.ChunkedEncodingError``)
- ``page_shift``     on a continuation page of a list endpoint (a request carrying the listing's
                     cursor), the last record of the previous page of the same cursor chain is served
                     again at the start of this page, as if it had been updated while the client paged
                     (the record is byte-identical, so an incremental cursor never moves past "now").
                     Clients must dedupe by primary key. No-op where not applicable.

Token endpoints (Amazon LWA, OAuth) are faulted at the ``light`` rate even under ``heavy``, and only
with 5xx / dropped / truncated kinds; ``/_sandbox/*`` is never faulted. Injected faults are logged at
DEBUG on ``salesdw.sandbox.faults`` (kind, method, path, request index, seed) so a run can be replayed.

**Data faults** (``heavy`` only), deterministic per record (not per request), so every page, every
run and every paging order shows the same ones; the world objects stay untouched and
:func:`bad_records` lists exactly the records that are served bad:

- bad records, ~0.3 % of Shopify orders, Amazon orders and HubSpot deals chosen by a hash of
  ``(world seed, resource, record id)``, reasons ``unknown_currency`` (code ``XXX``),
  ``negative_quantity`` (first line), ``null_amount`` (see :data:`BAD_FIELDS`);
- schema drift (:data:`SCHEMA_DRIFT`): every Shopify order gains ``sales_channel_v2``, and on ~5 % of
  Shopify orders (a hash of seed and id) the line items' ``quantity`` is sent as a string (``"2"``).

They are applied by :func:`transform_body` on the JSON body a vendor handler rendered.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.protocol import Request, Response

if TYPE_CHECKING:
    from sandbox.world import World

log = logging.getLogger("salesdw.sandbox.faults")

FAULT_MODES = ("none", "light", "heavy")
RATES = {"none": 0.0, "light": 0.025, "heavy": 0.10}  # share of vendor requests that get a transient fault
KIND_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("rate_limited", 3.0),
    ("http_500", 1.0),
    ("http_502", 1.0),
    ("http_503", 1.0),
    ("slow", 0.25),  # each one costs the client a full timeout: keep them rare
    ("dropped", 1.0),
    ("truncated_json", 1.0),
    ("short_body", 1.0),
    ("page_shift", 1.5),
)
KINDS = tuple(k for k, _ in KIND_WEIGHTS)
TOKEN_KINDS = frozenset({"http_500", "http_502", "http_503", "dropped", "truncated_json", "short_body"})
TRANSPORT_KINDS = frozenset({"slow", "dropped", "truncated_json", "short_body"})
TOKEN_PATHS = re.compile(r"/auth/o2/token|/identity/v1/oauth2/token|/oauth/v\d+/token|/oauth2?/token|/token")

BAD_RECORD_RATE = 0.003
QUANTITY_AS_STRING_RATE = 0.05
UNKNOWN_CURRENCY = "XXX"
SALES_CHANNEL_V2 = "online_store"

# resource -> (reason, field) pairs a bad record of that resource can have; field is the JSON location
# (dotted, ``[0]`` = first element, ``[*]`` = every element) of the record as its API serves it.
BAD_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "shopify.orders": (
        ("unknown_currency", "currency"),
        ("negative_quantity", "line_items[0].quantity"),
        ("null_amount", "line_items[0].price"),
    ),
    # Amazon: the currency is replaced in OrderTotal (getOrders) and in every money field of the
    # order's items (getOrderItems); quantity and amount live on the items.
    "amazon.orders": (
        ("unknown_currency", "OrderItems[*].ItemPrice.CurrencyCode"),
        ("negative_quantity", "OrderItems[0].QuantityOrdered"),
        ("null_amount", "OrderItems[0].ItemPrice.Amount"),
    ),
    # HubSpot deals have no lines: currency and amount only (visible when those properties are requested).
    "crm.deals": (("unknown_currency", "properties.deal_currency_code"), ("null_amount", "properties.amount")),
}
SCHEMA_DRIFT: tuple[dict[str, str], ...] = (
    {
        "resource": "shopify.orders",
        "field": "sales_channel_v2",
        "change": f"new string field on every order ({SALES_CHANNEL_V2!r}); absent when `fields` is requested",
    },
    {
        "resource": "shopify.orders",
        "field": "line_items[*].quantity",
        "change": f"integer sent as a decimal string on ~{QUANTITY_AS_STRING_RATE:.0%} of orders (same value)",
    },
)


def _unit(*parts: object) -> float:
    """A uniform number in [0, 1) from a stable hash of ``parts`` (not Python's salted ``hash``)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


# --------------------------------------------------------------------------- bad records and drift


@dataclass(frozen=True)
class BadRecord:
    """A record the sandbox serves bad under ``--faults heavy``.

    ``resource`` uses the truth module's names (``shopify.orders``, ``amazon.orders``, ``crm.deals``);
    ``record_id`` is the world object's id, with its type (``ShopifyOrder.order_id`` int,
    ``AmazonOrder.order_id`` str, ``Deal.deal_id`` str), which is also the id the API serves.
    """

    resource: str
    record_id: int | str
    reason: str  # unknown_currency | negative_quantity | null_amount
    field: str  # where in the served JSON record (see BAD_FIELDS)


def classify(seed: int, resource: str, record_id: int | str) -> BadRecord | None:
    """Whether (and how) the record is served bad under ``heavy``: a pure function of seed, resource, id."""
    choices = BAD_FIELDS.get(resource)
    if not choices or _unit(seed, "bad", resource, record_id) >= BAD_RECORD_RATE:
        return None
    reason, field = choices[int(_unit(seed, "bad-reason", resource, record_id) * len(choices))]
    return BadRecord(resource, record_id, reason, field)


def quantity_as_string(seed: int, order_id: int | str) -> bool:
    """Schema drift: whether this Shopify order's line-item quantities are sent as strings (heavy only)."""
    return _unit(seed, "drift-quantity", "shopify.orders", order_id) < QUANTITY_AS_STRING_RATE


def bad_records(world: World, mode: str) -> list[BadRecord]:
    """Every record of ``world`` that the sandbox serves bad in fault ``mode`` (none unless ``heavy``).

    Sorted by resource, then in the world's order. Uses the world seed only (not a separate fault
    seed), so it is a function of (seed, scale, as_of, mode) like the rest of the truth.
    """
    if mode != "heavy":
        return []
    seed = world.config.seed
    out: list[BadRecord] = []
    for resource, ids in (
        ("amazon.orders", (a.order_id for a in world.amazon_orders)),
        ("crm.deals", (d.deal_id for d in world.deals)),
        ("shopify.orders", (o.order_id for o in world.shopify_orders)),
    ):
        out += [b for b in (classify(seed, resource, i) for i in ids) if b is not None]
    return out


def _shopify_order(rec: dict[str, Any], seed: int, query: dict[str, str]) -> dict[str, Any]:
    oid = rec.get("id")
    bad = classify(seed, "shopify.orders", oid) if oid is not None else None
    as_string = oid is not None and quantity_as_string(seed, oid)
    out = dict(rec)
    if "fields" not in query:
        out["sales_channel_v2"] = SALES_CHANNEL_V2
    if bad and bad.reason == "unknown_currency" and "currency" in out:
        out["currency"] = UNKNOWN_CURRENCY
    lines = out.get("line_items")
    if isinstance(lines, list) and lines and (as_string or (bad and bad.reason != "unknown_currency")):
        lines = [dict(li) for li in lines]
        first = lines[0]
        if bad and bad.reason == "negative_quantity" and isinstance(first.get("quantity"), int):
            first["quantity"] = -abs(first["quantity"])
        if bad and bad.reason == "null_amount" and "price" in first:
            first["price"] = None
            if isinstance(first.get("price_set"), dict):
                first["price_set"] = {
                    k: ({**v, "amount": None} if isinstance(v, dict) else v) for k, v in first["price_set"].items()
                }
        if as_string:
            for li in lines:
                if isinstance(li.get("quantity"), int):
                    li["quantity"] = str(li["quantity"])
        out["line_items"] = lines
    return out


def _hubspot_deal(rec: dict[str, Any], seed: int, query: dict[str, str]) -> dict[str, Any]:
    bad = classify(seed, "crm.deals", rec.get("id"))
    props = rec.get("properties")
    if bad is None or not isinstance(props, dict):
        return rec
    props = dict(props)
    if bad.reason == "unknown_currency" and "deal_currency_code" in props:
        props["deal_currency_code"] = UNKNOWN_CURRENCY
    if bad.reason == "null_amount" and "amount" in props:
        props["amount"] = None
    return {**rec, "properties": props}


def _amazon_order(rec: dict[str, Any], seed: int, query: dict[str, str]) -> dict[str, Any]:
    bad = classify(seed, "amazon.orders", rec.get("AmazonOrderId"))
    if bad is None or bad.reason != "unknown_currency" or not isinstance(rec.get("OrderTotal"), dict):
        return rec
    return {**rec, "OrderTotal": {**rec["OrderTotal"], "CurrencyCode": UNKNOWN_CURRENCY}}


def _amazon_items(payload: dict[str, Any], seed: int, query: dict[str, str]) -> dict[str, Any]:
    bad = classify(seed, "amazon.orders", payload.get("AmazonOrderId"))
    items = payload.get("OrderItems")
    if bad is None or not isinstance(items, list) or not items:
        return payload
    items = [dict(i) for i in items]
    if bad.reason == "unknown_currency":
        for item in items:
            for k, v in item.items():
                if isinstance(v, dict) and "CurrencyCode" in v:
                    item[k] = {**v, "CurrencyCode": UNKNOWN_CURRENCY}
    elif bad.reason == "negative_quantity" and isinstance(items[0].get("QuantityOrdered"), int):
        items[0]["QuantityOrdered"] = -abs(items[0]["QuantityOrdered"])
    elif bad.reason == "null_amount" and isinstance(items[0].get("ItemPrice"), dict):
        items[0]["ItemPrice"] = {**items[0]["ItemPrice"], "Amount": None}
    return {**payload, "OrderItems": items}


RecordFn = Callable[[dict[str, Any], int, dict[str, str]], dict[str, Any]]
# (method, path pattern, path to the record list -- or to one record -- in the body, transform)
_TRANSFORMS: tuple[tuple[str, re.Pattern[str], tuple[str, ...], RecordFn], ...] = (
    ("GET", re.compile(r"/admin/api/[^/]+/orders\.json"), ("orders",), _shopify_order),
    ("GET", re.compile(r"/admin/api/[^/]+/orders/\d+\.json"), ("order",), _shopify_order),
    ("GET", re.compile(r"/crm/v3/objects/deals/?"), ("results",), _hubspot_deal),
    ("POST", re.compile(r"/crm/v3/objects/deals/search/?"), ("results",), _hubspot_deal),
    ("POST", re.compile(r"/crm/v3/objects/deals/batch/read/?"), ("results",), _hubspot_deal),
    ("GET", re.compile(r"/crm/v3/objects/deals/(?!search/?$)[^/]+/?"), (), _hubspot_deal),
    ("GET", re.compile(r"/orders/v0/orders"), ("payload", "Orders"), _amazon_order),
    ("GET", re.compile(r"/orders/v0/orders/[^/]+/orderItems"), ("payload",), _amazon_items),
    ("GET", re.compile(r"/orders/v0/orders/[^/]+"), ("payload",), _amazon_order),
)


def _map_at(node: Any, path: tuple[str, ...], fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """``node`` with ``fn`` applied to the record(s) at ``path``, copying only what changes."""
    if not path:
        if isinstance(node, list):
            return [fn(r) if isinstance(r, dict) else r for r in node]
        return fn(node) if isinstance(node, dict) else node
    if not isinstance(node, dict) or path[0] not in node:
        return node
    return {**node, path[0]: _map_at(node[path[0]], path[1:], fn)}


def transform_body(method: str, path: str, query: dict[str, str], body: Any, seed: int) -> Any:
    """The ``heavy`` data faults applied to a vendor's successful response body (a new object; the input,
    which a vendor module may share or cache, is never mutated)."""
    for m, pattern, where, fn in _TRANSFORMS:
        if m == method and pattern.fullmatch(path):
            return _map_at(body, where, lambda rec: fn(rec, seed, query))  # noqa: B023 - called before the loop moves on
    return body


# --------------------------------------------------------------------------- page shift


def _link_next(query: dict[str, str], response: Response) -> dict[str, str] | None:
    match = re.search(r'<([^>]+)>\s*;\s*rel="next"', response.headers.get("Link", ""))
    return dict(parse_qsl(urlsplit(match.group(1)).query)) if match else None


def _hubspot_next(query: dict[str, str], response: Response) -> dict[str, str] | None:
    after = ((response.body.get("paging") or {}).get("next") or {}).get("after")
    return {**query, "after": str(after)} if after is not None else None


def _amazon_next(query: dict[str, str], response: Response) -> dict[str, str] | None:
    token = (response.body.get("payload") or {}).get("NextToken")
    return {"NextToken": token} if token else None


def _url_next(query: dict[str, str], response: Response) -> dict[str, str] | None:
    url = response.body.get("next")
    return dict(parse_qsl(urlsplit(url).query)) if isinstance(url, str) and url else None


def _graph_next(query: dict[str, str], response: Response) -> dict[str, str] | None:
    url = (response.body.get("paging") or {}).get("next")  # Meta Graph: paging.next, a full URL
    return dict(parse_qsl(urlsplit(url).query)) if isinstance(url, str) and url else None


@dataclass(frozen=True)
class Listing:
    """A paginated list endpoint: where its records are, and how a request names its place in a chain."""

    method: str
    pattern: re.Pattern[str]
    records: tuple[str, ...]  # path to the record list in the body
    cursor: str  # query parameter of continuation requests
    chain: tuple[str, ...] | None  # query parameters identifying the place in a chain (None: all)
    next_query: Callable[[dict[str, str], Response], dict[str, str] | None]

    def chain_key(self, path: str, query: dict[str, str]) -> tuple[object, ...]:
        params = sorted(query.items()) if self.chain is None else [(k, query.get(k)) for k in self.chain]
        return (path, tuple(params))


LISTINGS: tuple[Listing, ...] = (
    # Shopify: page_info encodes the filters; continuation requests carry only page_info/limit/fields.
    Listing(
        "GET",
        re.compile(r"/admin/api/[^/]+/(orders|customers|products)\.json"),
        (),
        "page_info",
        ("page_info",),
        _link_next,
    ),
    Listing(
        "GET", re.compile(r"/admin/api/[^/]+/checkouts\.json"), ("checkouts",), "page_info", ("page_info",), _link_next
    ),
    # HubSpot: the next request repeats every parameter with a new ``after`` (or follows paging.next.link);
    # search (POST, cursor in the JSON body) is not shifted.
    Listing("GET", re.compile(r"/crm/v3/objects/[^/]+/?|/crm/v3/owners/?"), ("results",), "after", None, _hubspot_next),
    # Amazon: NextToken overrides every other parameter (clients may still resend them).
    Listing("GET", re.compile(r"/orders/v0/orders"), ("payload", "Orders"), "NextToken", ("NextToken",), _amazon_next),
    Listing("GET", re.compile(r"/sell/fulfillment/v1/order"), ("orders",), "offset", None, _url_next),
    Listing("GET", re.compile(r"/v\d+\.\d+/(?:act_)?\d+/insights"), ("data",), "after", None, _graph_next),
)
_SHOPIFY_LIST = re.compile(r"/admin/api/[^/]+/(orders|customers|products)\.json")


def listing_for(method: str, path: str) -> Listing | None:
    for listing in LISTINGS:
        if listing.method == method and listing.pattern.fullmatch(path):
            return listing
    return None


def _records_path(listing: Listing, path: str) -> tuple[str, ...]:
    if not listing.records:  # Shopify: the envelope key is the resource name
        match = _SHOPIFY_LIST.fullmatch(path)
        return (match.group(1),) if match else ()
    return listing.records


def _get_list(body: Any, where: tuple[str, ...]) -> list[Any] | None:
    node = body
    for key in where:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node if isinstance(node, list) else None


class PageShifter:
    """Remembers the last record of each served page under the key of the page that follows it."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self._last: OrderedDict[tuple[object, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def remember(self, listing: Listing, req: Request, response: Response) -> None:
        if response.status != 200 or not isinstance(response.body, dict):
            return
        records = _get_list(response.body, _records_path(listing, req.path))
        if not records:
            return
        try:
            nxt = listing.next_query(req.query, response)
        except (AttributeError, TypeError, ValueError):
            return
        if nxt is None:
            return
        with self._lock:
            key = listing.chain_key(req.path, nxt)
            self._last[key] = records[-1]
            self._last.move_to_end(key)
            while len(self._last) > self.max_entries:
                self._last.popitem(last=False)

    def shift(self, listing: Listing, req: Request, response: Response) -> Any | None:
        """``response``'s body with the previous page's last record prepended (a new object), or None when
        the request continues no chain this shifter knows."""
        if listing.cursor not in req.query or response.status != 200 or not isinstance(response.body, dict):
            return None
        with self._lock:
            record = self._last.get(listing.chain_key(req.path, req.query))
        where = _records_path(listing, req.path)
        if record is None or _get_list(response.body, where) is None:
            return None
        return _map_list(response.body, where, lambda rows: [record, *rows])

    def clear(self) -> None:
        with self._lock:
            self._last.clear()


def _map_list(node: Any, where: tuple[str, ...], fn: Callable[[list[Any]], list[Any]]) -> Any:
    if not where:
        return fn(node)
    return {**node, where[0]: _map_list(node[where[0]], where[1:], fn)}


# --------------------------------------------------------------------------- vendor-shaped 5xx bodies

_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def server_error(vendor: str, status: int, *, token: bool = False) -> Response:
    """A 5xx as ``vendor`` would send it (JSON; gateways' HTML pages are out of scope)."""
    reason = _REASONS.get(status, "Server Error")
    if token:
        code = "temporarily_unavailable" if status == 503 else "server_error"
        return Response(status, {"error": code, "error_description": f"{reason}. Please try again."})
    if vendor == "shopify":
        return Response(status, {"errors": reason})
    if vendor == "hubspot":
        return Response(
            status,
            {
                "status": "error",
                "message": "internal error" if status == 500 else reason,
                "correlationId": "00000000-sandbox",
                "category": "INTERNAL_ERROR" if status == 500 else "SERVICE_UNAVAILABLE",
            },
        )
    if vendor == "amazon":
        code = "ServiceUnavailable" if status == 503 else "InternalFailure"
        return Response(
            status,
            {
                "errors": [
                    {"code": code, "message": "We encountered an internal error. Please try again.", "details": ""}
                ]
            },
        )
    if vendor == "ebay":
        return Response(
            status,
            {
                "errors": [
                    {
                        "errorId": 2003,
                        "domain": "ACCESS",
                        "category": "APPLICATION",
                        "message": "Internal error",
                        "longMessage": "There was a problem with an eBay internal system "
                        "or process. Contact eBay developer support for assistance.",
                    }
                ]
            },
        )
    return Response(status, {"message": reason})


# --------------------------------------------------------------------------- the injector


@dataclass(frozen=True)
class Fault:
    kind: str
    key: str  # the request key (method, path, sorted query, body digest)
    index: int  # k: how many requests with this key came before
    cut: float  # in [0, 1): where a truncated body is cut

    @property
    def status(self) -> int | None:
        return 429 if self.kind == "rate_limited" else int(self.kind[5:]) if self.kind.startswith("http_") else None

    def truncate(self, data: bytes) -> bytes:
        """A strict, non-empty prefix (a JSON object/array text cut short is never valid JSON)."""
        if len(data) < 2:
            return data[:0]
        return data[: max(1, min(len(data) - 1, int(len(data) * (0.1 + 0.8 * self.cut))))]


def request_key(req: Request) -> str:
    query = "&".join(f"{k}={v}" for k, v in sorted(req.query.items()))
    body = hashlib.blake2b(req.body, digest_size=8).hexdigest() if req.body else ""
    return f"{req.method} {req.path}?{query}#{body}"


class FaultInjector:
    """Decides the transient fault of each vendor request; holds the page-shift memory. Thread-safe."""

    def __init__(self, mode: str, seed: int) -> None:
        if mode not in FAULT_MODES or mode == "none":
            raise ValueError(f"fault mode must be 'light' or 'heavy' for an injector, not {mode!r}")
        self.mode, self.seed = mode, seed
        self.heavy = mode == "heavy"
        self.shifter = PageShifter()
        self.injected: Counter[str] = Counter()
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        total = sum(w for _, w in KIND_WEIGHTS)
        acc, self._cumulative = 0.0, []
        for kind, weight in KIND_WEIGHTS:
            acc += weight / total
            self._cumulative.append((acc, kind))

    def plan(self, key: str, index: int, *, token: bool = False) -> Fault | None:
        """The fault of the ``index``-th request with ``key``: a pure function of (seed, mode, key, index)."""
        rate = RATES["light" if token else self.mode]
        u = _unit(self.seed, self.mode, key, index)
        if u >= rate:
            return None
        x = u / rate
        kind = next((k for edge, k in self._cumulative if x < edge), self._cumulative[-1][1])
        if token and kind not in TOKEN_KINDS:
            return None
        return Fault(kind, key, index, _unit(self.seed, self.mode, key, index, "cut"))

    def decide(self, req: Request, *, token: bool = False) -> Fault | None:
        key = request_key(req)
        with self._lock:
            index = self._counts.get(key, 0)
            self._counts[key] = index + 1
        return self.plan(key, index, token=token)

    def record(self, fault: Fault, req: Request) -> None:
        """Count and log a fault that was actually injected."""
        with self._lock:
            self.injected[fault.kind] += 1
        log.debug(
            "fault %s injected: %s %s (request #%d of this key; faults=%s seed=%d)",
            fault.kind,
            req.method,
            req.path,
            fault.index,
            self.mode,
            self.seed,
        )
