"""The report as one self-contained HTML file: altair charts converted to inline SVG (vl-convert, no
JavaScript, no network), tables as HTML text, numbers formatted for readers; greyscale-safe (patterns of
stroke dash and grey levels, not colour alone)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import altair as alt
import jinja2
import vl_convert

from report.data import Comparison, ReportData

NA = "not available"
GREYS = ["#000000", "#555555", "#888888", "#aaaaaa", "#cccccc", "#333333", "#777777"]


def money(v: Decimal | None, places: int = 0) -> str:
    if v is None:
        return NA
    q = f"{abs(v):,.{places}f}"
    return f"-${q}" if v < 0 else f"${q}"


def count(v: Decimal | int | None) -> str:
    return NA if v is None else f"{int(v):,}"


def pct(v: Decimal | None, places: int = 1) -> str:
    return NA if v is None else f"{v * 100:.{places}f}%"


def signed_pct(v: Decimal | None) -> str:
    return NA if v is None else f"{v * 100:+.1f}%"


def ratio(v: Decimal | None, places: int = 2) -> str:
    return NA if v is None else f"{v:,.{places}f}×"


def figure(c: Comparison) -> str:
    return money(c.value) if c.kind == "money" else count(c.value)


def _svg(chart: alt.TopLevelMixin) -> str:
    svg = vl_convert.vegalite_to_svg(chart.to_json())
    return svg[svg.index("<svg") :]


def channel_chart(data: ReportData) -> str | None:
    if not data.channel_revenue:
        return None
    rows = [
        {"month": f"{c.month:%Y-%m}", "channel": c.channel, "usd": float(c.net_revenue_usd)}
        for c in data.channel_revenue
    ]
    bars = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(stroke="black", strokeWidth=0.5)
        .encode(
            x=alt.X("month:O", title=None),
            y=alt.Y("sum(usd):Q", title="Net revenue (USD)", axis=alt.Axis(format="$,.0f")),
            color=alt.Color("channel:N", scale=alt.Scale(range=GREYS), legend=alt.Legend(orient="bottom")),
        )
    )
    layers: list[alt.Chart] = [bars]
    months = {c.month for c in data.channel_revenue}
    plan = [{"month": f"{m:%Y-%m}", "usd": float(v), "series": "plan"} for m, v in sorted(data.plan_by_month.items())]
    if plan:
        layers.append(
            alt.Chart(alt.Data(values=plan))
            .mark_line(color="black", strokeDash=[6, 3], point=alt.OverlayMarkDef(shape="diamond", color="black"))
            .encode(x="month:O", y=alt.Y("usd:Q", title=None))
        )
    fc = [
        {
            "month": f"{p.month:%Y-%m}",
            "usd": float(p.forecast_usd),
            "lo": float(p.lower_usd or p.forecast_usd),
            "hi": float(p.upper_usd or p.forecast_usd),
        }
        for p in data.forecast
        if p.month not in months
    ]
    if fc:
        base = alt.Chart(alt.Data(values=fc))
        layers.append(
            base.mark_errorbar(color="black", ticks=True).encode(x="month:O", y=alt.Y("lo:Q", title=None), y2="hi:Q")
        )
        layers.append(
            base.mark_point(shape="circle", filled=False, color="black", size=60).encode(x="month:O", y="usd:Q")
        )
    return _svg(alt.layer(*layers).properties(width=640, height=260))


def bridge_chart(data: ReportData) -> str | None:
    steps = [s for s in data.bridge if s.amount_usd is not None]
    if len(steps) < 2:
        return None
    rows, level = [], 0.0
    for s in steps:
        v = float(s.amount_usd)  # type: ignore[arg-type]
        total = s.label in ("Gross sales", "Net revenue", "Contribution")
        start, end = (0.0, v) if total else (level, level + v)
        level = end
        rows.append(
            {"step": s.label, "start": start, "end": end, "kind": "total" if total else ("up" if v >= 0 else "down")}
        )
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(stroke="black", strokeWidth=0.7)
        .encode(
            x=alt.X("step:N", sort=[r["step"] for r in rows], title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("start:Q", title="USD", axis=alt.Axis(format="$,.0f"), scale=alt.Scale(zero=True)),
            y2="end:Q",
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=["total", "down", "up"], range=["#333333", "#bbbbbb", "#777777"]),
                legend=None,
            ),
        )
        .properties(width=640, height=220)
    )
    return _svg(chart)


TEMPLATE = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True)
TEMPLATE.filters.update(money=money, count=count, pct=pct, signed_pct=signed_pct, ratio=ratio, figure=figure)


def readings(data: ReportData) -> dict[str, str]:
    """The one-line reading under each section's title."""
    h = {c.name: c for c in data.headline}
    net = h["Net revenue"]
    out: dict[str, str] = {}
    parts = [f"Net revenue {money(net.value)}"]
    if net.plan is not None:
        parts.append(f"{signed_pct(net.change(net.plan))} vs plan")
    parts.append(f"{signed_pct(net.change(net.previous))} vs the previous month")
    parts.append(f"{signed_pct(net.change(net.last_year))} vs a year earlier")
    out["headline"] = ", ".join(parts) + "."
    if data.channel_revenue:
        by: dict[str, Decimal] = {}
        for c in data.channel_revenue:
            if c.month == data.month:
                by[c.channel] = by.get(c.channel, Decimal(0)) + c.net_revenue_usd
        top = max(by, key=lambda k: by[k]) if by else None
        out["channels"] = f"{top} is the largest channel this month ({money(by[top])})." if top else NA
        if data.forecast:
            out["channels"] += (
                f" The forecast for the next {len(data.forecast)} months totals {money(sum((p.forecast_usd for p in data.forecast), Decimal(0)))}."
            )
    b = {s.label: s.amount_usd for s in data.bridge}
    if b.get("Gross sales") and b.get("Contribution") is not None:
        out["bridge"] = (
            f"{pct(b['Contribution'] / b['Gross sales'])} of gross sales remain as contribution ({money(b['Contribution'])})."  # type: ignore[operator]
        )
    elif b.get("Gross sales"):
        out["bridge"] = (
            f"Net revenue is {money(b['Net revenue'])} of {money(b['Gross sales'])} gross sales; COGS are not available."
        )
    if data.funnel_leakiest:
        s = data.funnel_leakiest
        out["funnel"] = f"The leakiest stage is {s.stage} ({s.pipeline}): {pct(s.conversion_to_next)} move on."
    if data.reps:
        bookings = sum((t.bookings_usd for t in data.territories), Decimal(0))
        quota = sum((t.quota_usd for t in data.territories), Decimal(0))
        out["reps"] = f"{len(data.reps)} reps booked {money(bookings)}" + (
            f", {pct(bookings / quota)} of quota." if quota else "."
        )
    if data.marketing:
        spent = [m for m in data.marketing if m.roas is not None]
        best = max(spent, key=lambda m: m.roas) if spent else None  # type: ignore[arg-type,return-value]
        out["marketing"] = (
            f"Highest ROAS: {best.channel} ({ratio(best.roas)})." if best else "No paid channel has a ROAS this month."
        )
    total_adj = sum((a.amount_usd for a in data.adjustments), Decimal(0))
    out["adjustments"] = (
        f"{len(data.adjustments)} adjustment(s) to closed months, {money(total_adj, 2)} in total."
        if data.adjustments
        else "No adjustments to closed months were booked this month."
    )
    if data.checks is None:
        out["status"] = "Check results are not available."
    elif data.checks.failed:
        out["status"] = f"{len(data.checks.failed)} check(s) failing: figures may be wrong."
    else:
        out["status"] = f"All {data.checks.passed} checks passed."
    return out


def render_html(data: ReportData) -> str:
    return TEMPLATE.get_template("report.html.j2").render(
        d=data,
        r=readings(data),
        na=NA,
        channel_svg=channel_chart(data),
        bridge_svg=bridge_chart(data),
        horizons=sorted({k for row in data.retention for k in row.retention}),
        fmt_month=lambda m: f"{m:%B %Y}" if isinstance(m, date) else str(m),
    )
