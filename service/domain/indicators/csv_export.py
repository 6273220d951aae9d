"""The report as CSV for Excel: UTF-8 with a BOM, CRLF line ends, formula-looking cells
escaped. One row per indicator: the three years' actual and target, then each month."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from service.domain.indicators.enums import SECTIONS
from service.domain.indicators.report import Report
from service.platform.local_time import TOKYO

BOM = "\ufeff"
# Cells Excel would run as a formula (CSV injection) get an apostrophe in front.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def number(value: Decimal | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if value == value.to_integral_value() else str(value)


def report_filename(r: Report) -> str:
    return f"indicators-{r.fiscal_year}.csv"


def report_csv(r: Report) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    compiled = r.compiled_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M") if r.compiled_at else ""
    writer.writerow([f"{r.label} 事業報告 指標", f"集計日時 {compiled}", r.window.note])
    if r.scope_name is not None:
        writer.writerow([safe_cell(f"共催団体: {r.scope_name}（共催イベントの数値のみ）")])
    header = ["表", "各種施策", "項目", "単位"]
    for cell in r.rows[0].years if r.rows else []:
        header += [f"{cell.label}実績", f"{cell.label}目標"]
    header += ["達成"]
    header += [f"{m[:4]}年{int(m[5:])}月" for m in r.months]
    header += ["回答数"]
    writer.writerow(header)
    for row in r.all_rows:
        number_, title = SECTIONS[row.section]
        line = [f"{number_} {title}".strip(), safe_cell(row.policy), safe_cell(row.name)]
        line.append(row.unit_label)
        for cell in row.years:
            line += [number(cell.actual), number(cell.target)]
        line.append({True: "達成", False: "未達成", None: ""}[row.achieved])
        # 「—」: not known for the month (the year was entered as a total), never made up.
        line += ["—" if row.months.get(m) is None else number(row.months.get(m)) for m in r.months]
        line.append("" if row.answers is None else str(row.answers))
        writer.writerow(line)
    if r.heard_from:
        writer.writerow([])
        writer.writerow(["知ったきっかけ", "人数"])
        for _, label, people in r.heard_from:
            writer.writerow([label, str(people)])
    return (BOM + out.getvalue()).encode("utf-8")
