"""HubSpot CRM v3 (DESIGN §4): ``GET /crm/v3/objects/deals`` with ``after`` paging, and owners."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from ingestion.sandbox.protocol import Request, Response, iso_z, parse_int, route
from ingestion.sandbox.ratelimit import TokenBucket
from ingestion.sandbox.crm_world import Deal
from ingestion.sandbox.world import World

DEMO_ACCESS_TOKEN = "pat-sandbox-demo-token"
DEFAULT_DEAL_PROPERTIES = ("amount", "closedate", "createdate", "dealname", "dealstage",
                           "hs_lastmodifieddate", "hs_object_id", "pipeline")


def deal_properties(d: Deal) -> dict[str, str | None]:
    closed = d.closed_at
    props: dict[str, str | None] = {
        "amount": str(d.amount),
        "closedate": iso_z(closed, millis=True) if closed else None,
        "createdate": iso_z(d.created_at, millis=True),
        "dealname": d.name,
        "dealstage": d.stage,
        "deal_currency_code": d.currency,
        "hs_lastmodifieddate": iso_z(d.updated_at, millis=True),
        "hs_object_id": d.deal_id,
        "hs_is_closed": "true" if closed else "false",
        "hs_is_closed_won": "true" if d.stage == "closedwon" else "false",
        "hubspot_owner_id": d.owner_id,
        "pipeline": "default",
    }
    for stage, at in d.stage_history:
        props[f"hs_date_entered_{stage}"] = iso_z(at, millis=True)
    return props


def render_deal(d: Deal, properties: list[str] | None) -> dict[str, Any]:
    props = deal_properties(d)
    wanted = properties if properties is not None else list(DEFAULT_DEAL_PROPERTIES)
    return {
        "id": d.deal_id,
        "properties": {k: props.get(k) for k in wanted},
        "createdAt": iso_z(d.created_at, millis=True),
        "updatedAt": iso_z(d.updated_at, millis=True),
        "archived": False,
    }


def error(status: int, category: str, message: str) -> Response:
    return Response(status, {"status": "error", "message": message, "correlationId": "00000000-sandbox",
                             "category": category})


def list_deals(req: Request, world: World) -> Response:
    q = req.query
    try:
        limit = parse_int(q, "limit", 10, 100)
    except ValueError:
        return error(400, "VALIDATION_ERROR", "limit must be between 1 and 100")
    try:
        after = int(q.get("after", "0"))
    except ValueError:
        return error(400, "VALIDATION_ERROR", f"Invalid after value: {q.get('after')}")
    properties = [p for p in q["properties"].split(",") if p] if "properties" in q else None
    if properties is not None:
        properties = sorted(set(properties) | {"createdate", "hs_lastmodifieddate", "hs_object_id"})
    if q.get("archived", "false") == "true":
        return Response(200, {"results": []})
    rows = [d for d in world.deals if int(d.deal_id) >= after]  # ascending id
    page = rows[:limit]
    body: dict[str, Any] = {"results": [render_deal(d, properties) for d in page]}
    if len(rows) > limit:
        nxt = rows[limit].deal_id
        params = {k: v for k, v in q.items() if k != "after"} | {"after": nxt}
        body["paging"] = {"next": {"after": nxt,
                                   "link": f"{req.base_url}/crm/v3/objects/deals?{urlencode(params)}"}}
    return Response(200, body)


def list_owners(req: Request, world: World) -> Response:
    return Response(200, {"results": [{
        "id": o.owner_id, "email": o.email, "firstName": o.first_name, "lastName": o.last_name,
        "userId": int(o.owner_id) - 60_000_000, "createdAt": iso_z(o.created_at, millis=True),
        "updatedAt": iso_z(o.created_at, millis=True), "archived": False,
        "teams": [{"id": o.territory.lower(), "name": o.territory, "primary": True}],
    } for o in world.owners]})


# --- vendor wiring: routes, auth, rate limits (the server is generic) ---
NAME = "hubspot"
LIMITS = {"hubspot": {"real": (100, 10.0), "demo": (1000, 100.0)}}  # 100 requests per rolling 10 s


def authorize(app: object, req: Request) -> Response | None:
    if req.headers.get("authorization") != f"Bearer {DEMO_ACCESS_TOKEN}":
        return error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
    return None


def throttled(bucket: str, wait_s: float) -> Response:
    return Response(429, {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                          "errorType": "RATE_LIMIT", "correlationId": "00000000-sandbox",
                          "policyName": "TEN_SECONDLY_ROLLING"})


def limit_headers(bucket: str, state: TokenBucket) -> dict[str, str]:
    return {"X-HubSpot-RateLimit-Max": str(int(state.capacity)),
            "X-HubSpot-RateLimit-Remaining": str(int(state.capacity) - state.used),
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}


ROUTES = [
    route("GET", r"/crm/v3/objects/deals", "hubspot", list_deals),
    route("GET", r"/crm/v3/owners/?", "hubspot", list_owners),
]
