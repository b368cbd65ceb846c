"""The facts follower: keeps the sales fact tables current, each batch's rows and its cursor in one transaction."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from core.facts import BALANCES, TYPES, gives_facts
from kiosk.clock import Clock
from kiosk.facts import schema
from kiosk.facts.writer import FactWriter
from kiosk.followers.base import Batch, TableCursor
from kiosk.followers.receipts import SKIP_GAP
from kiosk.store import cursors
from kiosk.store.db import Database


@dataclass(frozen=True)
class FactsStatus:
    """Where the facts are: the follower's ledger position, the ledger's end, fact-giving events not yet written,
    and the rows of each fact table."""

    position: int
    end: int
    pending: int
    rows: dict[str, int]


class FactsFollower:
    """Every event of every kiosk that gives facts (sales, refunds, balance moves, coupons, clockings), from the
    ledger's first event: a kiosk upgraded to facts gets its whole history."""

    name = "facts"
    kiosk_id = None
    types = None  # every event: any member's event may move a balance, and fact_moves holds every move
    batch = 10_000  # a catch-up commits every 10k events: fewer fsyncs, fewer lookups of known sales

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock
        self._cursor = TableCursor(db, clock, self.name, from_start=True)
        self._writer: FactWriter | None = None

    def position(self) -> int:
        """The last ledger position whose facts are written."""
        return self._cursor.position()

    def _writer_on(self, conn: sqlite3.Connection) -> FactWriter:
        if self._writer is None:
            self._writer = FactWriter(conn.cursor(), "?", lambda event_id: _event_key(conn, event_id))
        return self._writer

    def handle(self, events: Batch, upto: int) -> None:
        """Write the events' facts and move the cursor in one transaction (a stretch without facts moves it only
        every SKIP_GAP positions, as the receipts follower does: a member's registration costs no second fsync)."""
        if not any(gives_facts(event) for _pos, event in events) and upto - self.position() < SKIP_GAP:
            return
        try:
            with self.db.transaction() as conn:
                self._writer_on(conn).write([event for _pos, event in events], self.clock.tz)
                self._cursor.advance(conn, upto)
        except BaseException:
            if self._writer is not None:
                self._writer.forget()  # its cached new ids were rolled back
            raise

    def rewind(self) -> None:
        """Delete every fact row and start again from the ledger's first event."""
        with self.db.transaction() as conn:
            schema.clear(conn)
            cursors.reset(conn, self.name, 0, self.clock.now_ms())
        if self._writer is not None:
            self._writer.forget()


def _event_key(conn: sqlite3.Connection, event_id: str) -> tuple[str, int] | None:
    """The (kiosk id, seq) of the event with `event_id` in this ledger."""
    row = conn.execute("SELECT kiosk_id, seq FROM events WHERE id = ?", (event_id,)).fetchone()
    return (row[0], row[1]) if row else None


def status(db: Database, follower: FactsFollower) -> FactsStatus:
    """The facts' position against the ledger's end, and each table's row count."""
    position = follower.position()
    with db.reading() as conn:
        end = cursors.max_pos(conn)
        marks = ", ".join("?" * len(TYPES))
        moves = " OR ".join(f"json_type(deltas, '$.{key}') IS NOT NULL" for key in BALANCES)
        pending = conn.execute(f"SELECT COUNT(*) FROM events WHERE pos > ? AND (type IN ({marks}) OR "
                               f"member_id IS NOT NULL AND ({moves}))", (position, *sorted(TYPES))).fetchone()[0]
        rows = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in schema.FACT_TABLES}
    return FactsStatus(position, end, pending, rows)
