"""PIN hashes and failure counts of members (payment) and staff (login), in their own rows."""
from __future__ import annotations

import sqlite3

_KEYS = {"members": "member_id", "staff": "staff_no"}  # the tables whose rows carry pin_hash and pin_failures


def get(conn: sqlite3.Connection, table: str, key: str) -> tuple[str | None, int] | None:
    """(pin_hash, failures) of a member or staff row, None when there is no such row."""
    return conn.execute(f"SELECT pin_hash, pin_failures FROM {table} WHERE {_KEYS[table]} = ?", (key,)).fetchone()


def set_failures(conn: sqlite3.Connection, table: str, key: str, failures: int) -> None:
    """Record the count of wrong PINs in a row (0 after a right one)."""
    conn.execute(f"UPDATE {table} SET pin_failures = ? WHERE {_KEYS[table]} = ?", (failures, key))
