"""`memberkiosk staff ...`: accounts for cashiers and managers, PIN unlocks, and the daily clock-in list.

PINs are never arguments (they would show in `ps` and the shell's history): each is asked on the terminal, or
read line by line from stdin when it is not one (the acting manager's first, then the new account's).
"""
from __future__ import annotations

import argparse
import datetime as dt

from core.errors import NotAllowed
from kiosk.cli.common import acting_staff, add_command, add_staff_option, emit, open_kiosk, read_secret


def _add(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        if args.staff:
            operator = acting_staff(kiosk, args, "manager").staff_no
        elif kiosk.staff.has_manager():
            raise NotAllowed("adding staff needs a manager: name yourself with --staff NO")
        else:  # a new kiosk: its first accounts are added before any manager can vouch for them
            operator = None
        pin = read_secret(f"PIN for {args.staff_no}: ")
        staff = kiosk.staff.add(args.staff_no, args.name, args.role, pin, args.card, operator=operator)
    emit(args, staff.__dict__, f"added {staff.role} {staff.staff_no} {staff.name}")
    return 0


def _unlock(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        manager = acting_staff(kiosk, args, "manager")
        event = kiosk.staff.unlock(args.staff_no, manager)
    emit(args, {"staff_no": args.staff_no, "unlocked_by": manager.staff_no, "event": event.id},
         f"PIN of {args.staff_no} unlocked by {manager.name}")
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
        staff = kiosk.staff.authenticate(args.staff_no, read_secret(f"PIN of staff {args.staff_no}: "))
        event = kiosk.staff.punch(staff, clocking_in=args.direction == "in")
    emit(args, {"staff_no": staff.staff_no, "event": event.id, "ts": event.ts}, f"{staff.name} clocked {args.direction}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `staff` and its sub-commands."""
    group = add_command(subparsers, "staff", None, "staff accounts and attendance (考勤)")
    sub = group.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    p = add_command(sub, "add", _add, "add a cashier or manager (the new 6-digit PIN is asked, or read from stdin)")
    p.add_argument("staff_no")
    p.add_argument("name")
    p.add_argument("--role", choices=["cashier", "manager"], default="cashier")
    p.add_argument("--card", help="staff card UID")
    add_staff_option(p, "manager", required=False)
    p = add_command(sub, "unlock", _unlock, "lift the PIN lock of a staff member (before it runs out by itself)")
    p.add_argument("staff_no")
    add_staff_option(p, "manager")
    add_command(sub, "list", _list, "list active staff")
    p = add_command(sub, "clock", _punch, "clock in or out with staff number (the PIN is asked, or read from stdin)")
    p.add_argument("direction", choices=["in", "out"])
    p.add_argument("staff_no")
    p = add_command(sub, "clock-list", _clock_list, "who clocked in and out on a day")
    p.add_argument("--day", help="YYYY-MM-DD (default today)")
