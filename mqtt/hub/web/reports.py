"""The chain's reports in the console (kiosk.reports over the hub's fact tables): chain-wide or one store's, for a
period, as a table, a chart (PNG) and a CSV download; every logged-in account may read them.

The query string says everything a report needs (`from`, `to`, `store`, `by`), so a page, its chart and its CSV
are plain links a person can bookmark or send. Stock is left out: stock levels live in each kiosk's ledger, and the
hub folds none.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from kiosk.clock import zone
from kiosk.reports import charts, output
from kiosk.reports.model import Inputs, Period, Report, ReportError
from kiosk.reports.queries import BY, NAMES, run
from mqtt.hub.web.views import backend, render, viewer

REPORTS = tuple(n for n in NAMES if n != "stock")
DAYS = 30  # the period shown when none is asked for: the last 30 days, today included
CHART_MAX_AGE = 300  # seconds a browser may keep a chart: new sales show within five minutes of a reload
DESCRIPTIONS = {
    "sales": "Sales, refunds and what was paid, by day, hour, product, category, tier, tender or store.",
    "rfm": "Members in the eight RFM segments of the period (recency, frequency, money).",
    "classes": "A/B/C/D classes of the members who bought, by visits and spend.",
    "churn": "Members active, lapsing, lapsed or dormant at the period's end.",
    "at-risk": "Regular members whose gap since their last visit is far beyond their usual one.",
    "liability": "Points issued, redeemed, expired and outstanding, valued at the rulebook's rate.",
    "stored-value": "Stored value sold, given as bonus, spent and outstanding.",
    "coupons": "Coupons used and what they cost; top-up brackets and punch cards.",
    "attendance": "Staff hours from their clock-ins and clock-outs.",
}


async def index(request: Request) -> Response:
    """Every report, with the stores the facts know, so a person picks one."""
    account = await viewer(request)
    db = backend(request)
    stores = await db.run(db.store.facts_read, _stores)
    return render(request, "report_index.html", account, {
        "active": "reports", "reports": [(n, DESCRIPTIONS[n]) for n in REPORTS], "stores": stores})


async def page(request: Request) -> Response:
    """One report as a page: the filters form, the table with its totals, the chart and the CSV link."""
    account = await viewer(request)
    name, ask = _name(request), await _asked(request)
    db = backend(request)
    stores = await db.run(db.store.facts_read, _stores)
    context: dict[str, Any] = {"active": "reports", "name": name, "title": name, "stores": stores, "ask": ask,
                               "by_choices": BY if name == "sales" else (), "query": request.url.query,
                               "report": None, "error": None}
    try:
        report = await _report(request, name, ask)
    except ReportError as e:
        context["error"] = str(e)
        return render(request, "report.html", account, context, status=400)
    header = [c.label for c in report.columns]
    body = [[output.cell(c, v) for c, v in zip(report.columns, row)] for row in report.rows]
    totals = [output.cell(c, report.totals[c.key]) if c.key in report.totals else "" for c in report.columns]
    context.update(report=report, title=report.title, header=header, body=body,
                   totals=totals if report.totals else None)
    return render(request, "report.html", account, context)


async def chart(request: Request) -> Response:
    """The report's chart as PNG; a browser keeps it a few minutes and revalidates it by its ETag."""
    await viewer(request)
    name, ask = _name(request), await _asked(request)
    try:
        png = charts.render(await _report(request, name, ask))
    except ReportError as e:
        raise HTTPException(404, str(e)) from None
    etag = f'"{hashlib.sha256(png).hexdigest()[:32]}"'
    headers = {"cache-control": f"private, max-age={CHART_MAX_AGE}", "etag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(png, media_type="image/png", headers=headers)


async def csv(request: Request) -> Response:
    """The report as CSV (money in yuan), downloaded as a file named after the report, store and period."""
    await viewer(request)
    name, ask = _name(request), await _asked(request)
    try:
        report = await _report(request, name, ask)
    except ReportError as e:
        raise HTTPException(400, str(e)) from None
    what = "-".join(x for x in (name, ask["by"] if name == "sales" else "", ask["store"] or "chain") if x)
    filename = f"{what}-{ask['from']}-{ask['to']}.csv"
    return Response(output.to_csv(report).encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


def _name(request: Request) -> str:
    name = request.path_params["name"]
    if name not in REPORTS:
        raise HTTPException(404, f"There is no report {name!r}; the reports are {', '.join(REPORTS)}.")
    return name


async def _asked(request: Request) -> dict[str, Any]:
    """The period, store and grouping the query string asks for; the last DAYS days by default."""
    q = request.query_params
    db = backend(request)
    tz = zone(await db.run(db.store.facts_timezone))
    today = dt.datetime.fromtimestamp(request.app.state.clock.now_ms() / 1000, tz).date()
    try:
        end = dt.date.fromisoformat(q["to"]) if q.get("to") else today
        start = dt.date.fromisoformat(q["from"]) if q.get("from") else end - dt.timedelta(days=DAYS - 1)
    except ValueError:
        raise HTTPException(400, "Give dates as YYYY-MM-DD, e.g. 2026-11-01.") from None
    by = q.get("by") or "store"
    if by not in BY:
        raise HTTPException(400, f"Sales by {by!r}: choose one of {', '.join(BY)}.")
    return {"from": start, "to": end, "store": q.get("store") or None, "by": by}


async def _report(request: Request, name: str, ask: dict[str, Any]) -> Report:
    period = Period.of(ask["from"], ask["to"])  # ReportError when it ends before it starts
    base: Inputs = request.app.state.report_inputs
    inputs = Inputs(base.products, base.rules, base.staff_names, request.app.state.clock.now_ms())
    db = backend(request)
    return await db.run(db.store.facts_read,
                        lambda cur: run(name, cur, "?", period, ask["store"], inputs, ask["by"]))


def _stores(cursor: Any) -> list[str]:
    cursor.execute("SELECT value FROM fact_dict WHERE kind = 'store' ORDER BY value")
    return [value for (value,) in cursor.fetchall()]
