"""The commit gateway: every use case writes through `Gateway.unit`, so one policy guards every path to the ledger.

A unit is one SQLite IMMEDIATE transaction. What it appends is stamped with the operator (a staff number,
`customer` at self-service, `cli:<user>` or `system`), checked against the shared policy (a blocked card, an
erased member, a malformed operator are refused; in a chain, a spend beyond the kiosk's allowance goes to head office
(kiosk/services/escrow.py), nothing is written while head office holds a tail of this ledger that it lacks, and
no money changes hands while head office has locked the kiosk or the disk is nearly full),
linked into the audit chain, and durable when the unit returns. Followers (receipts, sync, history) are woken after
the commit; they read the ledger themselves, so nothing is lost if that wake-up is.
"""
from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from core import events as ev
from core.errors import CardBlocked, InvalidInput, KioskLocked, LedgerBehindHub, MemberErased, NotAllowed, NotFound
from core.events import CUSTOMER, SYSTEM, Event, EventDraft
from kiosk.clock import Clock
from kiosk.store import chain_state, fleet_state, ledger, members as member_rows
from kiosk.store.audit import Chain
from kiosk.store.db import Database
from kiosk.store.ledger import Identity
from kiosk.store.space import FreeSpace

if TYPE_CHECKING:
    from kiosk.services.escrow import Escrow

log = logging.getLogger(__name__)

_OPERATOR = re.compile(r"^(?:[A-Za-z0-9]{2,12}|cli:[\w.@-]{1,32})$")
# What an erased member's account may still see: staff refunding an earlier sale, coupons coming back with it,
# a lost card blocked, and the system's year-end expiry and tier review.
_AFTER_ERASURE = {ev.SALE_REFUNDED, ev.COUPON_REINSTATED, ev.CARD_BLOCKED, ev.POINTS_EXPIRED, ev.TIER_CHANGED}
# Money over the counter, which a kiosk locked by head office refuses on every path (screens and commands alike).
_LOCKED_OUT = {ev.SALE_COMPLETED, ev.SALE_REFUNDED, ev.TOPPED_UP, ev.VISITS_SOLD}


def check_operator(operator: str) -> str:
    """A valid operator: a staff number, `customer`, `system` or `cli:<user>`."""
    if operator in (CUSTOMER, SYSTEM) or _OPERATOR.match(operator or ""):
        return operator
    raise InvalidInput(f"'{operator}' is not an operator: use a staff number, '{CUSTOMER}' or 'cli:NAME'")


def is_staff(operator: str) -> bool:
    """Whether a person on the staff (or the shop's own command line) did it, rather than a customer or the system."""
    return operator not in (CUSTOMER, SYSTEM)


@dataclass
class Unit:
    """One transaction in progress: its connection, its instant, who acts, and what it appended so far."""

    conn: sqlite3.Connection
    now: int
    operator: str
    who: Identity
    chain: Chain
    events: list[Event] = field(default_factory=list)
    escrow: Escrow | None = None  # in a chain: what this kiosk may spend of a member without asking head office
    space: FreeSpace | None = None  # the free-space floor under the ledger (store.min_free_mb)

    def append(self, drafts: Sequence[EventDraft]) -> list[Event]:
        """Apply the policy to `drafts` and append them as one batch (one txn id) of this unit."""
        if any(d.type in _LOCKED_OUT for d in drafts):
            _check_unlocked(self.conn)
            if self.space is not None:
                self.space.check()
        for member_id in sorted({d.member_id for d in drafts if d.member_id}):
            theirs = [d for d in drafts if d.member_id == member_id]
            _check_member(self.conn, member_id, theirs, self.operator)
            if self.escrow is not None:
                self.escrow.check(self.conn, member_id, theirs, self.operator)
        written = ledger.append(self.conn, self.who, drafts, self.now, self.operator, self.chain)
        self.events += written
        return written


def _check_member(conn: sqlite3.Connection, member_id: str, drafts: list[EventDraft], operator: str) -> None:
    exists, erased_at = member_rows.erased_at(conn, member_id)
    if not exists:
        raise NotFound(f"no member with number {member_id}")
    if erased_at is None:
        return
    refused = sorted({d.type for d in drafts} - _AFTER_ERASURE)
    if refused:
        raise MemberErased(f"member {member_id} was erased at their request; their account is closed ({refused[0]})")
    if any(d.type == ev.SALE_REFUNDED for d in drafts) and not is_staff(operator):
        raise NotAllowed(f"member {member_id} was erased; only staff can refund their earlier sales")


def _check_card(conn: sqlite3.Connection, uid: str) -> None:
    owner = member_rows.card(conn, uid)
    if owner is not None and owner[1] == "blocked":
        raise CardBlocked(f"card {uid} was reported lost and no longer works; ask staff for a new card")


def _check_unlocked(conn: sqlite3.Connection) -> None:
    locked = fleet_state.lock(conn)
    if locked is not None:
        raise KioskLocked(f"This kiosk is locked by head office: {locked[0]}. It sells again when head office "
                          "unlocks it.")


def _check_tail(conn: sqlite3.Connection) -> None:
    lost = chain_state.lost_tail(conn)
    if lost is not None:  # a new event would take a sequence number head office already holds for another
        raise LedgerBehindHub(f"This kiosk's ledger is missing events up to {lost} that head office holds (restored "
                              "from an old backup?). Run: memberkiosk sync restore")


class Gateway:
    """The one way into the ledger: `unit()` for a use case, `commit()` for a plain batch of drafts."""

    def __init__(self, db: Database, who: Identity, clock: Clock, chain: Chain) -> None:
        self.db, self.who, self.clock, self.chain = db, who, clock, chain
        self.escrow: Escrow | None = None  # set by the bootstrap when the kiosk is in a chain
        self.space: FreeSpace | None = None  # set by the bootstrap: money pauses when the disk is nearly full
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after every commit that added events (on the committing thread); it reads the ledger."""
        self._listeners.append(listener)

    @contextlib.contextmanager
    def unit(self, operator: str, card: str | None = None) -> Iterator[Unit]:
        """A transaction by `operator`; with `card`, the card it was started by must still be active at commit."""
        check_operator(operator)
        with self.db.transaction() as conn:
            _check_tail(conn)
            if card is not None:
                _check_card(conn, card)
            unit = Unit(conn, self.clock.now_ms(), operator, self.who, self.chain, escrow=self.escrow, space=self.space)
            yield unit
        if unit.events:
            self.notify()

    def commit(self, operator: str, drafts: Sequence[EventDraft], card: str | None = None) -> list[Event]:
        """Commit drafts computed by core (a top-up, an adjustment) as one atomic batch."""
        with self.unit(operator, card) as unit:
            return unit.append(drafts)

    def notify(self) -> None:
        """Tell the followers the ledger grew: after a unit, or after events from elsewhere were ingested."""
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # a follower's wake-up must never undo or fail a committed sale
                log.exception("after-commit listener %r failed; it catches up from its cursor", listener)
