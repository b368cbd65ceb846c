"""The ledger's own facts (`meta`): which kiosk and store wrote it, fixed when the data directory was created."""
from __future__ import annotations

import sqlite3


def identity(conn: sqlite3.Connection) -> dict[str, str]:
    """The stored kiosk_id and store_id (empty on a new ledger)."""
    return dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('kiosk_id', 'store_id')").fetchall())


def set_identity(conn: sqlite3.Connection, kiosk_id: str, store_id: str) -> None:
    """Record the ids of a new ledger, once."""
    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [("kiosk_id", kiosk_id), ("store_id", store_id)])
