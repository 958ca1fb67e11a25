"""The HTML report as PDF with WeasyPrint (CSS paged media; inline SVG charts; no browser, no network)."""

from __future__ import annotations

from pathlib import Path


def write_pdf(html: str, out: Path) -> Path:
    from weasyprint import HTML

    HTML(string=html, base_url=None).write_pdf(out)
    return out
