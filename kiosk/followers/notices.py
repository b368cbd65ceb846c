"""The notices follower: the account notices of this kiosk's events go into the outbox, exactly once each."""
from __future__ import annotations

from typing import Callable

from core.notices import EVENT_TYPES, for_event
from kiosk.clock import Clock
from kiosk.followers.base import Batch, TableCursor
from kiosk.notices import outbox
from kiosk.notices.sender import due_in
from kiosk.notices.settings import NoticeSettings
from kiosk.store import members
from kiosk.store.db import Database

SKIP_GAP = 1000


class NoticesFollower:
    """Queues the notices of each own event (registration, top-up, sale, refund, points, tier) in the transaction that
    moves its cursor; the outbox's unique key makes a replay add nothing. Events ingested from other kiosks are
    theirs to notify. A kiosk that turns notifications on starts at the ledger's end: it does not text the past."""

    name = "notices"
    types = EVENT_TYPES
    batch = 200

    def __init__(self, db: Database, clock: Clock, kiosk_id: str, settings: Callable[[], NoticeSettings],
                 queued: Callable[[], None] = lambda: None) -> None:
        self.db, self.clock, self.kiosk_id = db, clock, kiosk_id
        self._settings, self._queued = settings, queued
        self._cursor = TableCursor(db, clock, self.name, from_start=False)

    def position(self) -> int:
        """The last ledger position whose notices (if any) are queued."""
        return self._cursor.position()

    def handle(self, events: Batch, upto: int) -> None:
        """Queue the events' notices and move the cursor in one transaction, then wake the sender."""
        if not events and upto - self.position() < SKIP_GAP:
            return
        settings = self._settings()
        added = 0
        with self.db.transaction() as conn:
            if settings.transactional:  # every event notice is an account notice
                created = self.clock.local()
                for pos, event in events:
                    exists, erased = members.erased_at(conn, event.member_id) if event.member_id else (False, None)
                    if not exists or erased is not None:
                        continue
                    points, stored_value = outbox.balances_at(conn, event.member_id, pos)
                    made = for_event(event, points, stored_value, settings.policy)
                    added += outbox.add(conn, [(n, due_in(settings, created, False, self.clock)) for n in made],
                                        self.clock.now_ms())
            self._cursor.advance(conn, upto)
        if added:
            self._queued()

    def rewind(self) -> None:
        """From the first event again: notices already queued are not queued twice."""
        self._cursor.rewind()
