"""Staff rows: accounts with a role, a PIN hash and an optional staff card."""
from __future__ import annotations

import sqlite3

_COLUMNS = "staff_no, name, role"


def exists(conn: sqlite3.Connection, staff_no: str) -> bool:
    """Whether the staff number is taken (active or not)."""
    return conn.execute("SELECT 1 FROM staff WHERE staff_no = ?", (staff_no,)).fetchone() is not None


def card_in_use(conn: sqlite3.Connection, uid: str) -> bool:
    """Whether a card UID is already a member's card or a staff card."""
    return conn.execute(
        "SELECT 1 FROM cards WHERE uid = ? UNION SELECT 1 FROM staff WHERE card_uid = ?", (uid, uid)
    ).fetchone() is not None


def is_staff_card(conn: sqlite3.Connection, uid: str) -> bool:
    """Whether a card UID belongs to a staff account."""
    return conn.execute("SELECT 1 FROM staff WHERE card_uid = ?", (uid,)).fetchone() is not None


def insert(conn: sqlite3.Connection, staff_no: str, name: str, role: str, pin_hash: str, card_uid: str | None,
           now_ms: int) -> None:
    """Create an account."""
    conn.execute(
        "INSERT INTO staff (staff_no, name, role, pin_hash, card_uid, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (staff_no, name, role, pin_hash, card_uid, now_ms),
    )


def get(conn: sqlite3.Connection, staff_no: str) -> tuple[str, str, str] | None:
    """(staff_no, name, role) of an active account."""
    return conn.execute(f"SELECT {_COLUMNS} FROM staff WHERE staff_no = ? AND active = 1", (staff_no,)).fetchone()


def by_card(conn: sqlite3.Connection, uid: str) -> str | None:
    """The staff number of the active account holding this card."""
    row = conn.execute("SELECT staff_no FROM staff WHERE card_uid = ? AND active = 1", (uid,)).fetchone()
    return row[0] if row else None


def active(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """(staff_no, name, role) of every active account, by number."""
    return conn.execute(f"SELECT {_COLUMNS} FROM staff WHERE active = 1 ORDER BY staff_no").fetchall()
