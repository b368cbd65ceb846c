"""PIN hashes, failure counts and the time of the last failure of members (payment) and staff (login), in their rows."""
from __future__ import annotations

import sqlite3

_KEYS = {"members": "member_id", "staff": "staff_no"}  # the tables whose rows carry pin_hash and pin_failures


def get(conn: sqlite3.Connection, table: str, key: str) -> tuple[str | None, int, int | None] | None:
    """(pin_hash, failures, last failure ms) of a member or staff row, None when there is no such row."""
    return conn.execute(f"SELECT pin_hash, pin_failures, pin_failed_at FROM {table} WHERE {_KEYS[table]} = ?",
                        (key,)).fetchone()


def set_failures(conn: sqlite3.Connection, table: str, key: str, failures: int, failed_at: int | None) -> None:
    """Record the count of wrong PINs in a row (0 after a right one or an unlock) and when the last one was typed."""
    conn.execute(f"UPDATE {table} SET pin_failures = ?, pin_failed_at = ? WHERE {_KEYS[table]} = ?",
                 (failures, failed_at, key))
