"""`memberkiosk topup ID AMOUNT --staff NO`: add stored value paid at the counter, recorded as that staff member's."""
from __future__ import annotations

import argparse

from core.money import format_fen, parse_yuan
from kiosk.cli.common import acting_staff, add_command, add_staff_option, emit, open_kiosk
from kiosk.cli.members import describe
from kiosk.services.topup import shop_rules, top_up


def _topup(args: argparse.Namespace) -> int:
    amount = parse_yuan(args.amount)
    with open_kiosk(args) as kiosk:
        staff = acting_staff(kiosk, args, "cashier")
        events = top_up(kiosk.members, args.member_id, amount, shop_rules(kiosk.docs), operator=staff.staff_no)
        view = kiosk.members.get(args.member_id)
    credited = sum(e.deltas.get("stored_value", 0) for e in events)
    payload = {"txn": events[0].txn, "paid_fen": amount, "credited_fen": credited, "member": view.as_dict(),
               "operator": staff.staff_no}
    emit(args, payload, f"topped up {format_fen(amount)} (credited {format_fen(credited)}) by {staff.name}\n"
         + describe(view))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `topup`."""
    p = add_command(subparsers, "topup", _topup, "add stored value to a member (amount in yuan, e.g. 100 or 99.50)")
    p.add_argument("member_id")
    p.add_argument("amount", help="yuan, up to 2 decimals")
    add_staff_option(p, "cashier")
