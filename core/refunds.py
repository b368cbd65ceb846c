"""Refunds, whole or by line: each line gives back exactly its recorded shares, and only once.

Stock, redeemed points, stored value and visits come back; earned points go out (what the member has spent
since is recorded as short, never overdrawn); the coupon is reinstated when the whole sale is refunded and it is
still valid. A refund never lowers the tier: the yearly review does that. A member erased since (their account
closed, its balances settled) gets the stored-value share back in cash; their points and visits stay closed.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Collection, Mapping, Sequence

from core.errors import AlreadyRefunded, InsufficientBalance, NotFound
from core.events import EventDraft
from core.payloads import CouponReinstated, SaleCompleted, SaleRefunded
from core.quote_input import MemberState
from core.rules import Coupon


def lines_to_refund(sale: SaleCompleted, refunded: Collection[int], lines: Sequence[int] | None) -> list[int]:
    """The line numbers (0-based) to refund now: all not yet refunded, or exactly `lines`."""
    count = len(sale.lines)
    if lines is None:
        todo = [i for i in range(count) if i not in refunded]
        if not todo:
            raise AlreadyRefunded("every line of this sale has already been refunded")
        return todo
    for i in lines:
        if not 0 <= i < count:
            raise NotFound(f"the sale has lines 1 to {count}; there is no line {i + 1}")
        if i in refunded:
            raise AlreadyRefunded(f"line {i + 1} ({sale.lines[i].name}) has already been refunded")
    if len(set(lines)) != len(lines):
        raise AlreadyRefunded("a line is listed twice")
    return sorted(lines)


def refund_drafts(
    sale_id: str,
    sale_data: Mapping[str, Any],
    member: MemberState | None,
    refunded: Collection[int],
    lines: Sequence[int] | None,
    coupons: Mapping[str, Coupon],
    today: dt.date,
    closed: bool = False,
) -> list[EventDraft]:
    """The refund event (and coupon reinstatements when the whole sale is now refunded) of the sale whose event
    data is `sale_data`; `closed` when the member was erased since."""
    sale = SaleCompleted.from_data(sale_data)
    todo = lines_to_refund(sale, refunded, lines)
    picked = [sale.lines[i] for i in todo]
    visits: dict[str, int] = {}
    stock: dict[str, int] = {}
    for line in picked:
        if line.visits_pack:
            visits[line.visits_pack] = visits.get(line.visits_pack, 0) + line.visits_used
        if line.pack_bought:
            visits[line.pack_bought] = visits.get(line.pack_bought, 0) - line.pack_visits
        if line.stocked:
            stock[line.sku] = stock.get(line.sku, 0) + line.qty
    amounts = ("points_used", "earned", "stored_value", "cash", "external")
    back = {k: sum(getattr(line, k) for line in picked) for k in amounts}
    clawed = back["earned"]
    if closed:  # nothing may land on a closed account, where it could never be spent or paid out
        back["cash"], back["stored_value"] = back["cash"] + back["stored_value"], 0
        back["points_used"] = back["earned"] = clawed = 0
        visits = {}
    elif member is not None:
        for pack, n in visits.items():
            if member.visits.get(pack, 0) + n < 0:
                raise InsufficientBalance(f"visits of {pack} have been used since; refund what is left by hand")
        # Points the member has since spent cannot be taken back; what is short is recorded, not overdrawn.
        clawed = min(back["earned"], member.points + back["points_used"])
    deltas = {
        "points": back["points_used"] - clawed,
        "stored_value": back["stored_value"],
        "lifetime_spend": -(back["stored_value"] + back["cash"] + back["external"]),
        "visits": {k: v for k, v in visits.items() if v},
        "stock": stock,
    }
    if member is None:
        deltas = {"stock": stock}
    refund = SaleRefunded(
        sale=sale_id,
        lines=tuple(todo),
        cash=back["cash"],
        external=back["external"],
        stored_value=back["stored_value"],
        points_back=back["points_used"],
        points_clawed=clawed,
        points_short=back["earned"] - clawed,
    )
    member_id = member.member_id if member else None
    drafts = [EventDraft.of(refund, member_id, {k: v for k, v in deltas.items() if v})]
    if len(refunded) + len(todo) == len(sale.lines):
        for code in sale.coupons:
            coupon = coupons.get(code)
            if coupon is not None and coupon.valid_on(today):
                drafts.append(EventDraft.of(CouponReinstated(code, sale_id), member_id))
    return drafts


@dataclass(frozen=True)
class RefundPreview:
    """What a refund gives back and takes back, read off the very drafts it commits so the two cannot differ."""

    lines: tuple[int, ...]  # 0-based line numbers refunded
    net: int  # fen of goods refunded
    stored_value: int  # fen back onto the member's stored value
    cash: int  # fen handed back in cash
    external: int  # fen sent back to the card or wallet that paid
    points_back: int  # redeemed points given back
    points_clawed: int  # earned points taken back
    points_short: int  # earned points the member has spent since: recorded, not taken
    stock: Mapping[str, int]  # units back on the shelf by SKU
    visits: Mapping[str, int]  # visits back (or, for a pack refunded, taken away) by pack
    coupons: tuple[str, ...]  # coupons reinstated


def refund_preview(sale_data: Mapping[str, Any], drafts: Sequence[EventDraft]) -> RefundPreview:
    """The preview of the drafts refund_drafts returned for the sale whose event data is `sale_data`."""
    first, *reinstated = drafts
    refund, sale = SaleRefunded.from_data(first.data, first.v), SaleCompleted.from_data(sale_data)
    return RefundPreview(
        lines=tuple(refund.lines),
        net=sum(sale.lines[i].net for i in refund.lines),
        stored_value=refund.stored_value,
        cash=refund.cash,
        external=refund.external,
        points_back=refund.points_back,
        points_clawed=refund.points_clawed,
        points_short=refund.points_short,
        stock=dict(first.deltas.get("stock", {})),
        visits=dict(first.deltas.get("visits", {})),
        coupons=tuple(CouponReinstated.from_data(d.data, d.v).code for d in reinstated),
    )
