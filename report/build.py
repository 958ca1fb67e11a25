"""Write the report files for one month: report_YYYY-MM.html / .pdf in a folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from core.warehouse import Warehouse
from report.data import CheckStatus, ReportData, build_report_data
from report.pdf import write_pdf
from report.render import render_html

FORMATS = ("html", "pdf")


def write_report(
    con: Warehouse, month: date, out_dir: Path, formats: tuple[str, ...] = FORMATS, checks: CheckStatus | None = None
) -> tuple[ReportData, list[Path]]:
    data = build_report_data(con, month, checks)
    html = render_html(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"report_{month:%Y-%m}"
    written = []
    if "html" in formats:
        path = stem.with_suffix(".html")
        path.write_text(html, encoding="utf-8")
        written.append(path)
    if "pdf" in formats:
        written.append(write_pdf(html, stem.with_suffix(".pdf")))
    return data, written
