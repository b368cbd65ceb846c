"""The ledger's own facts (`meta`): which kiosk and store wrote it, and its counters, each row with a checksum.

A flipped bit in a counter would hand out a number already in use, so a row whose checksum fails is never used.
"""
from __future__ import annotations

import sqlite3

from kiosk.store.checksum import row_crc
from kiosk.store.errors import StoreDamaged


def get(conn: sqlite3.Connection, key: str) -> str | None:
    """The value stored under `key` (None when absent); StoreDamaged when its checksum fails."""
    row = conn.execute("SELECT value, crc FROM meta WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    if row[1] != row_crc((key, row[0])):
        raise StoreDamaged(f"the ledger's {key} is damaged (checksum mismatch); nothing was written. "
                           "Run 'memberkiosk verify' and restore the last backup")
    return row[0]


def put(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Store `value` under `key` with its checksum."""
    conn.execute("INSERT INTO meta (key, value, crc) VALUES (?, ?, ?)"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value, crc = excluded.crc",
                 (key, value, row_crc((key, value))))


def damaged(conn: sqlite3.Connection) -> list[str]:
    """The keys whose checksum fails (for verify)."""
    return [key for key, value, crc in conn.execute("SELECT key, value, crc FROM meta ORDER BY key")
            if crc != row_crc((key, value))]


def identity(conn: sqlite3.Connection) -> dict[str, str]:
    """The stored kiosk_id and store_id (empty on a new ledger)."""
    found = {key: get(conn, key) for key in ("kiosk_id", "store_id")}
    return {key: value for key, value in found.items() if value is not None}


def set_identity(conn: sqlite3.Connection, kiosk_id: str, store_id: str) -> None:
    """Record the ids of a new ledger, once."""
    conn.executemany("INSERT INTO meta (key, value, crc) VALUES (?, ?, ?)",
                     [(key, value, row_crc((key, value))) for key, value in (("kiosk_id", kiosk_id), ("store_id", store_id))])
