"""The `notices` outbox in the ledger database: messages waiting, sent or given up, and every send attempt.

Rows are added with INSERT OR IGNORE on the UNIQUE idempotency key, always in the caller's transaction (the
follower's with its cursor, the daily run's with its day), so a replay or a second run adds nothing.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Iterable

from core.notices import Notice

QUEUED, SENT, FAILED, CANCELLED = "queued", "sent", "failed", "cancelled"
_COLUMNS = "id, key, member_id, template, params, scheduled, created_at, status, attempts, next_at, last_error, sent_at"


@dataclass(frozen=True)
class Row:
    """A stored notice and where it stands."""

    id: int
    key: str
    member_id: str
    template: str
    params: dict
    scheduled: bool
    created_at: int
    status: str
    attempts: int
    next_at: int
    last_error: str | None
    sent_at: int | None

    def as_dict(self) -> dict:
        """JSON-ready (no personal data: the text is rendered only when sent)."""
        return {"id": self.id, "key": self.key, "member_id": self.member_id, "template": self.template,
                "status": self.status, "attempts": self.attempts, "next_at": self.next_at,
                "last_error": self.last_error, "created_at": self.created_at, "sent_at": self.sent_at}


def _row(r: tuple) -> Row:
    return Row(r[0], r[1], r[2], r[3], json.loads(r[4]), bool(r[5]), *r[6:])


def add(conn: sqlite3.Connection, notices: Iterable[tuple[Notice, int]], now_ms: int) -> int:
    """Queue (notice, first send time) pairs whose key is new; returns how many were new. Call in a transaction."""
    added = 0
    for notice, due_ms in notices:
        cur = conn.execute(
            "INSERT OR IGNORE INTO notices (key, member_id, template, params, scheduled, created_at, next_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (notice.key, notice.member_id, notice.template, json.dumps(dict(notice.params), sort_keys=True),
             int(notice.scheduled), now_ms, due_ms))
        added += cur.rowcount
    return added


def due(conn: sqlite3.Connection, now_ms: int, limit: int) -> list[Row]:
    """Queued notices whose time has come, oldest first."""
    return [_row(r) for r in conn.execute(
        f"SELECT {_COLUMNS} FROM notices WHERE status = ? AND next_at <= ? ORDER BY next_at, id LIMIT ?",
        (QUEUED, now_ms, limit))]


def get(conn: sqlite3.Connection, notice_id: int) -> Row | None:
    """One notice by id."""
    r = conn.execute(f"SELECT {_COLUMNS} FROM notices WHERE id = ?", (notice_id,)).fetchone()
    return _row(r) if r else None


def listing(conn: sqlite3.Connection, statuses: Iterable[str], limit: int = 1000) -> list[Row]:
    """Notices in these states, newest first."""
    statuses = list(statuses)
    return [_row(r) for r in conn.execute(
        f"SELECT {_COLUMNS} FROM notices WHERE status IN ({', '.join('?' * len(statuses))}) ORDER BY id DESC LIMIT ?",
        (*statuses, limit))]


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many notices are in each state."""
    found = dict(conn.execute("SELECT status, COUNT(*) FROM notices GROUP BY status").fetchall())
    return {s: found.get(s, 0) for s in (QUEUED, SENT, FAILED, CANCELLED)}


def next_try(conn: sqlite3.Connection) -> int | None:
    """When the earliest queued notice is due (None when none waits)."""
    return conn.execute("SELECT MIN(next_at) FROM notices WHERE status = ?", (QUEUED,)).fetchone()[0]


def record(conn: sqlite3.Connection, notice_id: int, now_ms: int, outcome: str, detail: str | None = None,
           retry_at: int | None = None) -> None:
    """Record a send attempt: SENT, FAILED (given up), CANCELLED (no longer allowed), or QUEUED again at `retry_at`."""
    conn.execute("INSERT INTO notice_attempts (notice, at, outcome, detail) VALUES (?, ?, ?, ?)",
                 (notice_id, now_ms, outcome, detail))
    conn.execute(
        "UPDATE notices SET status = ?, attempts = attempts + ?, last_error = ?, sent_at = ?,"
        " next_at = COALESCE(?, next_at) WHERE id = ?",
        (outcome, 0 if outcome == CANCELLED else 1, None if outcome == SENT else detail,
         now_ms if outcome == SENT else None, retry_at, notice_id))


def postpone(conn: sqlite3.Connection, notice_id: int, at_ms: int) -> None:
    """Move a queued notice's next try (a scheduled one met quiet hours)."""
    conn.execute("UPDATE notices SET next_at = ? WHERE id = ? AND status = ?", (at_ms, notice_id, QUEUED))


def retry(conn: sqlite3.Connection, now_ms: int, notice_id: int | None = None) -> int:
    """Queue failed notices again now, with a fresh count of attempts (one by id, or all); returns how many."""
    sql, params = "UPDATE notices SET status = ?, attempts = 0, next_at = ? WHERE status = ?", [QUEUED, now_ms, FAILED]
    if notice_id is not None:
        sql += " AND id = ?"
        params.append(notice_id)
    return conn.execute(sql, params).rowcount


def attempts_of(conn: sqlite3.Connection, notice_id: int) -> list[tuple[int, str, str | None]]:
    """(time, outcome, detail) of every attempt to send a notice."""
    return conn.execute("SELECT at, outcome, detail FROM notice_attempts WHERE notice = ? ORDER BY rowid",
                        (notice_id,)).fetchall()


def last_day(conn: sqlite3.Connection) -> str | None:
    """The last day (ISO) the daily run did, or None before its first run."""
    row = conn.execute("SELECT last_day FROM notice_days WHERE id = 1").fetchone()
    return row[0] if row else None


def set_last_day(conn: sqlite3.Connection, day: str) -> None:
    """Remember that the daily run did `day` (ISO). Call in the transaction that queued that day's notices."""
    conn.execute("INSERT INTO notice_days (id, last_day) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET last_day = ?",
                 (day, day))


def balances_at(conn: sqlite3.Connection, member_id: str, pos: int) -> tuple[int, int]:
    """(points, stored value) of a member right after ledger position `pos`: what the notice of that event shows,
    even when the follower reads it long after."""
    return conn.execute(
        "SELECT COALESCE(SUM(json_extract(deltas, '$.points')), 0), COALESCE(SUM(json_extract(deltas,"
        " '$.stored_value')), 0) FROM events WHERE member_id = ? AND pos <= ?", (member_id, pos)).fetchone()


def points_history(conn: sqlite3.Connection, member_ids: Iterable[str]) -> dict[str, list[tuple[int, int]]]:
    """(ts, points delta) of every event that moved each member's points, in ledger order (expiry reminders)."""
    ids = list(member_ids)
    out: dict[str, list[tuple[int, int]]] = {m: [] for m in ids}
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        for member_id, ts, delta in conn.execute(
                f"SELECT member_id, ts, json_extract(deltas, '$.points') FROM events WHERE member_id IN "
                f"({', '.join('?' * len(part))}) AND json_extract(deltas, '$.points') IS NOT NULL ORDER BY pos", part):
            out[member_id].append((ts, delta))
    return out
