"""Checkout and refunds for staff and scripts (as the staff member --staff authenticates), and the what-if
simulation."""
from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import InvalidQuantity
from core.money import format_fen, parse_yuan
from core.quote import Quote
from core.quote_input import BasketLine, TenderRequest
from core.rules_toml import parse_rules
from core.text import parse_count
from kiosk.cli.common import acting_staff, add_command, add_staff_option, emit, open_kiosk, read_secret
from kiosk.store.ledger import txn_number


def parse_line(text: str) -> BasketLine:
    """'A' or 'A:2' from the command line."""
    sku, _, qty = text.partition(":")
    return BasketLine(sku.strip(), parse_count(qty, f"the quantity in '{text}' (SKU:QTY)", InvalidQuantity) if qty else 1)


def quote_payload(q: Quote) -> dict:
    """The quote as JSON: every line's shares and the totals, in fen."""
    totals = {k: q.total(k) for k in ("gross", "discount", "threshold", "coupon", "net", "visits_fen", "points_used",
                                      "points_fen", "stored_value", "cash", "external", "earned")}
    return {"lines": [line._asdict() for line in q.lines], "totals": totals, "coupons": list(q.coupons),
            "cash_given": q.cash_given, "change": q.change, "tier_before": q.tier_before, "tier_after": q.tier_after}


def describe(q: Quote) -> str:
    """A receipt-like summary for a person."""
    out = [f"{n + 1:>2}. {ln.name} x{ln.qty}  {format_fen(ln.gross)} -> {format_fen(ln.net)}" for n, ln in enumerate(q.lines)]
    out.append(f"total {format_fen(q.total('net'))} (saved {format_fen(q.total('gross') - q.total('net'))})")
    for label, key in (("visits", "visits_fen"), ("points", "points_fen"), ("stored value", "stored_value"),
                       ("cash", "cash"), ("external", "external")):
        if q.total(key):
            out.append(f"  paid by {label}: {format_fen(q.total(key))}")
    if q.cash_given:
        out.append(f"  change: {format_fen(q.change)}")
    out.append(f"points earned {q.total('earned')}, redeemed {q.total('points_used')}")
    if q.tier_after != q.tier_before:
        out.append(f"tier {q.tier_before} -> {q.tier_after}")
    return "\n".join(out)


def _checkout(args: argparse.Namespace) -> int:
    basket = [parse_line(s) for s in args.sku]
    tender = TenderRequest(points=parse_count(args.points, "points"), stored_value=args.stored_value,
                           cash=parse_yuan(args.cash) if args.cash is not None else None)
    with open_kiosk(args) as kiosk:
        staff = acting_staff(kiosk, args, "manager" if args.override else "cashier")
        pin = None
        if args.stored_value and args.member and not args.override:
            pin = read_secret(f"PIN of member {args.member}: ")
        sale = kiosk.sales.checkout(args.member, basket, args.coupon, tender, pin=pin, operator=staff.staff_no,
                                    override=args.override)
    number = txn_number(sale.events[0])
    emit(args, {"sale_id": sale.sale_id, "sale_no": number, **quote_payload(sale.quote)},
         f"sale {number} ({sale.sale_id})\n{describe(sale.quote)}")
    return 0


def _refund(args: argparse.Namespace) -> int:
    lines = [n - 1 for n in args.line] if args.line else None
    with open_kiosk(args) as kiosk:
        staff = acting_staff(kiosk, args, "manager")
        [refund, *_] = kiosk.sales.refund(args.sale_id, lines, operator=staff.staff_no)
    d = refund.data
    text = (f"refunded lines {', '.join(str(i + 1) for i in d['lines'])} of sale {args.sale_id}: "
            f"cash {format_fen(d['cash'])}, external {format_fen(d['external'])}, "
            f"stored value {format_fen(d['stored_value'])}, points back {d['points_back']}, "
            f"points taken back {d['points_clawed']}")
    emit(args, {"refund_id": refund.id, **d, "deltas": dict(refund.deltas)}, text)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    candidate = parse_rules(Path(args.rules).read_text(encoding="utf-8"))
    with open_kiosk(args) as kiosk:
        w = kiosk.whatif.simulate(candidate)
    cur, cand = w.current, w.candidate
    payload = {"sales": w.sales, "engine": w.engine, "current": cur.__dict__, "candidate": cand.__dict__,
               "discount_change": cand.discount - cur.discount, "liability_change": cand.liability - cur.liability}
    text = (f"{w.sales} recorded sales re-priced ({w.engine} engine)\n"
            f"discount cost     {format_fen(cur.discount)} -> {format_fen(cand.discount)}"
            f" ({format_fen(cand.discount - cur.discount)})\n"
            f"points earned     {cur.points} -> {cand.points}\n"
            f"points liability  {format_fen(cur.liability)} -> {format_fen(cand.liability)}"
            f" ({format_fen(cand.liability - cur.liability)})\n"
            f"sales refused     {cur.refused} -> {cand.refused}")
    emit(args, payload, text)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `checkout`, `refund` and `simulate`."""
    p = add_command(subparsers, "checkout", _checkout, "sell a basket and commit it (one durable transaction)")
    p.add_argument("--member", help="member id (omit for a guest)")
    p.add_argument("--sku", action="append", required=True, help="SKU or barcode, optionally :QTY (B:2); repeatable")
    p.add_argument("--coupon", action="append", default=[], help="coupon code, repeatable")
    p.add_argument("--points", default="0", help="points to redeem")
    p.add_argument("--stored-value", action="store_true",
                   help="pay from stored value first; the member's PIN is the line after the staff PIN on stdin")
    p.add_argument("--cash", help="cash handed over in yuan (change is given); without it the rest is paid externally")
    p.add_argument("--override", action="store_true",
                   help="a manager lets stored value be spent without the member's PIN (recorded in the ledger)")
    add_staff_option(p, "cashier")
    p = add_command(subparsers, "refund", _refund, "refund a sale, or some of its lines")
    p.add_argument("sale_id")
    p.add_argument("--line", type=int, action="append", help="line number (1 = first), repeatable; default all")
    add_staff_option(p, "manager")
    p = add_command(subparsers, "simulate", _simulate, "re-price the sales history under candidate rules")
    p.add_argument("--rules", required=True, help="candidate rules file (TOML)")
