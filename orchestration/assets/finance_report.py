"""The finance view on the monthly revenue asset: net revenue by channel by month, as materialization metadata."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from dagster import MetadataValue

from orchestration.resources import read_only_warehouse

REPORT_SQL = """
    select revenue_month, channel, net_revenue_usd, period_status
    from finance.monthly_revenue order by revenue_month, channel"""


def render_markdown(rows: list[tuple[Any, str, Decimal, str]]) -> str:
    """Months down, channels across, a total column; closed months marked."""
    channels = sorted({r[1] for r in rows})
    by_month: dict[Any, dict[str, Decimal]] = defaultdict(dict)
    status: dict[Any, str] = {}
    for month, channel, net, period_status in rows:
        by_month[month][channel] = Decimal(net)
        status[month] = period_status
    lines = ["| month | status | " + " | ".join(channels) + " | total |", "|---|---|" + "---:|" * (len(channels) + 1)]
    for month in sorted(by_month):
        values = [by_month[month].get(c, Decimal("0.00")) for c in channels]
        lines.append(
            f"| {month:%Y-%m} | {status[month]} | "
            + " | ".join(f"{v:,.2f}" for v in values)
            + f" | {sum(values, Decimal('0')):,.2f} |"
        )
    return "Net revenue (USD) by channel by month\n\n" + "\n".join(lines)


def monthly_revenue_report() -> dict[str, Any]:
    with read_only_warehouse() as con:
        rows = con.execute(REPORT_SQL).fetchall()
    total = sum((Decimal(r[2]) for r in rows), Decimal("0"))
    return {
        "net_revenue_by_channel_by_month": MetadataValue.md(render_markdown(rows)),
        "net_revenue_usd_all_months": MetadataValue.text(f"{total:,.2f}"),
        "months": len({r[0] for r in rows}),
    }
