"""Every report by name, run on any DB-API cursor over the facts tables (SQLite at the kiosk, PostgreSQL at the hub).

    report = run("sales", conn.cursor(), "?", Period.of(start, end), store=None, inputs=Inputs(products=...), by="day")
"""
from __future__ import annotations

from typing import Any, Callable

from kiosk.reports import balances, members, sales, staff, stock
from kiosk.reports.model import Inputs, Period, Report, ReportError
from kiosk.reports.sql import Facts

# name -> (facts, inputs) -> Report; `sales` also takes `by`
REPORTS: dict[str, Callable[[Facts, Inputs], Report]] = {
    "rfm": members.rfm,
    "classes": members.classes,
    "churn": members.churn,
    "at-risk": members.at_risk,
    "sales": sales.sales,
    "liability": balances.liability,
    "stored-value": balances.stored_value,
    "coupons": balances.coupons,
    "stock": stock.stock,
    "attendance": staff.attendance,
}
NAMES = tuple(REPORTS)
BY = sales.BY
MEMBER_REPORTS = ("rfm", "classes", "churn", "at-risk")  # their default period is the rulebook's RFM window


def run(name: str, cursor: Any, placeholder: str, period: Period, store: str | None = None,
        inputs: Inputs | None = None, by: str = "day") -> Report:
    """The report `name` over `period` (and one store's facts, when given); `placeholder` is '?' or '%s'."""
    if name not in REPORTS:
        raise ReportError(f"no report {name!r}: choose one of {', '.join(NAMES)}")
    facts = Facts(cursor, placeholder, period, store)
    if name == "sales":
        return sales.sales(facts, inputs or Inputs(), by)
    return REPORTS[name](facts, inputs or Inputs())
