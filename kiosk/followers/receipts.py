"""The receipt follower: every sale made on this kiosk gets its receipt queued for the printer, exactly once."""
from __future__ import annotations

from typing import Callable

from core.events import SALE_COMPLETED
from kiosk.clock import Clock
from kiosk.followers.base import Batch, TableCursor
from kiosk.store import print_jobs
from kiosk.store.db import Database

SKIP_GAP = 1000


class ReceiptFollower:
    """Queues a print job per own sale in the transaction that moves its cursor; sales ingested from others never print.

    A new kiosk (or one upgraded from the separate print-queue file) starts at the ledger's end: it does not
    print its past.
    """

    name = "receipts"
    types = frozenset({SALE_COMPLETED})
    batch = 100

    def __init__(self, db: Database, clock: Clock, kiosk_id: str, queued: Callable[[], None] = lambda: None) -> None:
        self.db, self.clock, self.kiosk_id = db, clock, kiosk_id
        self._queued = queued
        self._cursor = TableCursor(db, clock, self.name, from_start=False)

    def position(self) -> int:
        """The last ledger position whose sale (if any) is queued."""
        return self._cursor.position()

    def handle(self, events: Batch, upto: int) -> None:
        """Queue the sales' receipts and move the cursor in one transaction, then wake the printer.

        With no sale to queue the cursor moves only every SKIP_GAP positions: a top-up then costs no second
        fsync, and the next look re-reads at most that many skipped events."""
        if not events and upto - self.position() < SKIP_GAP:
            return
        with self.db.transaction() as conn:
            print_jobs.enqueue_sales(conn, [event.txn for _pos, event in events], self.clock.now_ms())
            self._cursor.advance(conn, upto)
        if events:
            self._queued()

    def rewind(self) -> None:
        """From the first event again: sales that already have a receipt job are not queued twice."""
        self._cursor.rewind()
