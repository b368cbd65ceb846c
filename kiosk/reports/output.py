"""A report as a text table for people, CSV for a spreadsheet (money in yuan) or JSON for programs (money in fen)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import unicodedata
from typing import Any

from core.money import format_fen
from kiosk.reports.model import FEN, MINUTES, PERCENT, Column, Report

TOTAL = "合计 Total"


def cell(column: Column, value: Any, symbol: str = "¥") -> str:
    """One value as people read it: yuan, h:mm, a percentage, an ISO date; '' for nothing."""
    if value is None:
        return ""
    if column.unit == FEN:
        return format_fen(value, symbol)
    if column.unit == MINUTES:
        return f"{value // 60}:{value % 60:02d}"
    if column.unit == PERCENT:
        return f"{value / 10:.1f}%"
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def width(text: str) -> int:
    """Terminal columns `text` takes: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, cols: int, right: bool) -> str:
    gap = " " * (cols - width(text))
    return gap + text if right else text + gap


def text_table(report: Report) -> str:
    """The report as an aligned table with its title, period, totals row and notes."""
    header = [c.label for c in report.columns]
    body = [[cell(c, v) for c, v in zip(report.columns, row)] for row in report.rows]
    if report.totals:
        body.append([TOTAL if i == 0 else cell(c, report.totals[c.key]) if c.key in report.totals else ""
                     for i, c in enumerate(report.columns)])
    numeric = [c.unit != "" or bool(report.rows) and all(isinstance(r[i], int) for r in report.rows if r[i] is not None)
               for i, c in enumerate(report.columns)]  # numbers align right
    cols = [max(width(x) for x in column) for column in zip(header, *body)]
    lines = [f"{report.title}" + (f"  {report.period}" if report.period else "")]
    for n, row in enumerate([header, *body]):
        if n == 1 or report.totals and n == len(body):
            lines.append("  ".join("-" * w for w in cols))
        lines.append("  ".join(_pad(x, w, right) for x, w, right in zip(row, cols, numeric)).rstrip())
    if not report.rows:
        lines.append("(no data in this period)")
    lines += [f"* {note}" for note in report.notes]
    return "\n".join(lines)


def to_csv(report: Report) -> str:
    """A header of column keys, then one line per row; money in yuan without a symbol, durations as h:mm."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.key for c in report.columns])
    for row in report.rows:
        writer.writerow([cell(c, v, symbol="") for c, v in zip(report.columns, row)])
    return out.getvalue()


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain data: rows as {column: value}, money in fen, durations in minutes, shares in permille."""
    return {
        "name": report.name,
        "title": report.title,
        "period": {"from": report.period.start.isoformat(), "to": report.period.end.isoformat()}
        if report.period else None,
        "columns": [{"key": c.key, "label": c.label, "unit": c.unit or None} for c in report.columns],
        "rows": [{k: v.isoformat() if isinstance(v, dt.date) else v for k, v in r.items()} for r in report.records()],
        "totals": dict(report.totals),
        "notes": list(report.notes),
    }


def to_json(report: Report) -> str:
    """to_dict as indented JSON, Chinese kept readable."""
    return json.dumps(to_dict(report), ensure_ascii=False, indent=2)
