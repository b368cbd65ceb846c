"""Member and card rows: the mutable personal record beside the immutable ledger."""
from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Sequence

from core.members import Member
from kiosk.store.checksum import row_crc

_COLUMNS = "member_id, phone, name, birthday, gender, consent_at, created_at, erased_at"


def _row(m: Member) -> tuple:
    birthday = m.birthday.isoformat() if m.birthday else None
    return (m.member_id, m.phone, m.name, birthday, m.gender, m.consent_at, m.created_at, m.erased_at)


def _member(row: Sequence) -> Member:
    birthday = dt.date.fromisoformat(row[3]) if row[3] else None
    return Member(row[0], row[1], row[2], birthday, row[4], row[5], row[6], row[7])


def save(conn: sqlite3.Connection, m: Member) -> None:
    """Insert or overwrite a member record (with its checksum)."""
    row = _row(m)
    conn.execute(
        f"INSERT INTO members ({_COLUMNS}, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (member_id) DO UPDATE SET phone = excluded.phone, name = excluded.name,"
        " birthday = excluded.birthday, gender = excluded.gender, consent_at = excluded.consent_at,"
        " erased_at = excluded.erased_at, crc = excluded.crc",
        (*row, row_crc(row)),
    )


def get(conn: sqlite3.Connection, member_id: str) -> Member | None:
    """The member with this id, or None."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM members WHERE member_id = ?", (member_id,)).fetchone()
    return _member(row) if row else None


def by_phone(conn: sqlite3.Connection, phone: str) -> Member | None:
    """The member registered with this phone, or None."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM members WHERE phone = ?", (phone,)).fetchone()
    return _member(row) if row else None


def card(conn: sqlite3.Connection, uid: str) -> tuple[str, str] | None:
    """(member_id, status) of a card UID, or None for a card never linked."""
    return conn.execute("SELECT member_id, status FROM cards WHERE uid = ?", (uid,)).fetchone()


def cards_of(conn: sqlite3.Connection, member_id: str) -> list[tuple[str, str]]:
    """(uid, status) of every card ever linked to the member."""
    return conn.execute(
        "SELECT uid, status FROM cards WHERE member_id = ? ORDER BY linked_at", (member_id,)
    ).fetchall()


def link_card(conn: sqlite3.Connection, uid: str, member_id: str, now_ms: int) -> None:
    """Record that a card belongs to a member."""
    conn.execute(
        "INSERT INTO cards (uid, member_id, status, linked_at) VALUES (?, ?, 'active', ?)", (uid, member_id, now_ms)
    )


def block_card(conn: sqlite3.Connection, uid: str, now_ms: int) -> None:
    """Mark a card lost: it no longer identifies anyone, and it cannot be linked again."""
    conn.execute("UPDATE cards SET status = 'blocked', blocked_at = ? WHERE uid = ?", (now_ms, uid))


def next_member_id(conn: sqlite3.Connection, kiosk_id: str) -> str:
    """A member number unique across the chain: this kiosk's id and a counter kept in the same transaction."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'member_counter'").fetchone()
    n = int(row[0]) + 1 if row else 1
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('member_counter', ?)", (str(n),))
    return f"{kiosk_id}-{n:06d}"


def count(conn: sqlite3.Connection) -> int:
    """Number of member records."""
    return conn.execute("SELECT COUNT(*) FROM members").fetchone()[0]


def all_rows(conn: sqlite3.Connection) -> list[tuple]:
    """Every member row with its stored checksum (for verify and export)."""
    return conn.execute(f"SELECT {_COLUMNS}, crc FROM members ORDER BY created_at, member_id").fetchall()


def set_pin(conn: sqlite3.Connection, member_id: str, pin_hash: str | None) -> None:
    """Store the payment PIN's hash and clear the failure count."""
    conn.execute("UPDATE members SET pin_hash = ?, pin_failures = 0 WHERE member_id = ?", (pin_hash, member_id))
