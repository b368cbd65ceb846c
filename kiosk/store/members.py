"""Member and card rows: the mutable personal record beside the immutable ledger.

Phone, name and birthday are stored sealed (kiosk.store.pii) and the phone is found by its keyed hash in
`phone_index`; the checksum covers the stored (sealed) values, so verify checks rows without opening them.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Sequence

from core.members import Member
from kiosk.store import meta
from kiosk.store.checksum import row_crc
from kiosk.store.errors import StoreDamaged
from kiosk.store.pii import SEALED, is_sealed, key_of

_COLUMNS = "member_id, phone, name, birthday, gender, consent_at, created_at, erased_at, marketing_consent_at"


def _row(conn: sqlite3.Connection, m: Member) -> tuple:
    """The stored row: personal fields sealed to the member."""
    key, birthday = key_of(conn), m.birthday.isoformat() if m.birthday else None
    phone, name, birthday = (key.seal(m.member_id, f, v) for f, v in zip(SEALED, (m.phone, m.name, birthday)))
    return (m.member_id, phone, name, birthday, m.gender, m.consent_at, m.created_at, m.erased_at,
            m.marketing_consent_at)


def _index(conn: sqlite3.Connection, m: Member) -> bytes | None:
    return key_of(conn).phone_index(m.phone) if m.phone else None


def _member(conn: sqlite3.Connection, row: Sequence) -> Member:
    key = key_of(conn)
    phone, name, birthday = (key.open(row[0], f, v) for f, v in zip(SEALED, row[1:4]))
    return Member(row[0], phone, name, dt.date.fromisoformat(birthday) if birthday else None, *row[4:9])


def insert(conn: sqlite3.Connection, m: Member) -> None:
    """Add a new member record (with its checksum); a number already in use is refused, never overwritten."""
    row = _row(conn, m)
    if conn.execute("SELECT 1 FROM members WHERE member_id = ?", (m.member_id,)).fetchone():
        raise StoreDamaged(f"member number {m.member_id} is already in use: the ledger's member counter is damaged and "
                           "nothing was written. Run 'memberkiosk verify' and restore the last backup")
    conn.execute(f"INSERT INTO members ({_COLUMNS}, crc, phone_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (*row, row_crc(row), _index(conn, m)))


def save(conn: sqlite3.Connection, m: Member) -> None:
    """Insert or overwrite a member record (with its checksum): a replicated record, or an edit of a known member."""
    row = _row(conn, m)
    conn.execute(
        f"INSERT INTO members ({_COLUMNS}, crc, phone_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (member_id) DO UPDATE SET phone = excluded.phone, name = excluded.name,"
        " birthday = excluded.birthday, gender = excluded.gender, consent_at = excluded.consent_at,"
        " erased_at = excluded.erased_at, marketing_consent_at = excluded.marketing_consent_at, crc = excluded.crc, phone_index = excluded.phone_index",
        (*row, row_crc(row), _index(conn, m)),
    )


def get(conn: sqlite3.Connection, member_id: str) -> Member | None:
    """The member with this id, or None."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM members WHERE member_id = ?", (member_id,)).fetchone()
    return _member(conn, row) if row else None


def erased_at(conn: sqlite3.Connection, member_id: str) -> tuple[bool, int | None]:
    """(exists, erased at) of a member, without opening any sealed field: what the commit policy needs."""
    row = conn.execute("SELECT erased_at FROM members WHERE member_id = ?", (member_id,)).fetchone()
    return (row is not None, row[0] if row else None)


def by_phone(conn: sqlite3.Connection, phone: str) -> Member | None:
    """The member registered with this phone, or None: an index seek on the phone's keyed hash."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM members WHERE phone_index = ?",
                       (key_of(conn).phone_index(phone),)).fetchone()
    return _member(conn, row) if row else None


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
    n = int(meta.get(conn, "member_counter") or 0) + 1
    meta.put(conn, "member_counter", str(n))
    return f"{kiosk_id}-{n:06d}"


def count(conn: sqlite3.Connection) -> int:
    """Number of member records."""
    return conn.execute("SELECT COUNT(*) FROM members").fetchone()[0]


def all_rows(conn: sqlite3.Connection) -> list[tuple]:
    """Every member row as stored (sealed) with its stored checksum, for verify."""
    return conn.execute(f"SELECT {_COLUMNS}, crc FROM members ORDER BY created_at, member_id").fetchall()


def all_members(conn: sqlite3.Connection) -> list[Member]:
    """Every member record, opened (for the shop owner's export)."""
    return [_member(conn, row[:-1]) for row in all_rows(conn)]


def index_matches(conn: sqlite3.Connection, member_id: str) -> bool:
    """Whether the member's phone index is the keyed hash of their phone (verify)."""
    m, row = get(conn, member_id), conn.execute("SELECT phone_index FROM members WHERE member_id = ?", (member_id,))
    return m is None or row.fetchone()[0] == _index(conn, m)


def seal_plaintext(conn: sqlite3.Connection) -> int:
    """Seal the rows written before encryption at rest (and index their phones); returns how many."""
    plain = [row for row in all_rows(conn) if any(v is not None and not is_sealed(v) for v in row[1:4])]
    for row in plain:
        save(conn, _member(conn, row[:-1]))
    return len(plain)


def set_pin(conn: sqlite3.Connection, member_id: str, pin_hash: str | None) -> None:
    """Store the payment PIN's hash and clear the failure count."""
    conn.execute("UPDATE members SET pin_hash = ?, pin_failures = 0 WHERE member_id = ?", (pin_hash, member_id))
