"""What a ledger follower is, and the cursor most followers keep in the ledger's `cursors` table.

A follower reads committed events in ledger order and records, durably and together with its own effect,
how far it has read. A crash between a commit and the follower loses nothing: it resumes from its position.
"""
from __future__ import annotations

import sqlite3
from typing import Collection, Protocol, Sequence

from core.events import Event
from kiosk.clock import Clock
from kiosk.store import cursors
from kiosk.store.db import Database

Batch = Sequence[tuple[int, Event]]  # (ledger position, event), in ledger order


class Follower(Protocol):
    """After-commit work: it sees only the events it selects (`kiosk_id`, `types`), in batches of at most `batch`."""

    name: str
    kiosk_id: str | None  # only events made on this kiosk (None: every event, ingested ones too)
    types: Collection[str] | None  # only these event types (None: all)
    batch: int

    def position(self) -> int:
        """Where this follower has read up to (a ledger position, 0 before the first event)."""

    def handle(self, events: Batch, upto: int) -> None:
        """Do the work for `events` and durably record a position up to `upto` (events it skipped lie up to there)."""

    def rewind(self) -> None:
        """Start again from the ledger's first event (a replay: derived state is rebuilt)."""


class TableCursor:
    """A follower's position as a row of `cursors`; a follower new to this ledger starts at its end or at 0."""

    def __init__(self, db: Database, clock: Clock, name: str, from_start: bool) -> None:
        self.db, self.clock, self.name = db, clock, name
        with db.transaction() as conn:
            begin = 0 if from_start else cursors.max_pos(conn)
            cursors.start(conn, name, begin, clock.now_ms())

    def position(self) -> int:
        """The durable position."""
        with self.db.reading() as conn:
            return cursors.position(conn, self.name) or 0

    def advance(self, conn: sqlite3.Connection, pos: int) -> None:
        """Move forward to `pos` inside the caller's transaction, so the work and the cursor commit together."""
        cursors.advance(conn, self.name, pos, self.clock.now_ms())

    def rewind(self) -> None:
        """Back to 0."""
        with self.db.transaction() as conn:
            cursors.reset(conn, self.name, 0, self.clock.now_ms())
