"""Kiosks whose sync files this kiosk has taken, with the key each signed its first file with (trust on first use)."""
from __future__ import annotations

import sqlite3


def key_of(conn: sqlite3.Connection, kiosk_id: str) -> str | None:
    """The public key remembered for `kiosk_id`, or None for a kiosk never heard from."""
    row = conn.execute("SELECT public_key FROM sync_peers WHERE kiosk_id = ?", (kiosk_id,)).fetchone()
    return row[0] if row else None


def remember(conn: sqlite3.Connection, kiosk_id: str, store_id: str, public_key: str, now_ms: int) -> None:
    """Trust `public_key` for `kiosk_id` from now on (first use)."""
    conn.execute("INSERT OR IGNORE INTO sync_peers (kiosk_id, store_id, public_key, first_seen) VALUES (?, ?, ?, ?)",
                 (kiosk_id, store_id, public_key, now_ms))


def forget(conn: sqlite3.Connection, kiosk_id: str) -> bool:
    """Drop the key remembered for `kiosk_id` (a reinstalled kiosk); True if there was one."""
    return conn.execute("DELETE FROM sync_peers WHERE kiosk_id = ?", (kiosk_id,)).rowcount > 0
