"""Ledger followers' durable cursors, and the reads they make: events after a position, the ledger's end."""
from __future__ import annotations

import sqlite3
from typing import Collection

from core.events import Event
from kiosk.store.ledger import EVENT_COLUMNS, event_from_row

# data and deltas read as bytes, which orjson decodes without a str made first: a facts rebuild reads 1M sales
_READ_COLUMNS = EVENT_COLUMNS.replace("data, deltas", "CAST(data AS BLOB), CAST(deltas AS BLOB)")


def max_pos(conn: sqlite3.Connection) -> int:
    """The position of the ledger's last event (0 for an empty ledger)."""
    return conn.execute("SELECT COALESCE(MAX(pos), 0) FROM events").fetchone()[0]


def events_after(conn: sqlite3.Connection, pos: int, limit: int, kiosk_id: str | None = None,
                 types: Collection[str] | None = None) -> list[tuple[int, Event]]:
    """Up to `limit` (position, event) pairs after `pos` in ledger order, only of `kiosk_id` and `types` when given."""
    sql, params = f"SELECT pos, {_READ_COLUMNS} FROM events WHERE pos > ?", [pos]
    if kiosk_id is not None:
        sql += " AND kiosk_id = ?"
        params.append(kiosk_id)
    if types is not None:
        sql += f" AND type IN ({', '.join('?' * len(types))})"
        params.extend(sorted(types))
    sql += " ORDER BY pos LIMIT ?"
    params.append(limit)
    return [(row[0], event_from_row(row[1:])) for row in conn.execute(sql, params)]


def position(conn: sqlite3.Connection, name: str) -> int | None:
    """Where follower `name` has read up to, or None when it never ran here."""
    row = conn.execute("SELECT pos FROM cursors WHERE name = ?", (name,)).fetchone()
    return row[0] if row else None


def start(conn: sqlite3.Connection, name: str, pos: int, now_ms: int) -> int:
    """Create follower `name`'s cursor at `pos` unless it exists; returns its position. Call in a transaction."""
    conn.execute("INSERT OR IGNORE INTO cursors (name, pos, updated_at) VALUES (?, ?, ?)", (name, pos, now_ms))
    return conn.execute("SELECT pos FROM cursors WHERE name = ?", (name,)).fetchone()[0]


def advance(conn: sqlite3.Connection, name: str, pos: int, now_ms: int) -> None:
    """Move follower `name`'s cursor forward to `pos` (never back). Call in a transaction."""
    conn.execute("UPDATE cursors SET pos = ?, updated_at = ? WHERE name = ? AND pos < ?", (pos, now_ms, name, pos))


def reset(conn: sqlite3.Connection, name: str, pos: int, now_ms: int) -> None:
    """Put follower `name`'s cursor at `pos`, back or forward: a replay from 0 re-reads the whole ledger."""
    conn.execute("INSERT OR REPLACE INTO cursors (name, pos, updated_at) VALUES (?, ?, ?)", (name, pos, now_ms))


def event_id_at(conn: sqlite3.Connection, pos: int) -> str | None:
    """The id of the event at ledger position `pos` (a derived cache checks it still reads the same ledger)."""
    row = conn.execute("SELECT id FROM events WHERE pos = ?", (pos,)).fetchone()
    return row[0] if row else None


def first_event_id(conn: sqlite3.Connection) -> str:
    """The id of the ledger's first event, which names this ledger ("" while it is empty)."""
    row = conn.execute("SELECT id FROM events ORDER BY pos LIMIT 1").fetchone()
    return row[0] if row else ""
