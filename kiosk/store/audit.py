"""The audit chain: every event carries an HMAC, under the kiosk's audit key, of the link before it and its own row.

A row's CRC catches damage, not intent: anyone holding the file can recompute it. A link needs the audit key, kept
outside the data dir (kiosk/store/keyring.py), so an event edited, deleted, inserted or moved breaks the chain at
its position whatever else was recomputed. The chain is a property of this ledger, not of the events: events
ingested from other kiosks are linked here in the order this ledger stores them, and links never travel.

Decided: a ledger written before the chain existed is linked whole at open (`link_old_events`), once, when it holds
events and none of them has a link. A ledger whose every link was stripped looks the same as such an old ledger
(so does any file an attacker writes in the old format): `audit verify` reports it, but the next open links it
again. A lost tail leaves a valid chain; the witness (kiosk/store/witness.py) is what catches that.
"""
from __future__ import annotations

import hmac
import sqlite3
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from core.events import Event
from kiosk.store.db import Database
from kiosk.store.ledger import EVENT_COLUMNS, event_from_row

GENESIS = bytes(32)  # the link before the ledger's first event
# ledger.event_row's columns in its order: the canonical row a link covers, read back exactly as it was written
ROW_COLUMNS = f"{EVENT_COLUMNS}, crc"
_LAST_LINK = "SELECT link FROM events ORDER BY pos DESC LIMIT 1"
_BATCH = 10_000


@dataclass(frozen=True)
class Break:
    """An event whose link does not verify: where it is, and what that says happened."""

    pos: int
    event_id: str
    what: str

    def __str__(self) -> str:
        return f"event #{self.pos} ({self.event_id}): {self.what}"


class Chain:
    """Links ledger rows with this kiosk's audit key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def link(self, prev: bytes, row: Sequence[Any]) -> bytes:
        """The link of `row` (as ledger.event_row gives it) stored right after the event whose link is `prev`.

        The row is hashed as its values joined by the unit separator, like its CRC: no value can hold a raw
        U+001F (ids and operators are validated, JSON escapes control characters), and it costs a third of
        re-encoding the row as JSON, which ingest pays on every event."""
        return hmac.digest(self._key, prev + "\x1f".join(["" if v is None else str(v) for v in row]).encode(), "sha256")

    def linked(self, conn: sqlite3.Connection, rows: Sequence[tuple]) -> list[tuple]:
        """`rows` with their links appended, chained after the ledger's last event; call in the writing transaction."""
        last = conn.execute(_LAST_LINK).fetchone()
        prev = last[0] if last and last[0] is not None else GENESIS
        out = []
        for row in rows:
            prev = self.link(prev, row)
            out.append((*row, prev))
        return out


def has_chain(conn: sqlite3.Connection) -> bool:
    """Whether the ledger's schema has the audit chain (an older one gets it when the kiosk next opens it)."""
    return any(r[1] == "link" for r in conn.execute("PRAGMA table_info(events)"))


def breaks(conn: sqlite3.Connection, chain: Chain) -> Iterator[Break]:
    """Every event whose link does not verify, in ledger order. After a break the walk goes on from the stored link,
    so each tampered spot shows once rather than breaking everything after it."""
    prev, last_pos = GENESIS, 0
    cur = conn.execute(f"SELECT pos, {ROW_COLUMNS}, link FROM events ORDER BY pos")
    while rows := cur.fetchmany(_BATCH):
        for row in rows:
            pos, link = row[0], row[-1]
            want = chain.link(prev, row[1:-1])
            if link != want:
                yield Break(pos, row[1], _why(link, pos, last_pos))
            prev, last_pos = want if link is None else link, pos


def _why(link: bytes | None, pos: int, last_pos: int) -> str:
    if link is None:
        return "has no audit link: it was written into the file outside the kiosk, or its link was removed"
    if pos != last_pos + 1:
        missing = f"#{last_pos + 1}" if pos == last_pos + 2 else f"#{last_pos + 1} to #{pos - 1}"
        return f"the chain breaks here: event {missing} before it was deleted"
    return ("its audit link does not verify: this event was altered, or the event before it was inserted, deleted "
            "or moved")


def link_old_events(db: Database, chain: Chain) -> int:
    """Link the events of a ledger written before the chain existed, once, at open; how many were linked."""
    with db.reading() as conn:
        if not _unlinked(conn):
            return 0
    with db.transaction() as conn:
        if not _unlinked(conn):  # another process linked them meanwhile
            return 0
        guard = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'events_no_update'"
                             ).fetchone()
        conn.execute("DROP TRIGGER events_no_update")  # the only update the ledger ever allows, inside this transaction
        prev, pos, linked = GENESIS, 0, 0
        while rows := conn.execute(f"SELECT pos, {ROW_COLUMNS} FROM events WHERE pos > ? ORDER BY pos LIMIT ?",
                                   (pos, _BATCH)).fetchall():
            links = []
            for row in rows:
                prev = chain.link(prev, row[1:])
                links.append((prev, row[0]))
            conn.executemany("UPDATE events SET link = ? WHERE pos = ?", links)
            pos, linked = rows[-1][0], linked + len(rows)
        conn.execute(guard[0])
    return linked


def _unlinked(conn: sqlite3.Connection) -> bool:
    """A ledger with events and not one link: one from before the chain (or stripped whole, see the module doc)."""
    last = conn.execute(_LAST_LINK).fetchone()
    if last is None or last[0] is not None:
        return False
    return conn.execute("SELECT 1 FROM events WHERE link IS NOT NULL LIMIT 1").fetchone() is None


def events_by(conn: sqlite3.Connection, types: Sequence[str], start_ms: int, end_ms: int,
              operator: str | None = None) -> list[tuple[int, Event]]:
    """(position, event) of the events of `types` in [start_ms, end_ms), of one operator when given, in ledger
    order: the who-did-what of `audit log`."""
    sql = (f"SELECT pos, {EVENT_COLUMNS} FROM events WHERE type IN ({', '.join('?' * len(types))})"
           " AND ts >= ? AND ts < ?")
    params: list[Any] = [*types, start_ms, end_ms]
    if operator is not None:
        sql += " AND operator = ?"
        params.append(operator)
    return [(row[0], event_from_row(row[1:])) for row in conn.execute(sql + " ORDER BY pos", params)]
