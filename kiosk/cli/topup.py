"""`memberkiosk topup ID AMOUNT`: add stored value paid at the counter."""
from __future__ import annotations

import argparse

from core.money import format_fen, parse_yuan
from kiosk.cli.common import add_command, emit, open_kiosk
from kiosk.cli.members import describe
from kiosk.services.topup import shop_rules, top_up


def _topup(args: argparse.Namespace) -> int:
    amount = parse_yuan(args.amount)
    with open_kiosk(args) as kiosk:
        events = top_up(kiosk.members, args.member_id, amount, shop_rules(kiosk.docs))
        view = kiosk.members.get(args.member_id)
    credited = sum(e.deltas.get("stored_value", 0) for e in events)
    payload = {"txn": events[0].txn, "paid_fen": amount, "credited_fen": credited, "member": view.as_dict()}
    emit(args, payload, f"topped up {format_fen(amount)} (credited {format_fen(credited)})\n" + describe(view))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `topup`."""
    p = add_command(subparsers, "topup", _topup, "add stored value to a member (amount in yuan, e.g. 100 or 99.50)")
    p.add_argument("member_id")
    p.add_argument("amount", help="yuan, up to 2 decimals")
