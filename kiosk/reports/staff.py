"""Staff attendance: hours worked from the clock-in and clock-out events in fact_shifts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from kiosk.reports.model import MINUTES, ChartSpec, Column, Inputs, Report, totals_of
from kiosk.reports.sql import Facts

MINUTE_MS = 60_000


@dataclass
class Shifts:
    """One staff member's clocked time in the period, and the clock events that did not pair up."""

    worked_ms: int = 0
    shifts: int = 0
    open: int = 0  # a shift still open at the period's end (counted up to it)
    unpaired: int = 0  # an in with no out before the next in, or an out with no in in the period: not counted


def pair(events: Iterable[tuple[int, int]], until_ms: int | None) -> Shifts:
    """Pair (ts, dir) events in time order: dir 1 in, -1 out; an open last shift counts up to until_ms."""
    found, since = Shifts(), None
    for ts, direction in events:
        if direction > 0:
            found.unpaired += since is not None
            since = ts
        elif since is None:
            found.unpaired += 1
        else:
            found.worked_ms, found.shifts, since = found.worked_ms + ts - since, found.shifts + 1, None
    if since is not None:
        if until_ms is not None and until_ms > since:
            found.worked_ms, found.shifts, found.open = found.worked_ms + until_ms - since, found.shifts + 1, 1
        else:
            found.unpaired += 1
    return found


def attendance(facts: Facts, inputs: Inputs) -> Report:
    """Hours per staff member in the period; open and unpaired clock events are counted in their own columns."""
    where, params = facts.where("h")
    rows_in = facts.rows(
        "SELECT d.value, h.ts, h.dir FROM fact_shifts h JOIN fact_dict d ON d.kind = 'staff' AND d.id = h.staff "
        f"WHERE {where} ORDER BY d.value, h.ts, h.kiosk, h.seq", params)
    by_staff: dict[str, list[tuple[int, int]]] = {}
    for staff, ts, direction in rows_in:
        by_staff.setdefault(staff, []).append((int(ts), int(direction)))
    rows = []
    for staff, events in sorted(by_staff.items()):
        s = pair(events, inputs.until_ms)
        rows.append((staff, inputs.staff_names.get(staff, ""), s.shifts, s.worked_ms // MINUTE_MS, s.open, s.unpaired))
    columns = (Column("staff", "工号 Staff"), Column("name", "姓名 Name"), Column("shifts", "班次 Shifts"),
               Column("minutes", "工时 Hours", MINUTES), Column("open", "未下班 Open"),
               Column("unpaired", "缺打卡 Unpaired"))
    notes = tuple(f"{r[0]}: a shift still open, counted up to the period's end (or now)" for r in rows if r[4]) + tuple(
        f"{r[0]}: {r[5]} clock event(s) without a partner, not counted; check the clock list" for r in rows if r[5])
    return Report("attendance", "考勤工时 Staff attendance", columns, rows,
                  totals_of(columns, rows, ["shifts", "minutes"]), ChartSpec("bar", "staff", ("minutes",)),
                  facts.period, notes)
