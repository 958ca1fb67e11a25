"""HubSpot CRM ingestion: every resource equals the sandbox world, incrementally, once; staging builds."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from ingestion.http.session import IngestionHTTPError
from ingestion.pipelines import SOURCES, load, make_pipeline
from ingestion.sources import hubspot
from ingestion.sources.hubspot import deal_row, search_modified
from sandbox.connect import sandbox_env
from sandbox.crm_world import PIPELINES
from sandbox.hubspot_api import DEMO_ACCESS_TOKEN
from sandbox.protocol import Request, iso_z
from sandbox.server import SandboxApp, SandboxServer
from sandbox.world import World, WorldConfig, build_world
from tests.helpers import dbt_build, environment, staging_columns

# A world where 20 more days change stages, owners and amounts of loaded deals, archive one and add
# contacts (asserted from the world itself below, so a change of the simulation cannot make it vacuous).
HUB_WORLD = WorldConfig(seed=3, scale=0.2, as_of=date(2026, 3, 31))
ADVANCE_DAYS = 20  # at least; longer when the world archives no loaded deal that soon (advance_days)


def advance_days(config: WorldConfig, after_days: int = 1) -> int:
    """ADVANCE_DAYS, or as many days as it takes (after the first ``after_days``) for the world to archive a
    deal that exists by then: the precondition is taken from the world, not assumed of it."""
    start = replace(config, as_of=config.as_of + timedelta(days=after_days))
    existing = {d.deal_id for d in build_world(start).crm.deals if not d.is_archived}
    later = build_world(replace(start, as_of=start.as_of + timedelta(days=365))).crm.deals
    archivals = sorted(d.archived_at for d in later if d.deal_id in existing and d.archived_at is not None)
    return max(ADVANCE_DAYS, (archivals[0].date() - start.as_of).days + 1) if archivals else ADVANCE_DAYS


NESTED = (
    "deals__stage_history",
    "deals__stage_dates",
    "deals__owner_history",
    "deals__amount_history",
    "deals__closedate_history",
    "deals__forecast_category_history",
    "deals__companies",
    "deals__contacts",
)
TABLES = (
    "deals",
    *NESTED,
    "contacts",
    "companies",
    "goal_targets",
    "owners",
    "owners__teams",
    "deal_pipelines",
    "deal_pipelines__stages",
    "deal_merges",
    "contact_merges",
)
# merged-away records keep their last-seen raw rows: what the world lists is raw less the ids in these tables
MERGES = {"deals": "deal_merges", "contacts": "contact_merges"}


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None


class RequestLog:
    """Counts what the sandbox serves (server side: retries and every client are included)."""

    def __init__(self, server: SandboxServer) -> None:
        self.seen: list[Seen] = []
        inner = server.app.dispatch

        def dispatch(req: Request) -> Any:
            if not req.path.startswith("/_sandbox/"):
                body = json.loads(req.body) if req.method == "POST" and req.body else None
                self.seen.append(Seen(req.method, req.path, dict(req.query), body))
            return inner(req)

        server.app.dispatch = dispatch  # type: ignore[method-assign]

    def take(self) -> list[Seen]:
        out, self.seen = self.seen, []
        return out


@contextmanager
def hub_server(config: WorldConfig) -> Iterator[tuple[SandboxServer, RequestLog]]:
    with SandboxServer(SandboxApp(config, rate_limits="off"), port=0) as server, environment(sandbox_env(server.url)):
        yield server, RequestLog(server)


def world_counts(world: World) -> dict[str, int]:
    crm = world.crm
    live = crm.active_deals
    return {
        "deals": len(crm.deals),  # archived ones included (flagged)
        "deals__stage_history": sum(len(d.stage_history) for d in crm.deals),
        "deals__stage_dates": sum(len({s for s, _ in d.stage_history}) for d in crm.deals),
        "deals__owner_history": sum(len(d.owner_history) for d in crm.deals),
        "deals__amount_history": sum(len(d.amount_history) for d in crm.deals),
        "deals__closedate_history": sum(len(d.closedate_history) for d in crm.deals),
        "deals__forecast_category_history": sum(len(d.forecast_history) for d in crm.deals),
        "deals__companies": sum(1 for d in live if d.company_id),  # an archived deal has no associations left
        "deals__contacts": sum(len(set(d.contact_ids)) for d in live),
        "contacts": len(crm.contacts),
        "companies": len(crm.companies),
        "goal_targets": len(crm.goal_targets),
        "owners": len(crm.owners),
        "owners__teams": sum(1 + (o.manager_id is not None) for o in crm.owners),
        "deal_pipelines": len(PIPELINES),
        "deal_pipelines__stages": sum(len(p.stages) for p in PIPELINES),
        "deal_merges": len(crm.deal_merges),
        "contact_merges": len(crm.contact_merges),
    }


def live(table: str) -> str:
    """raw_crm.<table> less the merged-away records (their last-seen rows, and the nested rows of a deal)."""
    root = table.split("__")[0]
    if root in MERGES:
        merged = f"(select id from raw_crm.{MERGES[root]})"
        if "__" not in table:
            return f"(select * from raw_crm.{table} where id not in {merged})"
        return (
            f"(select t.* from raw_crm.{table} t join raw_crm.deals p on p._dlt_id = t._dlt_parent_id "
            f"where p.id not in {merged})"
        )
    return f"raw_crm.{table}"


def raw_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: con.execute(f"select count(*) from {live(t)}").fetchone()[0] for t in TABLES}


def ms(at: datetime) -> str:
    return iso_z(at, millis=True)


def world_state(world: World) -> dict[str, Any]:
    """What the raw layer must hold, record by record, in comparable form."""
    crm = world.crm
    return {
        "deals": {
            d.deal_id: (
                d.stage,
                str(d.amount),
                d.currency,
                d.owner_id,
                d.is_archived,
                ms(d.archived_at) if d.archived_at else None,
            )
            for d in crm.deals
        },
        "stage_history": sorted(
            (d.deal_id, i, s, ms(at)) for d in crm.deals for i, (s, at) in enumerate(d.stage_history)
        ),
        "owner_history": sorted(
            (d.deal_id, i, o, ms(at)) for d in crm.deals for i, (o, at) in enumerate(d.owner_history)
        ),
        "amount_history": sorted(
            (d.deal_id, i, str(a), ms(at)) for d in crm.deals for i, (a, at) in enumerate(d.amount_history)
        ),
        "closedate_history": sorted(
            (d.deal_id, i, ms(v) if v else "", ms(at))
            for d in crm.deals
            for i, (v, at) in enumerate(d.closedate_history)
        ),
        "forecast_category_history": sorted(
            (d.deal_id, i, c, ms(at)) for d in crm.deals for i, (c, at) in enumerate(d.forecast_history)
        ),
        "deal_companies": sorted((d.deal_id, d.company_id) for d in crm.active_deals if d.company_id),
        "deal_contacts": sorted((d.deal_id, c) for d in crm.active_deals for c in set(d.contact_ids)),
        "contacts": {c.contact_id: (c.email, c.company_id, c.lifecyclestage, ms(c.updated_at)) for c in crm.contacts},
        "companies": {c.company_id: (c.name, c.lifecyclestage, ms(c.updated_at)) for c in crm.companies},
        "goal_targets": {g.goal_id: (g.owner_id, str(g.amount_usd), ms(g.start), ms(g.end)) for g in crm.goal_targets},
        "owner_teams": sorted((o.owner_id, o.territory) for o in crm.owners),
        "merges": sorted([*crm.deal_merges.items(), *crm.contact_merges.items()]),
        "stage_dates": sorted(
            (d.deal_id, s, ms(at)) for d in crm.deals for s, at in {s: at for s, at in d.stage_history}.items()
        ),
    }


def raw_state(path: Path) -> dict[str, Any]:
    def stamp(value: datetime | None) -> str | None:
        return ms(value.astimezone(UTC)) if value is not None else None

    with duckdb.connect(str(path), read_only=True) as con:
        q = lambda sql: con.execute(sql).fetchall()
        history = lambda table: sorted(
            (d, i, v, stamp(t))
            for d, i, v, t in q(
                f"select d.id, h._dlt_list_idx, h.value, h.timestamp from raw_crm.{table} h "
                f"join {live('deals')} d on d._dlt_id = h._dlt_parent_id"
            )
        )
        return {
            "deals": {
                r[0]: (r[1], r[2], r[3], r[4], bool(r[5]), stamp(r[6]))
                for r in q(
                    "select id, properties__dealstage, properties__amount, properties__deal_currency_code, "
                    f"properties__hubspot_owner_id, archived, archived_at from {live('deals')}"
                )
            },
            "stage_history": history("deals__stage_history"),
            "owner_history": history("deals__owner_history"),
            "amount_history": history("deals__amount_history"),
            "closedate_history": history("deals__closedate_history"),
            "forecast_category_history": history("deals__forecast_category_history"),
            "deal_companies": sorted(
                q(
                    "select d.id, a.id from raw_crm.deals__companies a "
                    f"join {live('deals')} d on d._dlt_id = a._dlt_parent_id"
                )
            ),
            "deal_contacts": sorted(
                q(
                    "select d.id, a.id from raw_crm.deals__contacts a "
                    f"join {live('deals')} d on d._dlt_id = a._dlt_parent_id"
                )
            ),
            "contacts": {
                r[0]: (r[1], r[2], r[3], stamp(r[4]))
                for r in q(
                    "select id, properties__email, properties__associatedcompanyid, properties__lifecyclestage, "
                    f"properties__lastmodifieddate from {live('contacts')}"
                )
            },
            "companies": {
                r[0]: (r[1], r[2], stamp(r[3]))
                for r in q(
                    "select id, properties__name, properties__lifecyclestage, properties__hs_lastmodifieddate "
                    "from raw_crm.companies"
                )
            },
            "goal_targets": {
                r[0]: (r[1], r[2], stamp(r[3]), stamp(r[4]))
                for r in q(
                    "select id, properties__hubspot_owner_id, properties__hs_target_amount, "
                    "properties__hs_start_datetime, properties__hs_end_datetime from raw_crm.goal_targets"
                )
            },
            "owner_teams": sorted(
                q(
                    "select o.id, t.name from raw_crm.owners__teams t "
                    "join raw_crm.owners o on o._dlt_id = t._dlt_parent_id where t.primary"
                )
            ),
            "merges": sorted(
                q(
                    "select id, merged_into_id from raw_crm.deal_merges union all "
                    "select id, merged_into_id from raw_crm.contact_merges"
                )
            ),
            "stage_dates": sorted(
                (d, s, stamp(t))
                for d, s, t in q(
                    "select d.id, s.stage_id, s.entered_at from raw_crm.deals__stage_dates s "
                    f"join {live('deals')} d on d._dlt_id = s._dlt_parent_id"
                )
            ),
        }


def assert_equals_world(path: Path, world: World) -> None:
    assert raw_counts(path) == world_counts(world)
    got, want = raw_state(path), world_state(world)
    for key in want:
        assert got[key] == want[key], f"raw_crm {key} differs from the world"


def assert_no_duplicates(path: Path) -> None:
    with duckdb.connect(str(path), read_only=True) as con:
        for table in ("deals", "contacts", "companies", "goal_targets", "owners", "deal_merges", "contact_merges"):
            assert con.execute(f"select count(*) - count(distinct id) from raw_crm.{table}").fetchone()[0] == 0, table
        for table in NESTED:
            dupes = con.execute(
                f"select count(*) - count(distinct (_dlt_parent_id, _dlt_list_idx)) from raw_crm.{table}"
            ).fetchone()[0]
            orphans = con.execute(
                f"select count(*) from raw_crm.{table} t where not exists "
                f"(select 1 from raw_crm.deals d where d._dlt_id = t._dlt_parent_id)"
            ).fetchone()[0]
            assert (dupes, orphans) == (0, 0), table


def deal_requests(seen: list[Seen]) -> dict[str, int]:
    """Requests for deals by kind: list pages, single reads (GET by id), batch reads, v4 association batch
    reads, searches."""
    out = {"list": 0, "read": 0, "batch": 0, "associations": 0, "search": 0}
    for s in seen:
        if s.path.rstrip("/") == "/crm/v3/objects/deals":
            out["list"] += 1
        elif s.path.startswith("/crm/v3/objects/deals/search"):
            out["search"] += 1
        elif s.path.startswith("/crm/v3/objects/deals/batch/read"):
            out["batch"] += 1
        elif s.path.startswith("/crm/v4/associations/deals/"):
            out["associations"] += 1
        elif s.path.startswith("/crm/v3/objects/deals/"):
            out["read"] += 1
    return out


# --- the raw layer of one world, loaded once and again ---


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SandboxServer, RequestLog, list[Seen]]]:
    path = tmp_path_factory.mktemp("hubspot") / "wh.duckdb"
    with hub_server(HUB_WORLD) as (server, log):
        load("crm", duckdb_path=path)
        yield path, server, log, log.take()


def test_source_is_registered_with_the_nested_tables_the_warehouse_reads() -> None:
    spec = SOURCES["crm"]
    assert spec.dataset == "raw_crm"
    assert set(spec.nested_tables) == {"owners__teams", *NESTED, "deal_pipelines__stages"}
    resources = set(spec.factory(**spec.placeholders).resources)
    assert resources == {
        "deals",
        "contacts",
        "companies",
        "goal_targets",
        "owners",
        "deal_pipelines",
        "deal_merges",
        "contact_merges",
        "company_merges",
    }


def test_raw_layer_equals_the_world(loaded: tuple[Path, SandboxServer, RequestLog, list[Seen]]) -> None:
    path, server, _, seen = loaded
    world = server.app.world
    crm = world.crm
    # the world is not trivial: archived deals, reopened deals, reassigned deals, quotas for every rep and month
    assert any(d.is_archived for d in crm.deals) and any(d.reopened for d in crm.deals)
    assert any(len(d.owner_history) > 1 for d in crm.deals)
    # a quota per rep for every month of the history (the world's own start, not a constant here)
    months = {(g.month_start.year, g.month_start.month) for g in crm.goal_targets}
    first, last = min(months), max(months)
    assert last == (HUB_WORLD.as_of.year, HUB_WORLD.as_of.month)
    assert len(months) == (last[0] - first[0]) * 12 + last[1] - first[1] + 1
    assert world_counts(world)["goal_targets"] == len(crm.reps) * len(months)
    assert_equals_world(path, world)
    assert_no_duplicates(path)
    with duckdb.connect(str(path), read_only=True) as con:
        archived = con.execute(
            "select count(*) from raw_crm.deals where archived and archived_at is not null"
        ).fetchone()
        # stage dates of every pipeline, lifted out of the properties (no hs_v2_* / hs_date_* column)
        stages = {r[0] for r in con.execute("select distinct stage_id from raw_crm.deals__stage_dates").fetchall()}
        columns = [r[0] for r in con.execute("describe raw_crm.deals").fetchall()]
    assert archived[0] == sum(d.is_archived for d in crm.deals)
    assert stages == {s for p in PIPELINES for s, _, _ in p.stages}
    assert not [c for c in columns if "date_entered" in c or "date_exited" in c]
    # a first load: the pipelines, then the list with history (50 a page, inline associations); no deal by itself
    kinds = deal_requests(seen)
    assert kinds["read"] == kinds["batch"] == kinds["associations"] == kinds["search"] == 0
    live_pages = math.ceil(sum(not d.is_archived for d in crm.deals) / hubspot.HISTORY_PAGE_SIZE)
    assert kinds["list"] == live_pages + math.ceil(max(sum(d.is_archived for d in crm.deals), 1) / 50)
    first_deals = next(i for i, s in enumerate(seen) if s.path.startswith("/crm/v3/objects/deals"))
    assert any(s.path == "/crm/v3/pipelines/deals" for s in seen[:first_deals])


def test_a_first_load_pages_the_list_with_history_as_it_is_never_more_requests() -> None:
    for n in (0, 1, 49, 50, 51, 100, 999, 1000, 1001, 5000, 123_456):
        costs = hubspot.first_load_costs(n)
        assert costs["list_with_history"] <= costs["list_then_batch"], n


def test_a_rerun_loads_nothing_twice_and_reads_only_the_lookback_window(
    loaded: tuple[Path, SandboxServer, RequestLog, list[Seen]],
) -> None:
    path, server, log, full = loaded
    world = server.app.world
    load("crm", duckdb_path=path)  # nothing changed
    rerun = log.take()
    rows = make_pipeline("crm", path).last_trace.last_normalize_info.row_counts
    assert rows.get("deals", 0) < len(world.crm.deals) and rows.get("contacts", 0) < len(world.crm.contacts)
    assert_equals_world(path, world)
    assert_no_duplicates(path)
    # incremental: searches and batch reads instead of paging every list; never a deal by itself
    assert deal_requests(full)["search"] == 0 and deal_requests(rerun)["list"] == 1  # the archived pass
    assert deal_requests(rerun)["read"] == 0
    assert len(rerun) * 2.5 < len(full), (len(rerun), len(full))
    assert all(s.path.endswith(("/search", "/batch/read")) for s in rerun if s.method == "POST")


def test_staging_models_build_and_pass_their_tests(
    loaded: tuple[Path, SandboxServer, RequestLog, list[Seen]], tmp_path: Path
) -> None:
    path, server, _, _ = loaded
    dbt_build(path, "staging.crm", tmp_path)
    with duckdb.connect(str(path), read_only=True) as con:
        deals = staging_columns(con, "stg_crm__deals")
        assert deals[:13] == [  # the original contract, unchanged
            ("deal_id", "VARCHAR"),
            ("deal_name", "VARCHAR"),
            ("pipeline", "VARCHAR"),
            ("deal_stage", "VARCHAR"),
            ("owner_id", "VARCHAR"),
            ("currency", "VARCHAR"),
            ("amount", "DECIMAL(18,2)"),
            ("created_at", "TIMESTAMP WITH TIME ZONE"),
            ("closed_at", "TIMESTAMP WITH TIME ZONE"),
            ("updated_at", "TIMESTAMP WITH TIME ZONE"),
            ("is_won", "BOOLEAN"),
            ("is_lost", "BOOLEAN"),
            ("is_archived", "BOOLEAN"),
        ]
        assert ("entered_closedwon_at", "TIMESTAMP WITH TIME ZONE") in deals and deals[-1] == ("dlt_id", "VARCHAR")
        assert staging_columns(con, "stg_crm__owners")[:7] == [
            ("owner_id", "VARCHAR"),
            ("first_name", "VARCHAR"),
            ("last_name", "VARCHAR"),
            ("email", "VARCHAR"),
            ("created_at", "TIMESTAMP WITH TIME ZONE"),
            ("is_archived", "BOOLEAN"),
            ("dlt_id", "VARCHAR"),
        ]
        assert staging_columns(con, "stg_crm__deal_stage_history") == [
            ("stage_entry_id", "VARCHAR"),
            ("deal_id", "VARCHAR"),
            ("entry_index", "BIGINT"),
            ("deal_stage", "VARCHAR"),
            ("entered_at", "TIMESTAMP WITH TIME ZONE"),
            ("source_type", "VARCHAR"),
            ("updated_by_user_id", "BIGINT"),
            ("deal_dlt_id", "VARCHAR"),
        ]
        assert staging_columns(con, "stg_crm__goal_targets")[:5] == [
            ("goal_target_id", "VARCHAR"),
            ("owner_id", "VARCHAR"),
            ("assignee_user_id", "BIGINT"),
            ("goal_name", "VARCHAR"),
            ("target_amount", "DECIMAL(18,2)"),
        ]
        staged = {
            m: con.execute(f"select count(*) from staging.{m}").fetchone()[0]
            for m in (
                "stg_crm__deals",
                "stg_crm__deal_stage_history",
                "stg_crm__deal_owner_history",
                "stg_crm__deal_amount_history",
                "stg_crm__deal_closedate_history",
                "stg_crm__deal_forecast_category_history",
                "stg_crm__deal_companies",
                "stg_crm__deal_contacts",
                "stg_crm__contacts",
                "stg_crm__companies",
                "stg_crm__goal_targets",
                "stg_crm__owners",
                "stg_crm__owner_teams",
                "stg_crm__deal_pipeline_stages",
                "stg_crm__deal_stage_dates",
                "stg_crm__merged_records",
            )
        }
        assert staging_columns(con, "stg_crm__deal_amount_history")[3:6] == [
            ("amount", "DECIMAL(18,2)"),
            ("currency", "VARCHAR"),
            ("valid_from", "TIMESTAMP WITH TIME ZONE"),
        ]
        assert staging_columns(con, "stg_crm__deal_closedate_history")[3:5] == [
            ("closes_at", "TIMESTAMP WITH TIME ZONE"),
            ("valid_from", "TIMESTAMP WITH TIME ZONE"),
        ]
        quota = con.execute("select sum(target_amount) from staging.stg_crm__goal_targets").fetchone()[0]
        # an open deal's closedate is its expected close date, not a close: closed_at stays null while open
        open_state = con.execute(
            "select count(*), count(closed_at), count(expected_close_at) from staging.stg_crm__deals where not is_closed"
        ).fetchone()
        history_amounts = dict(
            con.execute(
                "select deal_id, sum(amount) from staging.stg_crm__deal_amount_history group by deal_id"
            ).fetchall()
        )
    deals = server.app.world.crm.deals
    still_open = [d for d in deals if d.closed_at is None]
    assert open_state == (len(still_open), 0, sum(d.closedate is not None for d in still_open))
    assert history_amounts == {d.deal_id: sum(a for a, _ in d.amount_history) for d in deals}
    counts = world_counts(server.app.world)
    assert staged == {  # 1:1 with raw
        "stg_crm__deals": counts["deals"],
        "stg_crm__deal_stage_history": counts["deals__stage_history"],
        "stg_crm__deal_owner_history": counts["deals__owner_history"],
        "stg_crm__deal_amount_history": counts["deals__amount_history"],
        "stg_crm__deal_closedate_history": counts["deals__closedate_history"],
        "stg_crm__deal_forecast_category_history": counts["deals__forecast_category_history"],
        "stg_crm__deal_companies": counts["deals__companies"],
        "stg_crm__deal_contacts": counts["deals__contacts"],
        "stg_crm__contacts": counts["contacts"],
        "stg_crm__companies": counts["companies"],
        "stg_crm__goal_targets": counts["goal_targets"],
        "stg_crm__owners": counts["owners"],
        "stg_crm__owner_teams": counts["owners__teams"],
        "stg_crm__deal_pipeline_stages": counts["deal_pipelines__stages"],
        "stg_crm__deal_stage_dates": counts["deals__stage_dates"],
        "stg_crm__merged_records": counts["deal_merges"] + counts["contact_merges"],
    }
    assert quota == sum(g.amount_usd for g in server.app.world.crm.goal_targets)


# --- incremental: the world moves on ---


def test_advancing_the_world_brings_changes_archivals_and_new_records_incrementally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "wh.duckdb"
    with hub_server(HUB_WORLD) as (server, log):
        before = server.app.world
        load("crm", duckdb_path=path)
        full = log.take()
        assert_equals_world(path, before)

        # A small step: the few deals changed are read one by one (history and associations included).
        requests.post(f"{server.url}/_sandbox/advance", params={"days": 1}, timeout=60).raise_for_status()
        load("crm", duckdb_path=path)
        step = log.take()
        assert_equals_world(path, server.app.world)
        # the search window starts at the latest change loaded (the cursor) less the lookback (60 minutes)
        cursor = max(max(d.updated_at, d.archived_at or d.updated_at) for d in before.crm.deals)
        changed = {
            d.deal_id
            for d in server.app.world.crm.deals
            if not d.is_archived and d.updated_at >= cursor - timedelta(minutes=60)
        }
        # no deal read by itself: the changed ids in batch reads of 100, associations in v4 batches of 1,000
        kinds = deal_requests(step)
        assert kinds["read"] == 0 and kinds["list"] == 1 and len(changed) > 0
        assert kinds["batch"] == math.ceil(len(changed) / 100) and kinds["associations"] == 2
        batched = [
            i["id"] for s in step if s.path.endswith("/batch/read") and "/v3/" in s.path for i in s.body["inputs"]
        ]
        assert sorted(batched) == sorted(changed)
        assert len(step) < len(full) * 0.6, (len(step), len(full))

        # 20 more days: stage moves, reassignments, new amounts, an archival, new contacts
        old = server.app.world.crm
        requests.post(
            f"{server.url}/_sandbox/advance", params={"days": advance_days(HUB_WORLD)}, timeout=60
        ).raise_for_status()
        after = server.app.world
        crm = after.crm
        prev = old.deals_by_id
        moved = [d.deal_id for d in crm.deals if d.deal_id in prev and d.stage_history != prev[d.deal_id].stage_history]
        handed = [d.deal_id for d in crm.deals if d.deal_id in prev and d.owner_id != prev[d.deal_id].owner_id]
        repriced = [d.deal_id for d in crm.deals if d.deal_id in prev and d.amount != prev[d.deal_id].amount]
        archived = [
            d.deal_id for d in crm.deals if d.is_archived and d.deal_id in prev and not prev[d.deal_id].is_archived
        ]
        new_contacts = set(crm.contacts_by_id) - set(old.contacts_by_id)
        assert moved and handed and repriced and archived and new_contacts, "precondition: the world moved"

        load("crm", duckdb_path=path)
        advance = log.take()
        assert_equals_world(path, after)  # nothing lost, nothing stale
        assert_no_duplicates(path)
        with duckdb.connect(str(path), read_only=True) as con:
            flagged = {r[0] for r in con.execute("select id from raw_crm.deals where archived").fetchall()}
        assert set(archived) <= flagged
        rows = make_pipeline("crm", path).last_trace.last_normalize_info.row_counts
        assert rows["contacts"] < len(crm.contacts) and rows["companies"] < len(crm.companies)

        # many deals changed: paging the list (50 per page with history) beat reading them one by one
        pages = math.ceil(len(crm.active_deals) / hubspot.HISTORY_PAGE_SIZE)
        assert deal_requests(advance)["read"] == 0 and deal_requests(advance)["list"] <= pages + 1
        assert len(advance) < len(full), (len(advance), len(full))

        # A week more with searches capped at 7 results: the keyset windows still read everything.
        monkeypatch.setattr(hubspot, "SEARCH_MAX_RESULTS", 7)
        old = server.app.world.crm
        requests.post(f"{server.url}/_sandbox/advance", params={"days": 7}, timeout=60).raise_for_status()
        new_contacts = set(server.app.world.crm.contacts_by_id) - set(old.contacts_by_id)
        assert len(new_contacts) > 7, "precondition: more new contacts than one capped search returns"
        load("crm", duckdb_path=path)
        capped = [s for s in log.take() if s.path.endswith("/search")]
        assert_equals_world(path, server.app.world)
        assert_no_duplicates(path)
        assert all(int(s.body.get("after", 0)) + s.body["limit"] <= 7 for s in capped)
        assert sum(1 for s in capped if "/contacts/" in s.path) >= math.ceil(len(new_contacts) / 7)


# --- search windows ---


class FakeSearch:
    """HubSpot search over in-memory records: GTE filter, ascending sort (ties by id), after + limit capped."""

    def __init__(self, stamps: list[int], cap: int) -> None:
        self.records = [{"id": str(i), "properties": {"lastmodifieddate": str(s)}} for i, s in enumerate(stamps)]
        self.cap = cap
        self.bodies: list[dict[str, Any]] = []
        self.session = type("Session", (), {"source": "hubspot", "resource": "fake.search"})()

    def post(self, path: str, json: dict[str, Any]) -> Any:
        self.bodies.append(json)
        after, limit = int(json.get("after", 0)), json["limit"]
        if after + limit > self.cap:
            raise IngestionHTTPError(f"HTTP 400: cannot page beyond {self.cap} results")
        low = int(json["filterGroups"][0]["filters"][0]["value"])
        hits = sorted(
            (r for r in self.records if int(r["properties"]["lastmodifieddate"]) >= low),
            key=lambda r: (int(r["properties"]["lastmodifieddate"]), int(r["id"])),
        )
        body: dict[str, Any] = {"total": len(hits), "results": hits[after : after + limit]}
        if after + limit < len(hits):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return type("Response", (), {"json": lambda self: body})()


def _read(fake: FakeSearch) -> list[str]:
    since = datetime(1970, 1, 1, tzinfo=UTC)
    return [
        r["id"]
        for page in search_modified(fake, "contacts", "lastmodifieddate", since, ())  # type: ignore[arg-type]
        for r in page
    ]


def test_search_windows_never_page_past_the_cap_and_read_every_record(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hubspot, "SEARCH_MAX_RESULTS", 10)
    monkeypatch.setattr(hubspot, "SEARCH_PAGE_SIZE", 4)
    # 60 records, far past the cap of 10, with runs of equal timestamps (up to 9) across page boundaries
    stamps = sorted(1_000 + t for t, run in enumerate((1, 3, 9, 2, 1, 7, 4, 4, 1, 9, 5, 6, 8)) for _ in range(run))[:60]
    fake = FakeSearch(stamps, cap=10)
    assert sorted(_read(fake), key=int) == [r["id"] for r in fake.records]
    assert len(fake.bodies) > 60 / 4 and all(int(b.get("after", 0)) + b["limit"] <= 10 for b in fake.bodies)

    too_many = FakeSearch([5] * 3 + [7] * 11 + [9] * 2, cap=10)  # 11 records in one millisecond > cap
    with pytest.raises(IngestionHTTPError, match="cannot page past its result cap"):
        _read(too_many)


def test_search_windows_against_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hubspot, "SEARCH_MAX_RESULTS", 5)
    world = WorldConfig(seed=3, scale=0.02, as_of=date(2026, 3, 31))
    with hub_server(world) as (server, log):
        client = hubspot.rest_client(
            "hubspot", "contacts.search", server.url, headers={"Authorization": f"Bearer {DEMO_ACCESS_TOKEN}"}
        )
        since = min(c.created_at for c in server.app.world.crm.contacts)  # the CRM's import predates the history
        pages = list(search_modified(client, "contacts", "lastmodifieddate", since, ["email"]))
        ids = [r["id"] for p in pages for r in p]
        assert sorted(ids, key=int) == sorted(server.app.world.crm.contacts_by_id, key=int)
        assert all(len(p) <= 5 for p in pages)
        assert all(int(s.body.get("after", 0)) + s.body["limit"] <= 5 for s in log.take())


def test_deal_rows_lift_history_and_associations_into_nested_lists() -> None:
    record = {
        "id": "1",
        "properties": {"dealstage": "qualifiedtobuy"},
        "updatedAt": "2026-01-02T00:00:00.000Z",
        "propertiesWithHistory": {
            "dealstage": [
                {"value": "qualifiedtobuy", "timestamp": "2026-01-02T00:00:00.000Z", "sourceType": "CRM_UI"},
                {"value": "appointmentscheduled", "timestamp": "2026-01-01T00:00:00.000Z", "sourceType": "CRM_UI"},
            ]
        },
        "associations": {"companies": {"results": [{"id": "9", "type": "deal_to_company"}]}},
    }
    row = deal_row(record)
    assert [h["value"] for h in row["stage_history"]] == ["appointmentscheduled", "qualifiedtobuy"]
    assert row["owner_history"] == [] and row["contacts"] == []
    assert row["companies"] == [{"id": "9", "type": "deal_to_company"}]
    assert "propertiesWithHistory" not in row and "associations" not in row


# --- merges and extra properties ---

EXTRA = "deals:partner_referral,contract_term_months;contacts:preferred_channel"


def pending_merges(config: WorldConfig) -> tuple[list[str], list[str], int]:
    """Duplicates live at ``as_of`` that the world merges later (deals, contacts), and the days it takes until
    all of them are merged: the precondition is taken from the world."""
    now = build_world(config).crm
    later = build_world(replace(config, as_of=config.as_of + timedelta(days=90))).crm
    deals = [i for i in later.deal_merges if i in now.deals_by_id]
    contacts = [i for i in later.contact_merges if i in now.contacts_by_id]
    survivors = [later.deals_by_id[later.deal_merges[i]] for i in deals]
    people = [later.contacts_by_id[later.contact_merges[i]] for i in contacts]
    stamps = [at for d in survivors for _, at in d.merged] + [
        c.at for p in people for c in p.changes if c.name == "hs_merged_object_ids"
    ]
    return deals, contacts, (max(stamps).date() - config.as_of).days + 1 if stamps else 0


def test_a_merge_between_two_runs_counts_once_and_extra_properties_reach_staging(tmp_path: Path) -> None:
    deals, contacts, days = pending_merges(HUB_WORLD)
    assert deals and contacts, "precondition: a live duplicate deal and contact the world merges later"
    path = tmp_path / "wh.duckdb"
    with hub_server(HUB_WORLD) as (server, log), environment({"SOURCES__HUBSPOT__EXTRA_PROPERTIES": EXTRA}):
        load("crm", duckdb_path=path)
        assert_equals_world(path, server.app.world)
        with duckdb.connect(str(path), read_only=True) as con:
            loaded = {
                r[0]
                for r in con.execute(
                    "select id from raw_crm.deals union all select id from raw_crm.contacts"
                ).fetchall()
            }
        assert set(deals + contacts) <= loaded  # the duplicates are loaded as records of their own
        log.take()

        requests.post(f"{server.url}/_sandbox/advance", params={"days": days}, timeout=60).raise_for_status()
        world = server.app.world
        assert set(deals) <= set(world.crm.deal_merges) and set(contacts) <= set(world.crm.contact_merges)
        load("crm", duckdb_path=path)
        assert deal_requests(log.take())["read"] == 0
        assert_equals_world(path, world)  # raw less the merged-away rows equals the world; merges tables too
        assert_no_duplicates(path)
        load("crm", duckdb_path=path)  # a re-run changes nothing
        assert_equals_world(path, world)
        assert_no_duplicates(path)
        with duckdb.connect(str(path), read_only=True) as con:
            kept = {
                r[0]
                for r in con.execute(
                    "select id from raw_crm.deals union all select id from raw_crm.contacts"
                ).fetchall()
            }
        assert set(deals + contacts) <= kept  # nothing silently lost: the merged-away rows stay traceable in raw

        dbt_build(path, "staging.crm", tmp_path)
    crm = world.crm
    with duckdb.connect(str(path), read_only=True) as con:
        staged_deals = {
            r[0]: (r[1], r[2])
            for r in con.execute(
                "select deal_id, partner_referral, contract_term_months from staging.stg_crm__deals"
            ).fetchall()
        }
        staged_contacts = dict(
            con.execute("select contact_id, preferred_channel from staging.stg_crm__contacts").fetchall()
        )
        merged = set(
            con.execute("select object_type, merged_id, merged_into_id from staging.stg_crm__merged_records").fetchall()
        )
        bookings = dict(
            con.execute(
                "select currency, sum(amount) from staging.stg_crm__deals where is_won and not is_archived group by 1"
            ).fetchall()
        )
        survivors = dict(
            con.execute(
                "select deal_id, merged_object_ids from staging.stg_crm__deals where merged_object_ids is not null"
            ).fetchall()
        )
        stage_dates = con.execute("select count(*) from staging.stg_crm__deal_stage_dates").fetchone()[0]

    # each merged group counts once: staging holds exactly the world's records, the survivors with their custom values
    def text(value: Any) -> str | None:  # as HubSpot writes a property value
        return None if value is None else str(value).lower()

    assert staged_deals == {
        d.deal_id: (text(d.custom.get("partner_referral")), text(d.custom.get("contract_term_months")))
        for d in crm.deals
    }
    assert sum(v != (None, None) for v in staged_deals.values()) > len(crm.deals) * 0.9
    assert staged_contacts == {c.contact_id: c.value("preferred_channel") for c in crm.contacts}
    assert merged == {("deal", k, v) for k, v in crm.deal_merges.items()} | {
        ("contact", k, v) for k, v in crm.contact_merges.items()
    }
    assert survivors == {d.deal_id: d.merged_object_ids for d in crm.deals if d.merged}
    # B2B bookings (won in either pipeline, not archived) equal the world's, per currency
    want: dict[str, Any] = {}
    for d in crm.deals:
        if d.is_won and not d.is_archived:
            want[d.currency] = want.get(d.currency, 0) + d.amount
    assert bookings == want and any(d.is_won and d.pipeline != "default" for d in crm.deals)
    assert stage_dates == sum(len({s for s, _ in d.stage_history}) for d in crm.deals)


def test_extra_properties_setting_forms() -> None:
    from ingestion.sources.hubspot.settings import parse_extra_properties

    assert parse_extra_properties(EXTRA) == {
        "deals": ("partner_referral", "contract_term_months"),
        "contacts": ("preferred_channel",),
    }
    assert parse_extra_properties('{"deals": ["a", "a", " b "]}') == {"deals": ("a", "b")}
    assert parse_extra_properties({"companies": "x,y"}) == {"companies": ("x", "y")}
    assert parse_extra_properties(None) == parse_extra_properties("") == {}
    with pytest.raises(ValueError, match="unknown object"):
        parse_extra_properties("tickets:a")
