"""The Dagster UI (`salesdw ui`) on a materialized warehouse, driven in headless Debian Chromium.

One module-scoped world: the main job runs into a temporary warehouse and a temporary DAGSTER_HOME, then
`salesdw ui` serves that instance and Playwright drives /usr/bin/chromium (never a downloaded browser) through
the global asset lineage and finance/monthly_revenue's overview and checks pages. The assertions compare what
the pages show with the Definitions and the run that just happened; screenshots go to $SALESDW_SCREENSHOT_DIR
(or a pytest tmp dir).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from dagster import AssetCheckKey, AssetKey, AssetSelection, DagsterInstance
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from cli.main import prepare_dagster_home
from core.settings import settings
from orchestration.runner import run_main_job
from sandbox.server import SandboxServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1600, "height": 1000}  # CSS pixels; screenshots at device scale 2
WIDE_VIEWPORT = {"width": 2400, "height": 1500}
FINANCE_ASSET = AssetKey(["finance", "monthly_revenue"])
# raw → staging → intermediate → marts → finance: every asset on the paths from one raw table to the two
# revenue marts (the whole graph has ~90 assets and is unreadable in one screenshot).
LINEAGE_SELECTION = (
    'key:"raw_shopify/orders"+ and +(key:"finance/monthly_revenue" or key:"marts/channel_revenue_daily")'
)
UI_START_TIMEOUT_S = 240
MS = 1000


@dataclass(frozen=True)
class Deployment:
    """What the UI should show: the run's id, its check results and the asset graph it materialized."""

    run_id: str
    checks: dict[AssetCheckKey, bool]
    materialized: frozenset[AssetKey]
    groups: dict[str, frozenset[AssetKey]]
    lineage: frozenset[AssetKey]


# groups no main job materializes: the monthly report is built after a month close, by a job of its own
AFTER_THE_MONTH_CLOSE = {"reports"}


def _group_assets() -> tuple[dict[str, frozenset[AssetKey]], frozenset[AssetKey]]:
    from orchestration.definitions import load_definitions

    graph = load_definitions().resolve_asset_graph()
    groups: dict[str, set[AssetKey]] = {}
    for key in graph.get_all_asset_keys():
        groups.setdefault(graph.get(key).group_name, set()).add(key)
    lineage = AssetSelection.from_string(LINEAGE_SELECTION).resolve(graph)
    return {g: frozenset(keys) for g, keys in groups.items()}, frozenset(lineage)


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's chromium; missing: skip, or fail when SALESDW_REQUIRE_BROWSER=1 (CI)."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        message = f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the UI test"
        if settings().require_browser:
            pytest.fail(message + " (SALESDW_REQUIRE_BROWSER=1)")
        pytest.skip(message)
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(url: str, query: str) -> dict:
    response = requests.post(f"{url}/graphql", json={"query": query}, timeout=30)
    response.raise_for_status()
    return response.json()["data"]


def _wait_until_served(url: str, process: subprocess.Popen, log: Path) -> None:
    """The webserver answers and the project's code location has loaded."""
    deadline = time.monotonic() + UI_START_TIMEOUT_S
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    while time.monotonic() < deadline:
        assert process.poll() is None, f"salesdw ui exited with {process.returncode}:\n{log.read_text()[-3000:]}"
        try:
            entries = _graphql(url, query)["workspaceOrError"]["locationEntries"]
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return
        except (requests.RequestException, KeyError, TypeError):
            pass
        time.sleep(1)
    raise AssertionError(f"salesdw ui did not serve {url} within {UI_START_TIMEOUT_S}s:\n{log.read_text()[-3000:]}")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop_group(process: subprocess.Popen) -> bool:
    """Ctrl-C to dagster dev and its children (webserver, daemon, code servers: one process group), then kill;
    whether the whole group is gone."""
    for sig, wait_s in ((signal.SIGINT, 30), (signal.SIGKILL, 10)):
        if not _group_alive(process.pid):
            return True
        os.killpg(process.pid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and _group_alive(process.pid):
            process.poll()  # reap dagster dev itself
            time.sleep(0.5)
    return not _group_alive(process.pid)


@dataclass(frozen=True)
class UiServer:
    url: str
    process: subprocess.Popen
    log: Path


@pytest.fixture(scope="module")
def ui_server(chromium: Path, warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """`salesdw ui` on a free port, serving this module's DAGSTER_HOME and warehouse (from the environment).

    Started before the main job runs, as a user keeps the UI open during `salesdw run`: it loads meanwhile."""
    prepare_dagster_home()
    from orchestration.definitions import load_definitions

    load_definitions()  # prepares the dbt manifest here, not also in the UI's code server

    port = _free_port()
    log = tmp_path_factory.mktemp("ui") / "salesdw_ui.log"
    salesdw = Path(sys.executable).parent / "salesdw"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(salesdw), "ui", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
            start_new_session=True,
        )
    try:
        yield UiServer(f"http://127.0.0.1:{port}", process, log)
    finally:
        stopped = _stop_group(process)
    assert stopped, f"processes of salesdw ui (process group {process.pid}) outlived SIGKILL"


@pytest.fixture(scope="module")
def deployment(ui_server: UiServer, sandbox: SandboxServer) -> Deployment:
    """The main job, recorded in the (temporary) DAGSTER_HOME the UI serves."""
    groups, lineage = _group_assets()
    with DagsterInstance.get() as instance:
        outcome = run_main_job(instance, log_level="WARNING")
        assert outcome.success, [e.message for e in outcome.result.all_events if e.event_type_value == "STEP_FAILURE"]
        assert not outcome.failed_checks, outcome.failed_checks
        keys = [k for keys in groups.values() for k in keys]
        latest = instance.get_latest_materialization_events(keys)
    checks = {AssetCheckKey(AssetKey.from_user_string(a), c): passed for a, c, passed in outcome.checks}
    return Deployment(outcome.result.run_id, checks, frozenset(k for k, e in latest.items() if e), groups, lineage)


@pytest.fixture(scope="module")
def ui_url(ui_server: UiServer, deployment: Deployment) -> str:
    """The UI's address, once it serves the project (after the run)."""
    _wait_until_served(ui_server.url, ui_server.process, ui_server.log)
    return ui_server.url


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = settings().screenshot_dir
    path = Path(configured).resolve() if configured else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser(chromium: Path, ui_url: str) -> Iterator[Browser]:
    """Headless Debian Chromium (fresh temporary profile), after the first visit's community dialog is dismissed."""
    expect.set_options(timeout=60 * MS)  # statuses load after the page; a loaded 2-core machine is slow
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            assert _graphql(ui_url, "{ shouldShowNux }")["shouldShowNux"], "a fresh DAGSTER_HOME shows the dialog"
            page = browser.new_page()
            page.goto(f"{ui_url}/asset-groups")
            dialog = page.get_by_role("dialog").filter(has_text="Join the Dagster community")
            expect(dialog).to_be_visible()
            dialog.get_by_role("button", name="Skip").click()
            expect(dialog).to_be_hidden()
            page.close()
            assert not _graphql(ui_url, "{ shouldShowNux }")["shouldShowNux"]  # the instance remembers it
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in its own browser context (no layout state from other tests), rendered at device scale 2."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=2)
    context.set_default_timeout(60 * MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def _save(page: Page, path: Path) -> Path:
    page.mouse.move(0, VIEWPORT["height"] - 1)  # no hover tooltip in the picture
    page.wait_for_timeout(300)
    page.screenshot(path=str(path))
    width, height = _png_size(path)
    assert (width, height) == (VIEWPORT["width"] * 2, VIEWPORT["height"] * 2), (width, height)
    assert path.stat().st_size > 50_000, f"{path} is {path.stat().st_size} bytes: blank?"
    print(f"screenshot: {path}")
    return path


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def _shown_as(label: str, name: str) -> bool:
    """The graph middle-truncates long names to fit a node: 'channel_rev…_daily'."""
    if "…" not in label:
        return label == name
    head, tail = label.split("…", 1)
    return len(name) > len(head) + len(tail) and name.startswith(head) and name.endswith(tail)


def _one_node_each(labels: list[str], names: list[str]) -> bool:
    """Whether labels and names pair up one to one (a truncated label may fit several names)."""
    owner: dict[int, int] = {}  # name index -> label index

    def assign(i: int, seen: set[int]) -> bool:
        for j, name in enumerate(names):
            if j not in seen and _shown_as(labels[i], name):
                seen.add(j)
                if j not in owner or assign(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return len(labels) == len(names) and all(assign(i, set()) for i in range(len(labels)))


def _group_node(page: Page, group: str) -> Locator:
    return page.locator("foreignObject.group > div").filter(has=page.locator(f'[data-tooltip="{group}"]'))


def _status_count(node: Locator, colour: str) -> int:
    """The number on a collapsed group's status tag of this colour (green: materialized, yellow: never)."""
    dot = node.page.locator(f'[aria-label="dot_filled"][style*="accent-{colour}"]')
    tag = node.locator("span[data-state]").filter(has=dot)
    return int(tag.inner_text()) if tag.count() else 0


def _zoom_out_until_in_view(page: Page, elements: list[Locator]) -> None:
    """Zoom out (the graph's own button) until every element is inside the canvas, below the search bar."""
    top = page.locator(".CodeMirror").first.bounding_box()
    right = page.locator("button:has([aria-label=zoom_out])").bounding_box()
    assert top and right
    for _ in range(5):
        boxes = [e.bounding_box() for e in elements]
        if all(
            b
            and b["y"] > top["y"] + top["height"]
            and b["x"] > 0
            and b["x"] + b["width"] < right["x"]
            and b["y"] + b["height"] < VIEWPORT["height"]
            for b in boxes
        ):
            return
        page.locator("button:has([aria-label=zoom_out])").click()
        page.wait_for_timeout(500)
    raise AssertionError("the lineage does not fit in the window")


def test_asset_graph_shows_every_group_and_the_lineage_from_raw_to_finance(
    page: Page, ui_url: str, deployment: Deployment, screenshots: Path
) -> None:
    # The global lineage: one collapsed node per group, with how many of its assets the run materialized
    # (a group node shows its counts above a zoom level: a wider window while asserting them).
    page.set_viewport_size(WIDE_VIEWPORT)
    page.goto(f"{ui_url}/asset-groups")
    for group in deployment.groups:
        expect(_group_node(page, group)).to_be_visible()
    expect(page.get_by_text("fetching statuses")).to_have_count(0)
    assert len(deployment.groups) >= 10 and {"staging", "intermediate", "marts", "finance"} <= set(deployment.groups)
    for group, keys in deployment.groups.items():
        if group in AFTER_THE_MONTH_CLOSE:
            continue
        node = _group_node(page, group)
        done = len(keys & deployment.materialized)
        assert done, f"the run materialized nothing in {group}"
        assert (_status_count(node, "green"), _status_count(node, "yellow")) == (done, len(keys) - done), (
            group,
            node.text_content(),
        )

    # One lineage through every layer, groups expanded (right-click on the background: "Expand all groups"),
    # in the whole window (navigation and asset tree hidden); entering the selection fits the graph to it.
    page.mouse.click(WIDE_VIEWPORT["width"] - 150, WIDE_VIEWPORT["height"] - 40, button="right")
    page.get_by_role("menuitem", name="Expand all groups").click()
    page.set_viewport_size(VIEWPORT)
    page.get_by_role("button", name="Hide navigation").click()
    page.locator('button:has([aria-label="panel_show_right"])').click()
    page.locator(".CodeMirror").first.click()
    page.keyboard.type(LINEAGE_SELECTION)
    page.keyboard.press("Enter")
    nodes = page.locator('foreignObject [class*="AssetNode_assetName"]')
    # the graph draws only the nodes inside the canvas: zoom out until the whole lineage is drawn
    for _ in range(5):
        page.wait_for_timeout(1000)
        if nodes.count() >= len(deployment.lineage):
            break
        page.locator("button:has([aria-label=zoom_out])").click()
    expect(nodes).to_have_count(len(deployment.lineage))
    labels = [t.strip() for t in nodes.all_inner_texts()]
    names = [k.path[-1] for k in deployment.lineage]
    assert _one_node_each(labels, names), (sorted(labels), sorted(names))
    for key in (
        AssetKey(["raw_shopify", "orders"]),
        AssetKey(["staging", "stg_shopify__orders"]),
        FINANCE_ASSET,
        AssetKey(["marts", "channel_revenue_daily"]),
    ):
        assert key in deployment.lineage and key in deployment.materialized, key
    assert "monthly_revenue" in labels
    # every node on the lineage is drawn materialized: green when zoomed out, a "Materialized" row when close
    green = page.locator('[style*="--minimal-bg: var(--color-background-green)"]')
    materialized_row = page.locator('[class*="AssetNode_assetNodeBox"]').filter(has_text="Materialized")
    expect(green.or_(materialized_row)).to_have_count(len(deployment.lineage))
    layers = {g for g, keys in deployment.groups.items() if keys & deployment.lineage}
    assert {"ingestion_shopify", "staging", "intermediate", "marts", "finance"} <= layers
    headers = page.locator('[class*="ExpandedGroupNode_groupNodeHeader"]')
    for group in layers:
        expect(headers.locator(f'[data-tooltip="{group}"]')).to_be_visible()
    _zoom_out_until_in_view(page, [*nodes.all(), *headers.all()])
    _save(page, screenshots / "asset_graph.png")


def test_finance_asset_page_shows_the_runs_materialization(
    page: Page, ui_url: str, deployment: Deployment, screenshots: Path
) -> None:
    page.goto(f"{ui_url}/assets/{FINANCE_ASSET.to_user_string()}")
    expect(page.get_by_role("tab", name="Overview")).to_be_visible()
    expect(page.get_by_text("Latest materialization")).to_be_visible()
    run_link = page.locator(f'a[href^="/runs/{deployment.run_id}"]').first
    expect(run_link).to_be_visible()
    expect(run_link).to_contain_text("ago")
    checks = [k for k in deployment.checks if k.asset_key == FINANCE_ASSET]
    latest_checks = page.get_by_text("Latest check results", exact=True).locator("xpath=..")
    expect(latest_checks).to_have_text(re.compile(rf"Latest check results\s*{len(checks)}\s*$"))
    expect(latest_checks.locator('[aria-label="check_circle"][style*="accent-green"]')).to_be_visible()
    expect(page.get_by_text("warehouse.finance.monthly_revenue").first).to_be_visible()
    for column in ("revenue_month", "channel", "net_sales_usd", "net_revenue_usd", "period_status", "closed_at"):
        expect(page.get_by_role("cell", name=column, exact=True).first).to_be_attached()
    expect(page.get_by_text("Grain: one row per revenue month × channel")).to_be_visible()
    _save(page, screenshots / "finance_monthly_revenue.png")


def test_finance_asset_checks_tab_lists_every_check_passed(
    page: Page, ui_url: str, deployment: Deployment, screenshots: Path
) -> None:
    from orchestration.definitions import load_definitions

    defined = {k for k in load_definitions().resolve_asset_graph().asset_check_keys if k.asset_key == FINANCE_ASSET}
    assert len(defined) >= 5 and {k for k in deployment.checks if k.asset_key == FINANCE_ASSET} == defined
    assert all(deployment.checks[k] for k in defined)

    page.goto(f"{ui_url}/assets/{FINANCE_ASSET.to_user_string()}")
    page.get_by_role("tab", name="Checks").click()
    expect(page.get_by_text(f"Checks ({len(defined)})", exact=True)).to_be_visible()
    for key in sorted(defined, key=lambda k: k.name):
        row_name = page.locator(f'[title="{key.name}"]')
        expect(row_name.locator("xpath=following-sibling::span[1]")).to_have_text("Succeeded")
        row_name.click()
        header = page.locator('div:has(> [aria-label="asset_check"])')  # the selected check's title
        expect(header.get_by_text(key.name, exact=True)).to_be_visible()
        detail = page.get_by_text("Evaluation result", exact=True).locator("xpath=..")
        expect(detail).to_contain_text("Passed")
        expect(page.get_by_text("Target materialization", exact=True)).to_be_visible()
    expect(page.locator(f'a[href^="/runs/{deployment.run_id}"]').first).to_be_attached()
    page.locator(f'[title="{min(defined, key=lambda k: k.name).name}"]').click()
    expect(page.get_by_text("This is a blocking asset check.")).to_be_visible()
    _save(page, screenshots / "finance_monthly_revenue_checks.png")
