"""The yearly report as a PDF: WeasyPrint over the same HTML the page is made of (the
report's own template and partials), A4 portrait, Noto Sans CJK JP embedded (subset). The
renderer fetches nothing: the stylesheet is read from disk, and any URL in the document (there
should be none) is refused rather than fetched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from weasyprint import CSS, HTML

STYLESHEET = Path(__file__).resolve().parent / "static" / "report_pdf.css"


class NoFetching(ValueError):
    pass


def _refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise NoFetching(url)


def render_pdf(html: str) -> bytes:
    """CPU-bound (about a second for a year): call it off the event loop."""
    document = HTML(string=html, base_url=str(STYLESHEET.parent), url_fetcher=_refuse)
    pdf = document.write_pdf(stylesheets=[CSS(filename=str(STYLESHEET))])
    assert pdf is not None
    return bytes(pdf)
