"""`memberkiosk staff ...`: accounts for cashiers and managers, and the daily clock-in list."""
from __future__ import annotations

import argparse
import datetime as dt

from kiosk.cli.common import add_command, emit, open_kiosk


def _add(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        staff = kiosk.staff.add(args.staff_no, args.name, args.role, args.pin, args.card)
    emit(args, staff.__dict__, f"added {staff.role} {staff.staff_no} {staff.name}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        staff = kiosk.staff.list()
    emit(args, [s.__dict__ for s in staff], "\n".join(f"{s.staff_no:<8} {s.role:<8} {s.name}" for s in staff) or "no staff")
    return 0


def _clock_list(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        day = dt.date.fromisoformat(args.day) if args.day else kiosk.clock.today()
        entries = kiosk.staff.clock_list(day)
        times = [kiosk.clock.local(e.ts) for e in entries]
    payload = [{"staff_no": e.staff_no, "in": e.clocked_in, "ts": e.ts} for e in entries]
    text = "\n".join(f"{at:%H:%M}  {e.staff_no:<8} {'in' if e.clocked_in else 'out'}" for e, at in zip(entries, times))
    emit(args, payload, text or f"nobody clocked in on {day}")
    return 0


def _punch(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        staff = kiosk.staff.login_pin(args.staff_no, args.pin)
        event = kiosk.staff.punch(staff, clocking_in=args.direction == "in")
    emit(args, {"staff_no": staff.staff_no, "event": event.id, "ts": event.ts}, f"{staff.name} clocked {args.direction}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `staff` and its sub-commands."""
    group = add_command(subparsers, "staff", None, "staff accounts and attendance (考勤)")
    sub = group.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    p = add_command(sub, "add", _add, "add a cashier or manager")
    p.add_argument("staff_no")
    p.add_argument("name")
    p.add_argument("--role", choices=["cashier", "manager"], default="cashier")
    p.add_argument("--pin", required=True, help="6-digit login PIN")
    p.add_argument("--card", help="staff card UID")
    add_command(sub, "list", _list, "list active staff")
    p = add_command(sub, "clock", _punch, "clock in or out with staff number and PIN")
    p.add_argument("direction", choices=["in", "out"])
    p.add_argument("staff_no")
    p.add_argument("--pin", required=True)
    p = add_command(sub, "clock-list", _clock_list, "who clocked in and out on a day")
    p.add_argument("--day", help="YYYY-MM-DD (default today)")
