"""`memberkiosk members ...`: register, find, edit, cards, erase and history."""
from __future__ import annotations

import argparse

from core.members import mask_phone, normalize_gender, parse_birthday
from core.money import format_fen
from kiosk.cli.common import acting_staff, add_command, add_staff_option, emit, open_kiosk
from kiosk.services.members import MemberView, Registration


def describe(view: MemberView) -> str:
    """A member as a cashier reads it: masked phone, tier and every balance."""
    m, b = view.member, view.balances
    lines = [
        f"member   {m.member_id}" + ("  (personal data erased)" if m.erased_at else ""),
        f"phone    {mask_phone(m.phone)}",
        f"name     {m.name or '—'}",
        f"tier     {b.tier}",
        f"points   {b.points}",
        f"stored   {format_fen(b.stored_value)}",
        f"spent    {format_fen(b.lifetime_spend)}",
    ]
    lines += [f"visits   {pack}: {n} left" for pack, n in sorted(b.visits.items())]
    lines += [f"card     {uid} ({status})" for uid, status in view.cards]
    return "\n".join(lines)


def _add(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        reg = Registration(
            phone=args.phone,
            consent=args.consent,
            name=args.name,
            birthday=parse_birthday(args.birthday, kiosk.clock.today()) if args.birthday else None,
            gender=normalize_gender(args.gender) if args.gender else None,
            card=args.card,
            pin=args.pin,
            marketing=args.marketing,
        )
        view = kiosk.members.register(reg)
    emit(args, view.as_dict(), "registered\n" + describe(view))
    return 0


def _find(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        if args.card:
            view = kiosk.members.by_card(args.card)
        elif args.phone:
            view = kiosk.members.by_phone(args.phone)
        else:
            view = kiosk.members.get(args.id)
    emit(args, view.as_dict(), describe(view))
    return 0


def _history(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        events = kiosk.members.history(args.member_id, args.limit)
        times = [kiosk.clock.local(e.ts) for e in events]
    payload = [
        {"id": e.id, "seq": e.seq, "kiosk_id": e.kiosk_id, "ts": e.ts, "type": e.type, "data": e.data, "deltas": e.deltas,
         "operator": e.operator}
        for e in events
    ]
    text = "\n".join(f"{at:%Y-%m-%d %H:%M}  {e.type:<24} {_deltas(e.deltas)}  by {e.operator or '?'}"
                     for e, at in zip(events, times))
    emit(args, payload, text or "no history yet")
    return 0


def _deltas(deltas: dict) -> str:
    parts = []
    for key, value in deltas.items():
        if key in ("stored_value", "lifetime_spend"):
            parts.append(f"{key} {format_fen(value)}")
        elif isinstance(value, dict):
            parts += [f"{key} {k} {v:+d}" for k, v in value.items()]
        else:
            parts.append(f"{key} {value:+d}")
    return ", ".join(parts)


def _edit(args: argparse.Namespace) -> int:
    changes: dict[str, object] = {}
    if args.name is not None:
        changes["name"] = args.name
    if args.phone is not None:
        changes["phone"] = args.phone
    if args.gender is not None:
        changes["gender"] = normalize_gender(args.gender)
    if args.marketing is not None:
        changes["marketing"] = args.marketing == "yes"
    with open_kiosk(args) as kiosk:
        if args.birthday is not None:
            changes["birthday"] = parse_birthday(args.birthday, kiosk.clock.today())
        view = kiosk.members.edit(args.member_id, **changes)
    emit(args, view.as_dict(), "updated\n" + describe(view))
    return 0


def _link(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        view = kiosk.members.link_card(args.member_id, args.card)
    emit(args, view.as_dict(), "card linked\n" + describe(view))
    return 0


def _block(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        view = kiosk.members.block_card(args.card, args.reason)
    emit(args, view.as_dict(), "card blocked\n" + describe(view))
    return 0


def _erase(args: argparse.Namespace) -> int:
    if not args.yes:
        print("erasing personal data cannot be undone; repeat with --yes to confirm")
        return 1
    with open_kiosk(args) as kiosk:
        staff = acting_staff(kiosk, args, "manager")
        view = kiosk.members.erase(args.member_id, operator=staff.staff_no, cash_out=args.cash_out)
    emit(args, view.as_dict(), "personal data erased; the account is closed\n" + describe(view))
    return 0


def _set_pin(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        kiosk.members.set_pin(args.member_id, args.pin)
    emit(args, {"member_id": args.member_id, "pin": "set"}, "payment PIN set")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `members` and its sub-commands."""
    group = add_command(subparsers, "members", None, "register, find, edit and erase members; link and block cards")
    sub = group.add_subparsers(dest="members_command", metavar="ACTION", required=True)

    p = add_command(sub, "add", _add, "register a member (phone and consent required)")
    p.add_argument("--phone", required=True, help="mainland China mobile number")
    p.add_argument("--name")
    p.add_argument("--birthday", help="YYYY-MM-DD")
    p.add_argument("--gender", help="F or M")
    p.add_argument("--card", help="IC card UID in hex")
    p.add_argument("--pin", help="6-digit payment PIN")
    p.add_argument("--consent", action="store_true", help="the member agreed to the privacy notice")
    p.add_argument("--marketing", action="store_true", help="the member also agreed to marketing messages (optional)")

    p = add_command(sub, "find", _find, "show a member with tier and balances")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--card", help="card UID")
    which.add_argument("--phone")
    which.add_argument("--id", help="member number")

    p = add_command(sub, "history", _history, "a member's ledger events, newest first")
    p.add_argument("member_id")
    p.add_argument("--limit", type=int, default=None)

    p = add_command(sub, "edit", _edit, "change a member's name, phone, birthday, gender or marketing consent")
    p.add_argument("member_id")
    p.add_argument("--name")
    p.add_argument("--phone")
    p.add_argument("--birthday", help="YYYY-MM-DD")
    p.add_argument("--gender", help="F or M")
    p.add_argument("--marketing", choices=("yes", "no"),
                   help="the member agreed to (yes) or withdrew from (no) marketing messages such as birthday wishes")

    p = add_command(sub, "link-card", _link, "link another IC card to a member")
    p.add_argument("member_id")
    p.add_argument("card", help="card UID in hex")

    p = add_command(sub, "block-card", _block, "block a lost card for good")
    p.add_argument("card", help="card UID in hex")
    p.add_argument("--reason", default="lost")

    p = add_command(sub, "erase", _erase, "erase a member's personal data on request (a balance must be paid out first)")
    p.add_argument("member_id")
    p.add_argument("--yes", action="store_true", help="confirm")
    p.add_argument("--cash-out", action="store_true",
                   help="first hand the member their stored value in cash; points and visits close (recorded)")
    add_staff_option(p, "manager")

    p = add_command(sub, "set-pin", _set_pin, "set or reset a member's 6-digit payment PIN")
    p.add_argument("member_id")
    p.add_argument("pin")
