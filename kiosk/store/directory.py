"""The member directory feed in SQLite: the `directory` table of changes, merged into `members` and `cards`.

`members` and `cards` stay what lookups read; after every change of a member they are rewritten from the merge of
all its changes (core.directory). Two members holding one phone or one card (registered offline at two kiosks)
cannot both have it in those tables: the member who claimed it first keeps it, and the other is flagged in
`directory_conflicts` for staff to settle. Phone, name and birthday are sealed in the stored changes
(kiosk.store.pii), and a flagged phone is kept as its keyed hash, never as the number.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from typing import Iterable, Sequence

from core.codec import dumps
from core.directory import ERASED, Change, Record, first_claim, merge, scrub
from core.members import Member
from kiosk.ids import new_event_id
from kiosk.store import members as rows
from kiosk.store.pii import SEALED, PersonalDataLocked, is_sealed, is_sealed_store, key_of

_COLUMNS = "id, member_id, kiosk_id, ts, kind, fields"
_LAST: tuple[int, str, str] = (2**63, "", "")  # a claim without a stamp loses to every stamped one


@dataclass
class DirectoryReport:
    """How a batch of changes went: stored, already known, and clashes flagged for staff."""

    new: int = 0
    duplicate: int = 0
    conflicts: int = 0


def record(conn: sqlite3.Connection, kiosk_id: str, now_ms: int, member_id: str, kind: str,
           fields: dict | None = None) -> Change:
    """Record a change made on this kiosk and re-project the member. Its time is at least one millisecond after
    the member's last known change, so a change made here wins over everything this kiosk had seen."""
    last = conn.execute("SELECT MAX(ts) FROM directory WHERE member_id = ?", (member_id,)).fetchone()[0]
    ts = now_ms if last is None else max(now_ms, last + 1)
    change = Change(new_event_id(ts), member_id, kiosk_id, ts, kind, fields or {})
    ingest(conn, [change], now_ms)
    return change


def ingest(conn: sqlite3.Connection, changes: Iterable[Change], now_ms: int) -> DirectoryReport:
    """Store changes not seen before (by id) and re-project their members; an erasure scrubs the member's feed."""
    report = DirectoryReport()
    fresh: dict[str, Change] = {}
    for c in changes:
        if c.id in fresh or conn.execute("SELECT 1 FROM directory WHERE id = ?", (c.id,)).fetchone():
            report.duplicate += 1
        else:
            fresh[c.id] = c
    touched = sorted({c.member_id for c in fresh.values()})
    erased = {m for (m,) in conn.execute(
        f"SELECT DISTINCT member_id FROM directory WHERE kind = ? AND member_id IN ({', '.join('?' * len(touched))})",
        (ERASED, *touched))} | {c.member_id for c in fresh.values() if c.kind == ERASED}
    conn.executemany(
        f"INSERT INTO directory ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
        [_row(conn, scrub(c) if c.member_id in erased else c) for c in sorted(fresh.values(), key=lambda c: c.stamp)])
    for member_id in sorted(erased & set(touched)):
        _scrub_member(conn, member_id)
    for member_id in touched:
        report.conflicts += project(conn, member_id, now_ms)
    report.new = len(fresh)
    return report


def changes_of(conn: sqlite3.Connection, member_id: str) -> list[Change]:
    """Every change of a member in the feed."""
    return [_change(conn, r) for r in conn.execute(f"SELECT {_COLUMNS} FROM directory WHERE member_id = ?",
                                                   (member_id,)).fetchall()]


def changes_after(conn: sqlite3.Connection, pos: int) -> list[tuple[int, Change]]:
    """(position, change) of the feed after `pos`, in feed order (for sync export)."""
    return [(r[0], _change(conn, r[1:])) for r in conn.execute(
        f"SELECT pos, {_COLUMNS} FROM directory WHERE pos > ? ORDER BY pos", (pos,))]


def max_pos(conn: sqlite3.Connection) -> int:
    """The feed's last position (0 when empty)."""
    return conn.execute("SELECT COALESCE(MAX(pos), 0) FROM directory").fetchone()[0]


def project(conn: sqlite3.Connection, member_id: str, now_ms: int) -> int:
    """Rewrite the member's row and cards from the merge of its changes; returns the clashes it flagged."""
    rec = merge(member_id, changes_of(conn, member_id))
    conn.execute("DELETE FROM directory_conflicts WHERE member_id = ?", (member_id,))
    phone, flagged = rec.get("phone"), 0
    if phone:
        holder = rows.by_phone(conn, phone)
        if holder is not None and holder.member_id != member_id:
            other = merge(holder.member_id, changes_of(conn, holder.member_id))
            if first_claim([(rec.phone_at or _LAST, member_id), (other.phone_at or _LAST, holder.member_id)]) == member_id:
                rows.save(conn, _member(other, phone=None))
                _flag(conn, holder.member_id, "phone", phone, member_id, now_ms)
            else:
                _flag(conn, member_id, "phone", phone, holder.member_id, now_ms)
                phone = None
            flagged += 1
    rows.save(conn, _member(rec, phone))
    if pin_hash(conn, member_id) != rec.get("pin_hash"):
        rows.set_pin(conn, member_id, rec.get("pin_hash"))
    flagged += _project_cards(conn, rec, now_ms)
    for (waiting,) in conn.execute(  # a phone this member kept and let go: the member flagged on it may take it now
            "SELECT member_id FROM directory_conflicts WHERE field = 'phone' AND kept_by = ? AND value IS NOT ?",
            (member_id, _claim(conn, phone))).fetchall():
        project(conn, waiting, now_ms)
    return flagged


def conflicts(conn: sqlite3.Connection) -> list[tuple[str, str, str, str, int]]:
    """(member, field, value, kept by, flagged at) of every clash waiting for staff."""
    return conn.execute("SELECT member_id, field, value, kept_by, flagged_at FROM directory_conflicts"
                        " ORDER BY flagged_at, member_id").fetchall()


def mismatches(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(member, what) where `members` or `cards` differ from the merge of the feed (for verify)."""
    found = []
    flagged = {(m, f, v) for m, f, v, _k, _t in conflicts(conn)}
    sealed = is_sealed_store(conn)  # before the step at open has sealed an old ledger: plaintext, no index yet
    for (member_id,) in conn.execute("SELECT DISTINCT member_id FROM directory ORDER BY member_id").fetchall():
        try:
            rec, have = merge(member_id, changes_of(conn, member_id)), rows.get(conn, member_id)
        except PersonalDataLocked as exc:
            found.append((member_id, str(exc)))
            continue
        phone = rec.get("phone")
        if phone and (member_id, "phone", _claim(conn, phone) if sealed else phone) in flagged:
            phone = None
        if have != _member(rec, phone):
            found.append((member_id, f"member record {have} but the directory merges to {_member(rec, phone)}"))
        elif sealed and not rows.index_matches(conn, member_id):
            found.append((member_id, "the phone index does not match the phone: lookups by phone would miss"))
        cards = {uid: status for uid, status in rows.cards_of(conn, member_id)}
        want = {uid: c.status for uid, c in rec.cards.items() if (member_id, "card", uid) not in flagged}
        if cards != want:
            found.append((member_id, f"cards {cards} but the directory merges to {want}"))
    return found


def _project_cards(conn: sqlite3.Connection, rec: Record, now_ms: int) -> int:
    flagged = 0
    for card in rec.cards.values():
        owner = rows.card(conn, card.uid)
        if owner is not None and owner[0] != rec.member_id:
            other = merge(owner[0], changes_of(conn, owner[0])).cards.get(card.uid)
            if first_claim([(card.linked, rec.member_id), (other.linked if other else _LAST, owner[0])]) != rec.member_id:
                _flag(conn, rec.member_id, "card", card.uid, owner[0], now_ms)
                flagged += 1
                continue
            _flag(conn, owner[0], "card", card.uid, rec.member_id, now_ms)
            flagged += 1
        conn.execute(
            "INSERT INTO cards (uid, member_id, status, linked_at, blocked_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (uid) DO UPDATE SET member_id = excluded.member_id, status = excluded.status,"
            " linked_at = excluded.linked_at, blocked_at = excluded.blocked_at",
            (card.uid, rec.member_id, card.status, card.linked_at, card.blocked_at))
    return flagged


def _member(rec: Record, phone: str | None) -> Member:
    birthday = rec.get("birthday")
    return Member(rec.member_id, phone, rec.get("name"), dt.date.fromisoformat(birthday) if birthday else None,
                  rec.get("gender"), rec.get("consent_at"), rec.created_at, rec.erased_at, rec.get("marketing_consent_at"))


def _flag(conn: sqlite3.Connection, member_id: str, field: str, value: str, kept_by: str, now_ms: int) -> None:
    value = _claim(conn, value) if field == "phone" else value
    conn.execute("INSERT OR REPLACE INTO directory_conflicts (member_id, field, value, kept_by, flagged_at)"
                 " VALUES (?, ?, ?, ?, ?)", (member_id, field, value, kept_by, now_ms))


def pin_hash(conn: sqlite3.Connection, member_id: str) -> str | None:
    """The member's stored PIN hash (None without a PIN or member)."""
    row = conn.execute("SELECT pin_hash FROM members WHERE member_id = ?", (member_id,)).fetchone()
    return row[0] if row else None


def _scrub_member(conn: sqlite3.Connection, member_id: str) -> None:
    conn.executemany("UPDATE directory SET fields = ? WHERE id = ?",
                     [(dumps(dict(scrub(c).fields)), c.id) for c in changes_of(conn, member_id)])


def _claim(conn: sqlite3.Connection, phone: str | None) -> str | None:
    """A phone as directory_conflicts keeps it: its keyed hash."""
    return key_of(conn).phone_index(phone).hex() if phone else None


def _row(conn: sqlite3.Connection, c: Change) -> tuple:
    return (c.id, c.member_id, c.kiosk_id, c.ts, c.kind, dumps(key_of(conn).seal_fields(c.member_id, c.fields)))


def _change(conn: sqlite3.Connection, r: Sequence) -> Change:
    return Change(r[0], r[1], r[2], r[3], r[4], key_of(conn).open_fields(r[1], json.loads(r[5])))


def seal_plaintext(conn: sqlite3.Connection) -> int:
    """Seal the personal fields of changes (and the flagged phones) stored before encryption at rest."""
    plain = [r for r in conn.execute(f"SELECT {_COLUMNS} FROM directory").fetchall()
             if any(isinstance(v, str) and not is_sealed(v) for k, v in json.loads(r[5]).items() if k in SEALED)]
    conn.executemany("UPDATE directory SET fields = ? WHERE id = ?", [(_row(conn, _change(conn, r))[5], r[0]) for r in plain])
    for member_id, phone in conn.execute("SELECT member_id, value FROM directory_conflicts WHERE field = 'phone'"
                                         " AND length(value) != 64").fetchall():
        conn.execute("UPDATE directory_conflicts SET value = ? WHERE member_id = ? AND field = 'phone' AND value = ?",
                     (_claim(conn, phone), member_id, phone))
    return len(plain)
