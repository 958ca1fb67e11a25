"""The monthly sales report (report/, `salesdw report`): every figure of its data object equals SQL over the
marts written here independently; the HTML renders in headless Debian Chromium without console errors; the
PDF's pages rasterize and its first page carries the month and the headline figures; an open month is marked
provisional, a month without data is a clear error (exit 2)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cli.main import main
from core.warehouse import Warehouse, connect
from report.build import write_report
from report.data import NoDataError, ReportData, add_months, build_report_data
from report.render import money
from tests.test_ui import CHROMIUM, CHROMIUM_ARGS

READS_SHARED_BUILD = True


def _d(v: object) -> Decimal | None:
    return None if v is None else Decimal(str(v))


@pytest.fixture(scope="module")
def con(warehouse: Path) -> Warehouse:
    with connect(warehouse) as c:
        yield c


@pytest.fixture(scope="module")
def month(con: Warehouse) -> date:
    """The last closed month of the test world."""
    return con.scalar("select max(revenue_month) from finance.period_closes")


@pytest.fixture(scope="module")
def built(con: Warehouse, month: date, tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportData, list[Path]]:
    return write_report(con, month, tmp_path_factory.mktemp("report"))


def test_every_figure_equals_sql_over_the_marts(
    con: Warehouse, month: date, built: tuple[ReportData, list[Path]]
) -> None:
    data = built[0]
    assert data.period_status == "closed" and not data.provisional
    prev, ly = add_months(month, -1), add_months(month, -12)

    def rev(col: str, m: date) -> Decimal | None:
        return _d(con.scalar(f"select sum({col}) from finance.monthly_revenue where revenue_month = ?", [m]))

    expected = {
        "Net revenue": ("net_revenue_usd", "finance.monthly_revenue", "revenue_month"),
        "Gross margin": ("gross_margin_usd", "finance.monthly_revenue", "revenue_month"),
        "Orders": ("orders", "finance.monthly_revenue", "revenue_month"),
        "New customers": ("new_customers", "marts.channel_kpis_monthly", "month_start"),
        "B2B bookings": ("bookings_usd", "marts.rep_performance_monthly", "month_start"),
    }
    for name, (col, table, mcol) in expected.items():
        fig = data.figure(name)
        for got, m in ((fig.value, month), (fig.previous, prev), (fig.last_year, ly)):
            want = _d(con.scalar(f"select sum({col}) from {table} where {mcol} = ?", [m]))
            assert got == want, (name, m, got, want)
    assert data.figure("Net revenue").value is not None and data.figure("Net revenue").value > 0
    plan = con.scalar(
        "select sum(plan_net_revenue_usd) from finance.plan_vs_actual_monthly where revenue_month = ? and is_latest_version",
        [month],
    )
    assert data.figure("Net revenue").plan == _d(plan)
    quota = con.scalar("select sum(quota_usd) from marts.rep_performance_monthly where month_start = ?", [month])
    assert data.figure("B2B bookings").plan == _d(quota)
    for absent in ("Gross margin", "Orders", "New customers"):
        assert data.figure(absent).plan is None  # no plan for these: "not available", not 0

    # the 13 months of net revenue by channel
    rows = con.rows(
        "select revenue_month, channel, sum(net_revenue_usd) from finance.monthly_revenue "
        "where revenue_month > ? and revenue_month <= ? group by 1, 2",
        [add_months(month, -13), month],
    )
    assert {(c.month, c.channel): c.net_revenue_usd for c in data.channel_revenue} == {
        (m, ch): _d(v) for m, ch, v in rows
    }
    assert len({c.month for c in data.channel_revenue}) == 13

    # bridge: gross - discounts - refunds - fees + adjustments = net revenue; net - COGS = contribution
    b = {s.label: s.amount_usd for s in data.bridge}
    assert b["Gross sales"] == rev("gross_sales_usd", month)
    assert b["Discounts"] == -rev("discounts_usd", month)
    assert b["Refunds"] == -rev("refunds_usd", month)
    assert b["Marketplace fees"] == -rev("marketplace_fees_usd", month)
    assert b["COGS"] == -rev("cogs_usd", month)
    assert b["Contribution"] == rev("net_revenue_usd", month) - rev("cogs_usd", month)
    assert b["Net revenue"] == rev("net_revenue_usd", month)
    steps = sum((b[k] for k in ("Gross sales", "Discounts", "Refunds", "Marketplace fees", "Adjustments")), Decimal(0))
    assert steps == b["Net revenue"]

    # forecast: the next three months, summed over channels
    made = con.scalar(
        "select max(forecast_month) from marts.forecast_monthly where forecast_level = 'channel' and method = 'model' "
        "and forecast_month <= ? and target_month > ?",
        [add_months(month, 1), month],
    )
    fc = con.rows(
        "select target_month, sum(forecast_usd), sum(lower_usd), sum(upper_usd) from marts.forecast_monthly "
        "where forecast_level = 'channel' and method = 'model' and forecast_month = ? and target_month > ? "
        "and target_month <= ? group by 1 order by 1",
        [made, month, add_months(month, 3)],
    )
    assert [(p.month, p.forecast_usd, p.lower_usd, p.upper_usd) for p in data.forecast] == [
        (m, _d(f), _d(lo), _d(hi)) for m, f, lo, hi in fc
    ]
    assert data.forecast and all(p.lower_usd is not None for p in data.forecast)

    # funnel
    funnel = con.rows(
        "select stage_label, deals_entered, conversion_to_next from marts.sales_funnel_monthly where cohort_month = ?",
        [month],
    )
    assert sorted((s.stage, s.deals_entered, s.conversion_to_next) for s in data.funnel) == sorted(
        (s, int(e), _d(c)) for s, e, c in funnel
    )
    if data.funnel_leakiest:
        assert data.funnel_leakiest.conversion_to_next == min(_d(c) for _, e, c in funnel if c is not None and e)

    # reps, with territory subtotals
    reps = con.rows(
        "select rep_name, bookings_usd, commission_usd, pipeline_coverage from marts.rep_performance_monthly "
        "where month_start = ?",
        [month],
    )
    assert sorted((r.rep_name, r.bookings_usd, r.commission_usd, r.pipeline_coverage) for r in data.reps) == sorted(
        (n, _d(b), _d(c), _d(p)) for n, b, c, p in reps
    )
    terr = con.rows(
        "select coalesce(territory, 'unassigned'), sum(quota_usd), sum(bookings_usd) from marts.rep_performance_monthly "
        "where month_start = ? group by 1",
        [month],
    )
    assert {t.territory: (t.quota_usd, t.bookings_usd) for t in data.territories} == {
        t: (_d(q), _d(b)) for t, q, b in terr
    }

    # marketing per channel
    kpis = con.rows(
        "select channel, spend_usd, conversion_rate, cac_usd, roas from marts.channel_kpis_monthly where month_start = ?",
        [month],
    )
    assert {(m.channel, m.spend_usd, m.conversion_rate, m.cac_usd, m.roas) for m in data.marketing} == {
        (c, _d(s), _d(cr), _d(cac), _d(r)) for c, s, cr, cac, r in kpis
    }

    # retention of the month's cohorts: active / cohort customers, all channels
    ret = con.rows(
        "select cohort_month, months_since_first_order, active_customers, cohort_customers "
        "from marts.customer_cohorts_monthly where channel = 'all' and cohort_month > ? and cohort_month <= ? "
        "and activity_month <= ? and months_since_first_order <= 3",
        [add_months(month, -6), month, month],
    )
    got = {(r.cohort_month, k): v for r in data.retention for k, v in r.retention.items()}
    assert got == {(c, int(k)): Decimal(int(a)) / Decimal(int(n)) for c, k, a, n in ret if n}

    # adjustments booked this month to closed months
    adj = con.rows(
        "select original_month, channel, sum(amount_usd) from finance.revenue_adjustments "
        "where booked_month = ? and original_month < ? group by 1, 2",
        [month, month],
    )
    assert sorted((a.original_month, a.channel, a.amount_usd) for a in data.adjustments) == sorted(
        (o, c, _d(a)) for o, c, a in adj
    )


def test_html_renders_in_headless_chromium_without_console_errors(
    built: tuple[ReportData, list[Path]], tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    html = next(f for f in built[1] if f.suffix == ".html")
    text = html.read_text()
    assert "<script" not in text and "http://" not in text.replace("http://www.w3.org", "")  # self-contained
    messages: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 1200})
            page.on(
                "console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
            )
            page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
            page.on(
                "request",
                lambda r: messages.append(f"request: {r.url}") if not r.url.startswith(("file:", "data:")) else None,
            )
            page.goto(html.as_uri())
            assert page.locator("svg").count() >= 2  # the channel and bridge charts
            assert page.locator("table").count() >= 5  # tables as text
            headline = page.locator("#headline").inner_text()
            shot = tmp_path / "report_page1.png"
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    assert messages == []
    assert money(built[0].figure("Net revenue").value) in headline
    assert shot.stat().st_size > 30_000


def test_pdf_pages_rasterize_and_page_one_carries_the_month_and_headline(
    built: tuple[ReportData, list[Path]], tmp_path: Path
) -> None:
    if not shutil.which("pdftoppm"):
        pytest.skip("poppler-utils not installed")
    data, files = built
    pdf = next(f for f in files if f.suffix == ".pdf")
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) >= 2 and all(p.stat().st_size > 2_000 for p in pages)
    first = subprocess.run(["pdftotext", "-l", "1", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert f"{data.month:%Y-%m}" in first
    for c in data.headline:
        shown = money(c.value) if c.kind == "money" else f"{int(c.value):,}"  # type: ignore[arg-type]
        assert shown in first, (c.name, shown)
    assert "PROVISIONAL" not in first


def test_an_open_month_is_marked_provisional_on_page_one(warehouse: Path, month: date, tmp_path: Path) -> None:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy2(warehouse, copy)
    with connect(copy, read_only=False) as c:
        c.execute(
            "update finance.monthly_revenue set period_status = 'open', closed_at = null where revenue_month = ?",
            [month],
        )
    with connect(copy) as c:
        data, files = write_report(c, month, tmp_path / "out", ("html",))
    assert data.provisional
    html = files[0].read_text()
    assert html.index("PROVISIONAL") < html.index('id="headline"')


def test_a_month_without_data_is_a_clear_error(
    con: Warehouse, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(NoDataError, match="no revenue data for 2019-01"):
        build_report_data(con, date(2019, 1, 1))
    assert main(["report", "--month", "2019-01", "--out", str(tmp_path), "--target", "duckdb"]) == 2
    err = capsys.readouterr().err
    assert "no revenue data for 2019-01" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_a_bad_month_or_format_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--month", "May 2026"]) == 2
    assert "--month must be YYYY-MM" in capsys.readouterr().err
    assert main(["report", "--month", "2026-05", "--format", "docx"]) == 2


def test_the_report_asset_runs_after_the_close_not_in_the_main_jobs() -> None:
    from orchestration.assets.monthly_report import REPORT_KEY
    from orchestration.definitions import load_definitions

    defs = load_definitions()

    for job in ("salesdw_main", "salesdw_orders_daily", "salesdw_revenue", "finance_month_close", "salesdw_transform"):
        assert REPORT_KEY not in defs.resolve_job_def(job).asset_layer.selected_asset_keys, job
    assert REPORT_KEY in defs.resolve_job_def("monthly_sales_report").asset_layer.selected_asset_keys


def test_the_asset_writes_the_report_with_the_instances_check_status(shared_build, month: date) -> None:
    """Materialized on the instance that recorded the build's checks: the report says how many passed / failed."""
    from dagster import materialize

    from orchestration.assets.monthly_report import monthly_sales_report
    from report.data import check_status_from_instance

    status = check_status_from_instance(shared_build.instance)
    checks = {(a, c): ok for a, c, ok in shared_build.outcome.checks}
    failed = {f"{a}:{c}" for (a, c), ok in checks.items() if not ok and (a, c) not in shared_build.outcome.warned}
    assert status is not None and status.passed + len(status.failed) == len(checks)
    assert set(status.failed) == failed
    result = materialize([monthly_sales_report], partition_key=f"{month:%Y-%m-%d}", instance=shared_build.instance)
    assert result.success
    files = result.asset_materializations_for_node("reports__monthly_sales_report")[0].metadata["files"].data
    html = Path(files[0]).read_text()
    assert f"{status.passed} passed, {len(status.failed)} failing" in html
