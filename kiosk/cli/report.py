"""`memberkiosk report NAME`: sales, balances, stock, attendance and member analytics as a table, CSV, JSON or a
chart; the sales facts catch up with the ledger first (a progress bar on a terminal when that takes a while)."""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from kiosk.cli.common import add_command, emit, open_kiosk
from kiosk.reports import BY, NAMES, Period, Report
from kiosk.reports.output import text_table, to_csv, to_dict
from kiosk.services.reports import ReportsService

BAR_FROM = 2_000  # events behind: fewer catch up in well under a second, with no bar


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-01") from None


def _period(args: argparse.Namespace, reports: ReportsService) -> Period:
    """--from/--to; a missing end is today, a missing start is the report's usual length before the end."""
    end = args.to or reports.clock.today()
    start = args.start or reports.default_period(args.name, end).start
    return Period.of(start, end)


def _progress_bar(reports: ReportsService) -> Any:
    """A tqdm bar over the facts' backlog, on a terminal and when the backlog is long; else nothing."""
    position, end = reports.backlog()
    if end - position < BAR_FROM or not sys.stderr.isatty():
        return nullcontext(None)
    from tqdm import tqdm

    return tqdm(total=end - position, initial=0, unit=" events", desc="sales facts", file=sys.stderr, leave=False)


def _report(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        reports = kiosk.reports
        with _progress_bar(reports) as bar:
            start = reports.backlog()[0]
            progress = (lambda pos: bar.update(pos - start - bar.n)) if bar is not None else None
            reports.catch_up(progress)
        report = reports.report(args.name, _period(args, reports), args.store, args.by)
    _write(args, report)
    emit(args, to_dict(report), text_table(report))
    return 0


def _write(args: argparse.Namespace, report: Report) -> None:
    """The CSV and chart files asked for; CSV with a byte-order mark, so a spreadsheet reads the Chinese right."""
    if args.csv:
        args.csv.write_text(to_csv(report), encoding="utf-8-sig")
    if args.chart:
        from kiosk.reports.charts import render

        args.chart.write_bytes(render(report))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `report`."""
    p = add_command(subparsers, "report", _report, "reports: sales, points liability, stored value, coupons, stock, "
                                                   "attendance, RFM, classes, churn and members at risk")
    p.add_argument("name", choices=NAMES, metavar="NAME", help=f"one of: {', '.join(NAMES)}")
    p.add_argument("--from", dest="start", type=_day, metavar="YYYY-MM-DD",
                   help="first day (default: 30 days before --to; member analytics: the rulebook's RFM window)")
    p.add_argument("--to", type=_day, metavar="YYYY-MM-DD", help="last day, included (default: today)")
    p.add_argument("--store", metavar="S", help="only this store's facts (a kiosk that ingests others' events)")
    p.add_argument("--by", choices=BY, default="day", help="how `sales` groups (default: day)")
    p.add_argument("--csv", type=Path, metavar="FILE", help="also write the rows as CSV (money in yuan)")
    p.add_argument("--chart", type=Path, metavar="FILE.png", help="also draw the chart as a PNG")
