"""The sandbox's HubSpot CRM v3: the CRM world (reps, companies, contacts, deals, quotas) and its API contract."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests

from ingestion.sources.hubspot import DEAL_PROPERTIES
from sandbox import hubspot_api
from sandbox.crm_world import (
    CLOSED_STAGES,
    FORECAST_CATEGORIES,
    OPEN_STAGES,
    PIPELINES,
    RENEWAL_PIPELINE,
    STAGE_PIPELINE,
    STAGE_PROBABILITY,
)
from sandbox.protocol import Request, iso_z
from sandbox.server import SandboxApp, SandboxServer
from sandbox.world import World, WorldConfig, build_world

WORLD = WorldConfig(seed=3, scale=0.02, as_of=date(2026, 3, 31))
AUTH = {"Authorization": f"Bearer {hubspot_api.DEMO_ACCESS_TOKEN}"}
OBJECT_MODIFIED = {"deals": "hs_lastmodifieddate", "contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate"}

# what HubSpot returns for a deal when no `properties` are asked for (its documented defaults)
DEAL_DEFAULT_PROPERTIES = {
    "amount",
    "closedate",
    "createdate",
    "dealname",
    "dealstage",
    "hs_lastmodifieddate",
    "hs_object_id",
    "pipeline",
}


@pytest.fixture(scope="module")
def hub() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxApp(WORLD, rate_limits="off"), port=0) as server:
        yield server


@pytest.fixture(scope="module")
def world(hub: SandboxServer) -> World:
    return hub.app.world


def _get(hub: SandboxServer, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{hub.url}{path}", headers=AUTH, params=params, timeout=30)


def _search(hub: SandboxServer, obj: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{hub.url}/crm/v3/objects/{obj}/search", headers=AUTH, json=body, timeout=30)


def _list_all(hub: SandboxServer, path: str, **params: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        response = _get(hub, path, **params, **({"after": after} if after else {}))
        assert response.status_code == 200, response.text
        body = response.json()
        seen += body["results"]
        if "paging" not in body:
            return seen
        assert body["paging"]["next"]["link"].startswith(f"{hub.url}{path}?")
        after = body["paging"]["next"]["after"]


def _search_all(hub: SandboxServer, obj: str, body: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        response = _search(hub, obj, {**body, **({"after": after} if after else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        seen += page["results"]
        if "paging" not in page:
            return seen, page["total"]
        assert set(page["paging"]["next"]) == {"after"}
        after = page["paging"]["next"]["after"]


def _records(world: World, obj: str) -> dict[str, datetime]:
    """The world's own non-archived records of an object type: id -> last modified."""
    crm = world.crm
    if obj == "deals":
        return {d.deal_id: d.updated_at for d in crm.deals if not d.is_archived}
    if obj == "contacts":
        return {c.contact_id: c.updated_at for c in crm.contacts}
    if obj == "companies":
        return {c.company_id: c.updated_at for c in crm.companies}
    return {g.goal_id: g.updated_at for g in crm.goal_targets}


def _millis(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


# --- the world ---


def test_world_has_the_designed_shape_and_quirks(world: World) -> None:
    crm = world.crm
    assert len(crm.owners) == 24 and {o.owner_id for o in crm.owners} == {str(70_000_000 + i) for i in range(24)}
    assert {o.territory for o in crm.owners} == {"West", "Central", "East", "International"}
    moved = [o for o in crm.owners if len(o.history) > 1]
    assert moved and all(o.updated_at == o.history[-1].effective_from for o in moved)
    assert any(a.territory != b.territory for o in moved for a, b in zip(o.history, o.history[1:]))
    assert any(
        a.manager_id != b.manager_id and a.territory == b.territory
        for o in moved
        for a, b in zip(o.history, o.history[1:])
    )
    assert len(crm.companies) >= 20 and len(crm.contacts) >= 20
    deals = crm.deals
    assert {d.currency for d in deals} >= {"USD", "GBP"} and any(d.currency in ("EUR", "GBP") for d in deals)
    assert any(d.reopened for d in deals)  # closed lost, then an open stage again
    assert any(len(d.owner_history) > 1 for d in deals)  # reassigned
    assert any(len(d.amount_history) > 1 for d in deals)  # amount changed
    assert any(d.is_archived for d in deals)
    for d in deals:
        assert d.owner_id == d.owner_at(world.config.now) == d.owner_history[-1][0]
        assert d.amount == d.amount_history[-1][0] and d.company_id
        times = [t for _, t in d.stage_history]
        assert times == sorted(times) and times[0] == d.created_at and d.updated_at >= times[-1]
        assert (d.closed_at is not None) == (d.stage in CLOSED_STAGES)
        assert all(t < world.config.now for t in times)
    handed_over = [d for d in deals if d.closed_at and d.owner_at(d.closed_at) != d.owner_id]
    assert handed_over  # the owner at close differs from the current owner for some deals


def test_crm_records_never_depend_on_as_of_only_their_revealed_events_do() -> None:
    old = build_world(WORLD).crm
    new = build_world(replace(WORLD, as_of=WORLD.as_of + timedelta(days=60))).crm
    later = {d.deal_id: d for d in new.deals}
    for d in old.deals:
        n = later[d.deal_id]
        assert (n.name, n.created_at, n.currency, n.company_id, n.contact_ids) == (
            d.name,
            d.created_at,
            d.currency,
            d.company_id,
            d.contact_ids,
        )
        assert n.stage_history[: len(d.stage_history)] == d.stage_history
        assert n.owner_history[: len(d.owner_history)] == d.owner_history
        assert n.closedate_history[: len(d.closedate_history)] == d.closedate_history
        assert n.forecast_history[: len(d.forecast_history)] == d.forecast_history
    contacts = {c.contact_id: c for c in new.contacts}
    for c in old.contacts:
        assert (contacts[c.contact_id].email, contacts[c.contact_id].company_id) == (c.email, c.company_id)
    assert len(new.deals) > len(old.deals) and len(new.contacts) > len(old.contacts)


def test_open_deals_carry_an_expected_close_date_that_slips_and_a_forecast_category() -> None:
    deals = build_world(replace(WORLD, scale=0.3)).crm.deals
    now = replace(WORLD, scale=0.3).now
    for d in deals:
        values = [v for v, _ in d.closedate_history]
        assert d.closedate_history[0][1] == d.created_at and values[0] > d.created_at  # guessed at creation
        assert [t for _, t in d.closedate_history] == sorted(t for _, t in d.closedate_history)
        assert [t for _, t in d.forecast_history] == sorted(t for _, t in d.forecast_history)
        assert {c for c, _ in d.forecast_history} <= set(FORECAST_CATEGORIES)
        if d.closed_at is not None:
            assert d.closedate == d.closed_at
            assert d.forecast_category == ("CLOSED" if d.is_won else "OMIT")
        elif not d.is_archived:
            assert d.forecast_category in ("PIPELINE", "BEST_CASE", "COMMIT")
            assert d.closedate is not None and d.closedate.hour == 0  # a date, as the rep picks it

    # reps push passed dates out: some deals slip several times before closing; the last guess before
    # a win is closer to the real close than the first one
    def slips(d: object) -> int:  # the date had passed and was pushed out
        h = d.closedate_history  # type: ignore[attr-defined]
        return sum(1 for (was, _), (new, at) in zip(h, h[1:]) if was is not None and was < at < new)

    slipped = [d for d in deals if slips(d) >= 2]
    assert slipped and any(d.stage == "closedwon" for d in slipped)
    won = [d for d in deals if d.stage == "closedwon" and len(d.closedate_history) > 2]
    first_error = sum(abs((d.closedate_history[0][0] - d.closed_at).days) for d in won)
    last_error = sum(abs((d.closedate_history[-2][0] - d.closed_at).days) for d in won)
    assert last_error < first_error

    # a rep commits more often to deals that end up won
    def commit_share(ds: list) -> float:
        return sum(any(c == "COMMIT" for c, _ in d.forecast_history) for d in ds) / len(ds)

    lost = [d for d in deals if d.stage == "closedlost"]
    assert commit_share([d for d in deals if d.stage == "closedwon"]) > commit_share(lost)
    assert all(t < now for d in deals for _, t in d.closedate_history)


def test_contacts_include_shopify_customers_with_emails_typed_differently(hub: SandboxServer, world: World) -> None:
    customers = {o.customer.customer_id: o.customer for o in world.shopify_orders}
    matched = [c for c in world.crm.contacts if c.shopify_customer_id is not None]
    assert matched
    for c in matched:
        customer = customers[c.shopify_customer_id]
        assert c.email.strip().lower() == customer.email.strip().lower()
        assert customer.created_at < c.created_at
    assert any(c.email != customers[c.shopify_customer_id].email for c in matched)
    assert len({c.email.strip().lower() for c in world.crm.contacts}) == len(world.crm.contacts)
    served = {r["id"]: r["properties"]["email"] for r in _list_all(hub, "/crm/v3/objects/contacts", limit=100)}
    assert all(served[c.contact_id] == c.email for c in matched)  # served as typed, whitespace included


# --- listing ---


@pytest.mark.parametrize(
    "obj, limit", [("deals", 7), ("deals", 100), ("contacts", 100), ("companies", 13), ("goal_targets", 100)]
)
def test_paging_reaches_every_record_exactly_once(hub: SandboxServer, world: World, obj: str, limit: int) -> None:
    seen = [r["id"] for r in _list_all(hub, f"/crm/v3/objects/{obj}", limit=limit)]
    assert len(seen) == len(set(seen)) == len(_records(world, obj))
    assert set(seen) == set(_records(world, obj))
    assert seen == sorted(seen, key=int)


def test_records_have_hubspot_shape_and_default_properties(hub: SandboxServer) -> None:
    for obj, defaults in [
        ("deals", DEAL_DEFAULT_PROPERTIES),
        ("contacts", {"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"}),
        ("companies", {"createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"}),
        ("goal_targets", {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}),
    ]:
        body = _get(hub, f"/crm/v3/objects/{obj}", limit=3).json()
        assert set(body) == {"results", "paging"}
        for r in body["results"]:
            assert set(r) == {"id", "properties", "createdAt", "updatedAt", "archived"}
            assert set(r["properties"]) == defaults and r["archived"] is False
            assert all(v is None or isinstance(v, str) for v in r["properties"].values())
            assert r["properties"]["hs_object_id"] == r["id"]
    # asked properties come with the always-returned ones; unknown names are ignored
    r = _get(hub, "/crm/v3/objects/contacts", limit=1, properties="email,jobtitle,nosuchproperty").json()["results"][0]
    assert set(r["properties"]) == {"email", "jobtitle", "createdate", "lastmodifieddate", "hs_object_id"}


def test_the_ingestion_sources_request_still_gets_every_property(hub: SandboxServer, world: World) -> None:
    deals = _list_all(hub, "/crm/v3/objects/deals", limit=100, archived="false", properties=",".join(DEAL_PROPERTIES))
    by_id = {d.deal_id: d for d in world.crm.deals}
    for r in deals:
        d = by_id[r["id"]]
        assert set(DEAL_PROPERTIES) <= set(r["properties"])
        p = r["properties"]
        assert (p["dealstage"], p["amount"], p["deal_currency_code"], p["hubspot_owner_id"]) == (
            d.stage,
            str(d.amount),
            d.currency,
            d.owner_id,
        )
        # closedate: the close time of a closed deal, the rep's expected close date (a midnight) of an open one
        assert p["closedate"] == iso_z(d.closedate, millis=True)
        assert d.closed_at is None or d.closedate == d.closed_at
        assert p["hs_forecast_category"] == d.forecast_category
        assert p["hs_deal_stage_probability"] == str(STAGE_PROBABILITY[d.stage])
        assert r["updatedAt"] == p["hs_lastmodifieddate"] == iso_z(d.updated_at, millis=True)
        assert STAGE_PIPELINE[d.stage] == p["pipeline"] == d.pipeline
    owners = _get(hub, "/crm/v3/owners", limit=100).json()
    assert "paging" not in owners and len(owners["results"]) == 24


def test_archived_true_lists_exactly_the_archived_deals(hub: SandboxServer, world: World) -> None:
    archived = {d.deal_id: d for d in world.crm.deals if d.is_archived}
    assert archived
    listed = _list_all(hub, "/crm/v3/objects/deals", limit=100, archived="true")
    assert {r["id"] for r in listed} == set(archived)
    for r in listed:
        assert r["archived"] is True and r["archivedAt"] == iso_z(archived[r["id"]].archived_at, millis=True)
    some = next(iter(archived))
    assert _get(hub, f"/crm/v3/objects/deals/{some}").status_code == 404
    one = _get(hub, f"/crm/v3/objects/deals/{some}", archived="true")
    assert one.status_code == 200 and one.json()["archived"] is True
    # and a search never finds deleted records
    found, total = _search_all(hub, "deals", {"limit": 200})
    assert total == len(found) == len(_records(world, "deals")) and not set(archived) & {r["id"] for r in found}


def test_read_one_object_by_id_and_by_id_property(hub: SandboxServer, world: World) -> None:
    contact = world.crm.contacts[5]
    r = _get(hub, f"/crm/v3/objects/contacts/{contact.contact_id}", properties="email,company")
    assert r.status_code == 200 and r.json()["properties"]["email"] == contact.email
    by_email = _get(hub, f"/crm/v3/objects/0-1/{contact.email.strip().upper()}", idProperty="email")
    assert by_email.status_code == 200 and by_email.json()["id"] == contact.contact_id
    missing = _get(hub, "/crm/v3/objects/contacts/1")
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"


def test_property_history_is_the_worlds_history_newest_first(hub: SandboxServer, world: World) -> None:
    deals = {d.deal_id: d for d in world.crm.deals if not d.is_archived}
    listed = _list_all(
        hub,
        "/crm/v3/objects/deals",
        limit=100,
        propertiesWithHistory="dealstage,hubspot_owner_id,amount,closedate,hs_forecast_category",
    )
    assert len(listed) == len(deals)
    for r in listed:
        d = deals[r["id"]]
        history = r["propertiesWithHistory"]
        assert [(h["value"], h["timestamp"]) for h in history["dealstage"]] == [
            (s, iso_z(t, millis=True)) for s, t in reversed(d.stage_history)
        ]
        assert [h["value"] for h in history["hubspot_owner_id"]] == [o for o, _ in reversed(d.owner_history)]
        assert [h["value"] for h in history["amount"]] == [str(a) for a, _ in reversed(d.amount_history)]
        assert [(h["value"], h["timestamp"]) for h in history["closedate"]] == [
            (iso_z(v, millis=True), iso_z(t, millis=True)) for v, t in reversed(d.closedate_history)
        ]
        assert [(h["value"], h["timestamp"]) for h in history["hs_forecast_category"]] == [
            (c, iso_z(t, millis=True)) for c, t in reversed(d.forecast_history)
        ]
        assert all(
            set(h) >= {"value", "timestamp", "sourceType", "sourceId", "updatedByUserId"} for h in history["closedate"]
        )
        assert all(set(h) >= {"value", "timestamp", "sourceType"} for h in history["dealstage"])
        assert history["dealstage"][0]["updatedByUserId"] == int(d.owner_at(d.stage_history[-1][1])) - 60_000_000
        assert set(r["properties"]) == DEAL_DEFAULT_PROPERTIES
    page = _get(hub, "/crm/v3/objects/deals", limit=100, propertiesWithHistory="dealstage").json()
    assert len(page["results"]) == 50  # property history caps a page at 50 records
    reopened = next(d for d in deals.values() if d.reopened)
    one = _get(hub, f"/crm/v3/objects/deals/{reopened.deal_id}", propertiesWithHistory="dealstage,closedate").json()
    values = [h["value"] for h in one["propertiesWithHistory"]["dealstage"]]
    assert "closedlost" in values[1:] and values.count("closedlost") + values.count("closedwon") >= 1


def test_associations_follow_the_world(hub: SandboxServer, world: World) -> None:
    deals = {d.deal_id: d for d in world.crm.deals}
    for r in _list_all(hub, "/crm/v3/objects/deals", limit=100, associations="companies,contacts"):
        d = deals[r["id"]]
        links = r.get("associations", {})
        assert [a["id"] for a in links["companies"]["results"]] == [d.company_id]
        assert {a["type"] for a in links["companies"]["results"]} == {"deal_to_company"}
        assert sorted(a["id"] for a in links.get("contacts", {}).get("results", [])) == sorted(d.contact_ids)
    contacts = {c.contact_id: c for c in world.crm.contacts}
    for r in _list_all(hub, "/crm/v3/objects/contacts", limit=100, associations="company"):
        expected = contacts[r["id"]].company_id
        got = r.get("associations", {}).get("companies", {}).get("results", [])
        assert [a["id"] for a in got] == ([expected] if expected else [])


# --- search ---


@pytest.mark.parametrize("obj", ["deals", "contacts", "companies"])
def test_search_returns_exactly_the_records_modified_in_the_window(hub: SandboxServer, world: World, obj: str) -> None:
    records = _records(world, obj)
    times = sorted(records.values())
    low, high = times[len(times) // 4], times[3 * len(times) // 4]
    prop = OBJECT_MODIFIED[obj]

    def window(filters: list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
        found, total = _search_all(hub, obj, {"filterGroups": [{"filters": filters}], "limit": 7, **extra})
        assert total == len(found)
        return found

    expected = {i for i, t in records.items() if low <= t <= high}
    assert len(expected) > 5
    between = window([{"propertyName": prop, "operator": "BETWEEN", "value": _millis(low), "highValue": _millis(high)}])
    assert len(between) == len({r["id"] for r in between}) and {r["id"] for r in between} == expected
    iso = window(
        [
            {"propertyName": prop, "operator": "GTE", "value": iso_z(low, millis=True)},
            {"propertyName": prop, "operator": "LTE", "value": iso_z(high, millis=True)},
        ]
    )
    assert {r["id"] for r in iso} == expected
    strict = window(
        [
            {"propertyName": prop, "operator": "GT", "value": _millis(low)},
            {"propertyName": prop, "operator": "LT", "value": _millis(high)},
        ]
    )
    assert {r["id"] for r in strict} == {i for i, t in records.items() if low < t < high}
    exact = window([{"propertyName": prop, "operator": "EQ", "value": _millis(low)}])
    assert {r["id"] for r in exact} == {i for i, t in records.items() if t == low}
    # two filter groups are OR-ed
    either = window([{"propertyName": prop, "operator": "LT", "value": _millis(low)}])
    either_ids = {r["id"] for r in either}
    union, _ = _search_all(
        hub,
        obj,
        {
            "limit": 200,
            "filterGroups": [
                {"filters": [{"propertyName": prop, "operator": "LT", "value": _millis(low)}]},
                {"filters": [{"propertyName": prop, "operator": "GT", "value": _millis(high)}]},
            ],
        },
    )
    assert {r["id"] for r in union} == either_ids | {i for i, t in records.items() if t > high}
    # results carry the modified date they were selected on
    assert all(low <= datetime.fromisoformat(r["properties"][prop].replace("Z", "+00:00")) <= high for r in between)


def test_search_sorts_and_properties(hub: SandboxServer, world: World) -> None:
    desc, _ = _search_all(
        hub,
        "deals",
        {
            "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}],
            "properties": ["dealstage", "amount"],
            "limit": 11,
        },
    )
    stamps = [r["properties"]["hs_lastmodifieddate"] for r in desc]
    assert stamps == sorted(stamps, reverse=True) and len(desc) == len(_records(world, "deals"))
    assert set(desc[0]["properties"]) == {"dealstage", "amount", "createdate", "hs_lastmodifieddate", "hs_object_id"}
    asc, _ = _search_all(hub, "contacts", {"sorts": ["lastmodifieddate"], "limit": 50})
    assert [r["properties"]["lastmodifieddate"] for r in asc] == sorted(
        r["properties"]["lastmodifieddate"] for r in asc
    )
    by_amount, _ = _search_all(
        hub,
        "deals",
        {"sorts": [{"propertyName": "amount", "direction": "ASCENDING"}], "properties": ["amount"], "limit": 200},
    )
    amounts = [float(r["properties"]["amount"]) for r in by_amount]
    assert amounts == sorted(amounts)
    won = _search(
        hub,
        "deals",
        {
            "filterGroups": [{"filters": [{"propertyName": "dealstage", "operator": "IN", "values": ["closedwon"]}]}],
            "limit": 200,
        },
    ).json()
    assert won["total"] == sum(1 for d in world.crm.deals if d.stage == "closedwon" and not d.is_archived)


def test_search_refuses_to_page_beyond_10000_results(hub: SandboxServer) -> None:
    ok = _search(hub, "deals", {"limit": 100, "after": "9900"})
    assert ok.status_code == 200 and ok.json()["results"] == [] and "paging" not in ok.json()
    for after, limit in (("10000", 10), ("9950", 100), ("9999", 2)):
        refused = _search(hub, "deals", {"limit": limit, "after": after})
        assert refused.status_code == 400
        body = refused.json()
        assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR" and "10000" in body["message"]
        assert set(body) == {"status", "message", "correlationId", "category"}


def test_a_client_paging_a_search_past_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # the same rule with a cap small enough for a tiny world: the page that would cross it is a 400
    monkeypatch.setattr(hubspot_api, "SEARCH_MAX_RESULTS", 60)
    app = SandboxApp(WORLD, rate_limits="off")
    headers = {k.lower(): v for k, v in AUTH.items()}

    def page(after: str | None) -> Any:
        body = json.dumps({"limit": 20, **({"after": after} if after else {})}).encode()
        return app.handle(Request("POST", "/crm/v3/objects/contacts/search", {}, headers, body))

    response, pages = page(None), 1
    assert response.body["total"] > 60
    while response.status == 200:
        response, pages = page(response.body["paging"]["next"]["after"]), pages + 1
    assert response.status == 400 and pages == 4 and response.body["category"] == "VALIDATION_ERROR"


# --- errors, auth, rate limits ---


def test_invalid_requests_get_hubspot_error_bodies(hub: SandboxServer) -> None:
    def assert_400(response: requests.Response) -> None:
        assert response.status_code == 400, response.text
        body = response.json()
        assert set(body) == {"status", "message", "correlationId", "category"}
        assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR"

    for limit in (0, 101, "abc"):
        assert_400(_get(hub, "/crm/v3/objects/deals", limit=limit))
    assert_400(_get(hub, "/crm/v3/objects/widgets"))
    assert "widgets" in _get(hub, "/crm/v3/objects/widgets").json()["message"]
    assert_400(_get(hub, "/crm/v3/objects/deals", associations="false"))
    assert_400(_search(hub, "widgets", {}))
    assert_400(_search(hub, "deals", {"limit": 201}))
    assert_400(
        _search(
            hub,
            "deals",
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "SINCE", "value": "0"}]}
                ]
            },
        )
    )
    assert_400(
        _search(
            hub,
            "deals",
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "yesterday"}]}
                ]
            },
        )
    )
    assert_400(
        _search(
            hub,
            "deals",
            {"filterGroups": [{"filters": [{"propertyName": "nosuchproperty", "operator": "EQ", "value": "1"}]}]},
        )
    )
    assert_400(_search(hub, "deals", {"sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "UP"}]}))
    assert_400(requests.post(f"{hub.url}/crm/v3/objects/deals/search", headers=AUTH, data=b"{not json", timeout=30))
    assert _get(hub, "/crm/v3/pipelines/deals/nosuchpipeline").status_code == 404


def test_every_endpoint_wants_the_bearer_token(hub: SandboxServer) -> None:
    for path in (
        "/crm/v3/objects/deals",
        "/crm/v3/objects/contacts/1",
        "/crm/v3/owners",
        "/crm/v3/pipelines/deals",
        "/crm/v3/properties/deals",
        "/crm/v3/objects/goal_targets",
    ):
        response = requests.get(f"{hub.url}{path}", timeout=30)
        assert response.status_code == 401 and response.json()["category"] == "INVALID_AUTHENTICATION"
    wrong = requests.post(
        f"{hub.url}/crm/v3/objects/deals/search", json={}, headers={"Authorization": "Bearer nope"}, timeout=30
    )
    assert wrong.status_code == 401


def test_search_has_its_own_rate_limit_bucket() -> None:
    app = SandboxApp(WORLD, rate_limits="real")
    headers = {k.lower(): v for k, v in AUTH.items()}
    searches = [app.handle(Request("POST", "/crm/v3/objects/deals/search", {}, headers, b"{}")) for _ in range(12)]
    refused = [r for r in searches if r.status == 429]
    assert refused and refused[0].body["policyName"] == "SECONDLY" and refused[0].body["errorType"] == "RATE_LIMIT"
    assert "X-HubSpot-RateLimit-Max" not in searches[0].headers
    listed = app.handle(Request("GET", "/crm/v3/objects/deals", {}, headers))
    assert listed.status == 200 and listed.headers["X-HubSpot-RateLimit-Max"] == "100"


# --- owners, pipelines, properties, goal targets ---


def test_owners_show_their_current_team_and_move_when_it_changes(hub: SandboxServer, world: World) -> None:
    owners = {o["id"]: o for o in _list_all(hub, "/crm/v3/owners", limit=5)}
    assert len(owners) == 24
    for o in world.crm.owners:
        served = owners[o.owner_id]
        primary = [t for t in served["teams"] if t["primary"]]
        assert [t["name"] for t in primary] == [o.territory]
        assert served["updatedAt"] == iso_z(o.updated_at, millis=True)
        assert {t["id"] for t in served["teams"] if not t["primary"]} == ({o.manager_id} if o.manager_id else set())
    moved = next(o for o in world.crm.owners if len(o.history) > 1)
    assert owners[moved.owner_id]["updatedAt"] > owners[moved.owner_id]["createdAt"]
    before = moved.history[-1].effective_from - timedelta(seconds=1)
    assert moved.assignment_at(before) == moved.history[-2]
    one = _get(hub, f"/crm/v3/owners/{moved.owner_id}").json()
    assert one["id"] == moved.owner_id and one["userId"] == moved.user_id
    assert _get(hub, "/crm/v3/owners", archived="true").json()["results"] == []


def test_pipeline_and_property_definitions(hub: SandboxServer) -> None:
    pipelines = _get(hub, "/crm/v3/pipelines/deals").json()["results"]
    assert [p["id"] for p in pipelines] == ["default", RENEWAL_PIPELINE]
    stages = pipelines[0]["stages"]
    assert [s["id"] for s in stages] == [*OPEN_STAGES, "closedwon", "closedlost"]
    assert [s["displayOrder"] for s in stages] == list(range(7))
    assert {s["id"]: (s["metadata"]["isClosed"], s["metadata"]["probability"]) for s in stages}["closedwon"] == (
        "true",
        "1.0",
    )
    assert _get(hub, "/crm/v3/pipelines/deals/default/stages").json()["results"] == stages
    # the second pipeline: numeric stage ids, its own won (probability 1) and lost (0) stages
    renewals = pipelines[1]
    assert renewals["label"] == "Renewals" and all(s["id"].isdigit() for s in renewals["stages"])
    assert sorted((s["metadata"]["isClosed"], s["metadata"]["probability"]) for s in renewals["stages"])[-2:] == [
        ("true", "0.0"),
        ("true", "1.0"),
    ]
    assert _get(hub, f"/crm/v3/pipelines/deals/{RENEWAL_PIPELINE}").json() == renewals
    assert _get(hub, "/crm/v3/pipelines/deals/12345").status_code == 404
    props = {p["name"]: p for p in _get(hub, "/crm/v3/properties/deals").json()["results"]}
    n_stages = sum(len(p.stages) for p in PIPELINES)
    assert props["dealstage"]["type"] == "enumeration" and len(props["dealstage"]["options"]) == n_stages == 12
    assert {o["value"] for o in props["pipeline"]["options"]} == {"default", RENEWAL_PIPELINE}
    assert props["amount"]["type"] == "number" and props["closedate"]["type"] == "datetime"
    assert set(DEAL_PROPERTIES) <= set(props)
    # the current (v2) stage-date properties, entered and exited, for every stage of every pipeline
    for pipeline in pipelines:
        for stage in pipeline["stages"]:
            for verb in ("entered", "exited"):
                prop = props[f"hs_v2_date_{verb}_{stage['id']}"]
                assert prop["type"] == "datetime" and prop["calculated"] and prop["hubspotDefined"]
                assert pipeline["label"] in prop["label"]
    # custom properties the company defined
    custom = {name for name, p in props.items() if not p["hubspotDefined"]}
    assert custom == {"partner_referral", "contract_term_months"}
    contact_props = {p["name"]: p for p in _get(hub, "/crm/v3/properties/contacts").json()["results"]}
    assert {"email", "lastmodifieddate", "lifecyclestage", "hs_merged_object_ids"} <= set(contact_props)
    assert {n for n, p in contact_props.items() if not p["hubspotDefined"]} == {"preferred_channel"}
    assert _get(hub, "/crm/v3/properties/companies/name").json()["fieldType"] == "text"


def test_deals_carry_v2_stage_dates_of_their_pipeline_and_custom_properties(hub: SandboxServer, world: World) -> None:
    names = [f"hs_v2_date_{v}_{s}" for p in PIPELINES for s, _, _ in p.stages for v in ("entered", "exited")]
    deals = _list_all(hub, "/crm/v3/objects/deals", limit=100, properties=",".join([*names, "partner_referral"]))
    by_id = world.crm.deals_by_id
    assert {d.pipeline for d in world.crm.deals} == {"default", RENEWAL_PIPELINE}
    for r in deals:
        d, p = by_id[r["id"]], r["properties"]
        last_entry: dict[str, datetime] = {}
        for stage, at in d.stage_history:
            last_entry[stage] = at
        entered = {n.removeprefix("hs_v2_date_entered_"): v for n, v in p.items() if "_entered_" in n and v}
        assert entered == {s: iso_z(at, millis=True) for s, at in last_entry.items()}
        assert {STAGE_PIPELINE[s] for s in entered} == {d.pipeline}  # only its own pipeline's stages
        # exited: the stage was left after its last entry (the current stage is not exited)
        exited = {n.removeprefix("hs_v2_date_exited_") for n, v in p.items() if "_exited_" in n and v}
        assert d.stage not in exited and exited == set(last_entry) - {d.stage}
        assert p["partner_referral"] in ("true", "false")


def test_batch_read_returns_the_inputs_with_history_and_refuses_more_than_100(hub: SandboxServer, world: World) -> None:
    live = [d for d in world.crm.deals if not d.is_archived]
    ids = [d.deal_id for d in live[:100]]
    body = {"inputs": [{"id": i} for i in ids], "properties": ["dealstage"], "propertiesWithHistory": ["dealstage"]}
    r = requests.post(f"{hub.url}/crm/v3/objects/deals/batch/read", json=body, headers=AUTH, timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "COMPLETE"
    data = r.json()
    assert {"startedAt", "completedAt"} <= set(data) and "errors" not in data
    assert sorted(x["id"] for x in data["results"]) == sorted(ids)  # 100 with history: not cut to 50
    for x in data["results"]:
        d = world.crm.deals_by_id[x["id"]]
        assert [h["value"] for h in x["propertiesWithHistory"]["dealstage"]] == [
            s for s, _ in reversed(d.stage_history)
        ]
    too_many = {
        "inputs": [{"id": d.deal_id} for d in world.crm.deals[:101]],
        "properties": [],
        "propertiesWithHistory": [],
    }
    missing_field = {"inputs": [{"id": ids[0]}], "properties": ["dealname"]}
    r = requests.post(f"{hub.url}/crm/v3/objects/deals/batch/read", json=missing_field, headers=AUTH, timeout=30)
    assert r.status_code == 400  # the spec requires propertiesWithHistory (may be empty)
    r = requests.post(f"{hub.url}/crm/v3/objects/deals/batch/read", json=too_many, headers=AUTH, timeout=30)
    assert r.status_code == 400 and r.json()["category"] == "VALIDATION_ERROR"
    # unknown ids: 207 Multi-Status, the found ones in results, the others in errors
    body = {
        "inputs": [{"id": ids[0]}, {"id": "999"}, {"id": "998"}],
        "properties": ["dealname"],
        "propertiesWithHistory": [],
    }
    r = requests.post(f"{hub.url}/crm/v3/objects/deals/batch/read", json=body, headers=AUTH, timeout=30)
    assert r.status_code == 207
    data = r.json()
    assert [x["id"] for x in data["results"]] == [ids[0]] and data["numErrors"] == 1
    assert data["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert data["errors"][0]["context"]["ids"] == ["999", "998"]
    # archived deals are read with archived=true only
    gone = next(d for d in world.crm.deals if d.is_archived)
    body = {"inputs": [{"id": gone.deal_id}], "properties": [], "propertiesWithHistory": []}
    assert requests.post(f"{hub.url}/crm/v3/objects/deals/batch/read", json=body, headers=AUTH).status_code == 207
    r = requests.post(f"{hub.url}/crm/v3/objects/deals/batch/read?archived=true", json=body, headers=AUTH)
    assert r.status_code == 200 and r.json()["results"][0]["archived"] is True


def test_v4_association_batch_read_pages_long_lists(
    hub: SandboxServer, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = [d for d in world.crm.deals if not d.is_archived]
    url = f"{hub.url}/crm/v4/associations/deals/contacts/batch/read"
    r = requests.post(url, json={"inputs": [{"id": d.deal_id} for d in live]}, headers=AUTH, timeout=30)
    assert r.status_code == 200
    got = {x["from"]["id"]: [t["toObjectId"] for t in x["to"]] for x in r.json()["results"]}
    assert got == {d.deal_id: sorted(set(d.contact_ids), key=int) for d in live}
    first = next(x for x in r.json()["results"] if x["to"])
    assert first["to"][0]["associationTypes"] == [{"category": "HUBSPOT_DEFINED", "typeId": 3}]
    companies = requests.post(
        f"{hub.url}/crm/v4/associations/deals/companies/batch/read",
        json={"inputs": [{"id": live[0].deal_id}]},
        headers=AUTH,
    ).json()["results"][0]["to"]
    assert [t["toObjectId"] for t in companies] == [live[0].company_id]
    assert {t["typeId"] for t in companies[0]["associationTypes"]} == {341, 5}  # deal to company, and primary
    # more than one page of associations for one record: paging.next.after for that id
    monkeypatch.setattr(hubspot_api, "ASSOCIATIONS_PAGE_SIZE", 1)
    two = next(d for d in live if len(set(d.contact_ids)) == 2)
    page = requests.post(url, json={"inputs": [{"id": two.deal_id}]}, headers=AUTH).json()["results"][0]
    rest = requests.post(
        url, json={"inputs": [{"id": two.deal_id, "after": page["paging"]["next"]["after"]}]}, headers=AUTH
    ).json()["results"][0]
    assert [t["toObjectId"] for t in page["to"] + rest["to"]] == sorted(set(two.contact_ids), key=int)
    assert "paging" not in rest
    r = requests.post(url, json={"inputs": [{"id": str(i)} for i in range(1001)]}, headers=AUTH)
    assert r.status_code == 400
    r = requests.post(url, json={"inputs": [{"id": "1"}]}, headers=AUTH)
    assert r.status_code == 207 and r.json()["errors"][0]["context"]["ids"] == ["1"]


def test_merged_records_answer_with_the_survivor(hub: SandboxServer, world: World) -> None:
    crm = world.crm
    assert crm.deal_merges and crm.contact_merges, "precondition: the world merged a deal and a contact"
    listed = {r["id"] for r in _list_all(hub, "/crm/v3/objects/deals", limit=100)}
    contacts = {r["id"] for r in _list_all(hub, "/crm/v3/objects/contacts", limit=100)}
    assert not set(crm.deal_merges) & listed and not set(crm.contact_merges) & contacts
    for obj, merges in (("deals", crm.deal_merges), ("contacts", crm.contact_merges)):
        old, survivor = next(iter(merges.items()))
        one = _get(hub, f"/crm/v3/objects/{obj}/{old}", properties="hs_merged_object_ids").json()
        assert one["id"] == survivor and old in one["properties"]["hs_merged_object_ids"].split(";")
        body = {
            "inputs": [{"id": old}, {"id": survivor}],
            "properties": ["hs_merged_object_ids"],
            "propertiesWithHistory": [],
        }
        batch = requests.post(f"{hub.url}/crm/v3/objects/{obj}/batch/read", json=body, headers=AUTH).json()
        assert [r["id"] for r in batch["results"]] == [survivor]
        # the survivor's last modification is the merge (or later)
        modified = OBJECT_MODIFIED[obj]
        merged_at = max(
            c.at
            for c in (crm.deals_by_id.get(survivor) or crm.contacts_by_id[survivor]).changes
            if c.name == "hs_merged_object_ids"
        )
        assert one["updatedAt"] >= iso_z(merged_at, millis=True)
        found = _search(
            hub,
            obj,
            {"filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": old}]}]},
        ).json()
        assert found["total"] == 0
        assert modified


def test_a_goal_target_per_rep_and_month(hub: SandboxServer, world: World) -> None:
    wanted = "hubspot_owner_id,hs_assignee_user_id,hs_start_datetime,hs_end_datetime,hs_target_amount,hs_goal_name"
    goals = _list_all(hub, "/crm/v3/objects/goal_targets", limit=100, properties=wanted)
    months, month = [], date(2024, 1, 1)
    while month <= WORLD.as_of:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    reps = {o.owner_id: o for o in world.crm.reps}
    assert len(reps) == 20
    got = {(g["properties"]["hubspot_owner_id"], g["properties"]["hs_start_datetime"][:10]) for g in goals}
    assert got == {(r, m.isoformat()) for r in reps for m in months} and len(goals) == len(got)
    for g in goals:
        p = g["properties"]
        assert int(p["hs_assignee_user_id"]) == reps[p["hubspot_owner_id"]].user_id
        assert float(p["hs_target_amount"]) > 0 and p["hs_end_datetime"].endswith("T23:59:59.999Z")


# --- determinism and change over time ---


def test_same_world_same_bytes_and_a_later_world_changes_old_deals() -> None:
    headers = {k.lower(): v for k, v in AUTH.items()}
    query = {"limit": "100", "propertiesWithHistory": "dealstage", "associations": "companies"}

    def fetch(config: WorldConfig, path: str = "/crm/v3/objects/deals") -> bytes:
        response = SandboxApp(config, rate_limits="off").handle(Request("GET", path, query, headers))
        assert response.status == 200
        return response.encode()

    assert fetch(WORLD) == fetch(WORLD)
    assert fetch(WORLD, "/crm/v3/objects/contacts") == fetch(WORLD, "/crm/v3/objects/contacts")
    assert fetch(WORLD) != fetch(replace(WORLD, seed=WORLD.seed + 1))

    bigger = replace(WORLD, scale=0.1)  # enough deals that some are reassigned within the quarter
    old = build_world(bigger).crm
    new = build_world(replace(bigger, as_of=bigger.as_of + timedelta(days=90))).crm
    later = new.deals_by_id
    moved = [d for d in old.deals if later[d.deal_id].stage != d.stage]
    reassigned = [d for d in old.deals if later[d.deal_id].owner_id != d.owner_id]
    assert moved and reassigned
    for d in moved + reassigned:
        assert later[d.deal_id].updated_at > d.updated_at
    unchanged = [d for d in old.deals if later[d.deal_id].updated_at == d.updated_at]
    assert all(later[d.deal_id].stage == d.stage and later[d.deal_id].amount == d.amount for d in unchanged)
