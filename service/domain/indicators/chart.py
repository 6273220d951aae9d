"""A bar chart of actual against target per indicator, drawn as SVG on the server: no
JavaScript, readable in print and in grey (the actual is a solid dark bar, the target a hatched
outline bar with a black tick, each labelled with its number). Each bar is labelled with its
section (「I 支援企業」). A row with a target is drawn against it; rows without a target share
one scale (the largest of their actuals), so 7 and 269 do not both fill the width.
Presentation attributes only, no <style>: the pages' Content-Security-Policy allows no inline
styles."""

from __future__ import annotations

from decimal import Decimal
from xml.sax.saxutils import escape

from service.domain.indicators.enums import SECTIONS
from service.domain.indicators.report import Report, ReportRow

ROW_HEIGHT = 44
LABEL_WIDTH = 380
BAR_WIDTH = 330
RIGHT = 110
TOP = 40
TEXT = 'font-size="13" fill="#000"'


def _n(value: Decimal | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if value == value.to_integral_value() else str(value)


def section_label(row: ReportRow) -> str:
    number = SECTIONS.get(row.section, ("", ""))[0] or "成果"
    return f"{number} {row.name}（{row.unit_label}）"


def _row(row: ReportRow, y: int, untargeted_top: Decimal) -> list[str]:
    actual = row.actual or Decimal(0)
    target = row.target or Decimal(0)
    top = max(actual, target, Decimal(1)) if row.target is not None else untargeted_top
    x0 = LABEL_WIDTH
    actual_w = int(BAR_WIDTH * actual / top)
    target_w = int(BAR_WIDTH * target / top)
    label = escape(section_label(row))
    parts = [
        f'<text x="{x0 - 8}" y="{y + 22}" text-anchor="end" {TEXT}>{label}</text>',
        f'<rect x="{x0}" y="{y + 4}" width="{max(actual_w, 1)}" height="16" fill="#1f4e79"/>',
    ]
    if row.target is not None:
        parts.append(
            f'<rect x="{x0}" y="{y + 22}" width="{max(target_w, 1)}" height="12" '
            'fill="url(#hatch)" stroke="#000"/>'
        )
        parts.append(
            f'<line x1="{x0 + target_w}" y1="{y + 1}" x2="{x0 + target_w}" y2="{y + 37}" '
            'stroke="#000" stroke-width="2"/>'
        )
    mark = {True: " 達成", False: " 未達成", None: ""}[row.achieved]
    x = x0 + BAR_WIDTH + 8
    parts.append(
        f'<text x="{x}" y="{y + 17}" font-size="13" fill="#000">実績 {_n(row.actual)}{mark}</text>'
    )
    parts.append(
        f'<text x="{x}" y="{y + 33}" font-size="13" fill="#000">'
        f"{'目標 ' + _n(row.target) if row.target is not None else '目標なし'}</text>"
    )
    return parts


def report_chart(r: Report) -> str:
    rows = [row for row in r.rows if row.target is not None or row.actual is not None]
    untargeted = [row.actual or Decimal(0) for row in rows if row.target is None]
    untargeted_top = max([*untargeted, Decimal(1)])
    width = LABEL_WIDTH + BAR_WIDTH + RIGHT + 60
    height = TOP + ROW_HEIGHT * len(rows) + 20
    title = escape(f"{r.label} 実績と目標")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="chart-title" class="indicator-chart" '
        'font-family="Noto Sans CJK JP, Noto Sans JP, sans-serif">',
        f'<title id="chart-title">{title}</title>',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#555" stroke-width="2"/></pattern></defs>',
        f'<rect x="{LABEL_WIDTH}" y="8" width="16" height="12" fill="#1f4e79"/>',
        f'<text x="{LABEL_WIDTH + 22}" y="19" font-size="13" fill="#000">実績</text>',
        f'<rect x="{LABEL_WIDTH + 80}" y="8" width="16" height="12" stroke="#000" '
        'fill="url(#hatch)"/>',
        f'<text x="{LABEL_WIDTH + 102}" y="19" font-size="13" fill="#000">目標</text>',
    ]
    for i, row in enumerate(rows):
        out.extend(_row(row, TOP + i * ROW_HEIGHT, untargeted_top))
    out.append("</svg>")
    return "\n".join(out)
