"""The member summary a card tap shows: record, balances, recent sales, expiring points and the way to the next tier.

All of it is read in ONE snapshot of the ledger, with the rulebook the sales service has already parsed, so a tap
costs one read transaction and no TOML parse.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, NamedTuple

from core.errors import NotFound
from core.events import SALE_COMPLETED, Event
from core.points import expiring_points
from core.rules import Rules
from kiosk.clock import Clock
from kiosk.services.members import MemberService, MemberView
from kiosk.services.points import PointsService
from kiosk.services.pricing_data import PricingDocs
from kiosk.store import ledger
from kiosk.store.db import Database

RECENT_SALES = 5
SALES_SEARCHED = 50  # of the member's latest events; top-ups and the like are among them


class Purchase(NamedTuple):
    """One recent sale: its day, the names of its items in basket order, and what was paid with money (fen)."""

    day: dt.date
    items: tuple[str, ...]
    amount: int


class TierProgress(NamedTuple):
    """The next tier up and the lifetime spend (fen) still needed to reach it."""

    tier: str
    spend: int


@dataclass(frozen=True)
class MemberSummary:
    """Everything the member screen shows; `expires_on` and `next_tier` are None before a rulebook is loaded."""

    view: MemberView
    purchases: tuple[Purchase, ...]  # newest first
    expiring: int  # points that expire on `expires_on`
    expires_on: dt.date | None
    next_tier: TierProgress | None  # None at the top tier or when tiers follow rolling spend


class MemberSummaries:
    """Look a member up by card, phone or number and summarise them from one consistent read."""

    def __init__(self, db: Database, members: MemberService, points: PointsService, docs: PricingDocs,
                 clock: Clock) -> None:
        self.db, self.members, self.points, self.docs, self.clock = db, members, points, docs, clock

    def by_card(self, uid: str) -> MemberSummary:
        """The holder of this card; CardBlocked for a lost card, NotFound for an unknown one."""
        return self._summary(lambda: self.members.by_card(uid))

    def by_phone(self, phone: str) -> MemberSummary:
        """The member registered with this phone, or NotFound."""
        return self._summary(lambda: self.members.by_phone(phone))

    def by_number(self, member_id: str) -> MemberSummary:
        """The member with this member number (an e-card scan, a reload), or NotFound."""
        return self._summary(lambda: self.members.get(member_id))

    def _summary(self, find: Callable[[], MemberView]) -> MemberSummary:
        try:
            rules: Rules | None = self.docs.current()[0]
        except NotFound:  # no rulebook yet: the balances still show, without expiry or tier progress
            rules = None
        today = self.clock.today()
        with self.db.reading() as conn:  # the member services' reads nest in this snapshot
            view = find()
            member_id = view.member.member_id
            events = ledger.member_events(conn, member_id, SALES_SEARCHED)
            moves = self.points.history(conn, member_id) if rules else []
        purchases = tuple(self._purchase(e) for e in events if e.type == SALE_COMPLETED)[:RECENT_SALES]
        if rules is None:
            return MemberSummary(view, purchases, 0, None, None)
        expiring, expires_on = expiring_points(moves, today, rules)
        spend = view.balances.lifetime_spend
        above = rules.tiers.next_above(spend)
        return MemberSummary(view, purchases, expiring, expires_on,
                             TierProgress(above.name, above.threshold - spend) if above else None)

    def _purchase(self, sale: Event) -> Purchase:
        day = sale.data.get("day")
        return Purchase(
            dt.date.fromisoformat(day) if day else self.clock.local(sale.ts).date(),
            tuple(str(line.get("name", line.get("sku", ""))) for line in sale.data.get("lines", [])),
            int(sale.deltas.get("lifetime_spend", 0)),
        )
