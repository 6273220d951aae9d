"""The campaign's paper: A4 letters (one per person: address block for a window envelope,
greeting, the questions to tick, the form's QR code and short URL, the desk's phone) and A4
sheets of address labels (12 or 24 a sheet, sorted by postal code), rendered by WeasyPrint
from HTML with Noto Sans CJK JP (fonts-noto-cjk) embedded."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from weasyprint import HTML

from service.domain.events.enums import SECTORS
from service.domain.followups.enums import ANSWER_STATUSES, EMPLOYMENT_TYPES
from service.domain.followups.schemas import CampaignView, TargetLine
from service.domain.followups.tokens import last_day, short_path
from service.domain.people.validation import format_postal_code
from service.platform.settings import Settings

TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "print"
# Sheets as commonly sold in Japan (A4, 2x6 and 3x8), in millimetres.
LABEL_SHEETS = {
    12: {"columns": 2, "rows": 6, "width": 86.4, "height": 42.3, "top": 21.5, "left": 18.6},
    24: {"columns": 3, "rows": 8, "width": 66.0, "height": 33.9, "top": 13.0, "left": 6.0},
}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _qr(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=4, border=2)


def _pdf(template: str, **context: object) -> bytes:
    html = _environment().get_template(template).render(**context)
    pdf: bytes = HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    return pdf


def _desk(settings: Settings) -> dict[str, str]:
    return {"name": settings.desk_name, "phone": settings.desk_phone, "hours": settings.desk_hours}


def letters_pdf(settings: Settings, campaign: CampaignView, people: list[TargetLine]) -> bytes:
    assert campaign.sent_at is not None
    letters = []
    for p in people:
        url = settings.base_url + short_path(p.short_code)
        letters.append({"p": p, "url": url, "qr": _qr(url)})
    return _pdf(
        "follow_up_letters.html",
        campaign=campaign,
        letters=letters,
        expires=f"{last_day(campaign.sent_at):%Y年%-m月%-d日}",
        desk=_desk(settings),
        postal=format_postal_code,
        STATUSES=ANSWER_STATUSES,
        TYPES=EMPLOYMENT_TYPES,
        SECTORS=SECTORS,
    )


def labels_pdf(settings: Settings, people: list[TargetLine], per_sheet: int) -> bytes:
    sheet = LABEL_SHEETS[per_sheet]
    pages = [people[i : i + per_sheet] for i in range(0, len(people), per_sheet)] or [[]]
    return _pdf(
        "follow_up_labels.html",
        pages=pages,
        sheet=sheet,
        per_sheet=per_sheet,
        desk=_desk(settings),
        postal=format_postal_code,
    )
