"""Questions the use cases ask of the ledger's events, each beside the index that answers it.

The indexes live in the migrations (kiosk/store/schema.py); each query here names the one it relies on, so a
change of JSON path or index is made in one place and `EXPLAIN QUERY PLAN` can be checked against it.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from core.events import (BIRTHDAY_BONUS, CLOCKED_IN, CLOCKED_OUT, COUPON_REDEEMED, COUPON_REINSTATED, SALE_COMPLETED,
                         SALE_REFUNDED, VISITS_SOLD)


def spend_since(conn: sqlite3.Connection, member_id: str, since_ms: int) -> int:
    """Qualifying spend (lifetime_spend deltas) of a member since an instant. Index: events_member."""
    return conn.execute(
        "SELECT COALESCE(SUM(json_extract(deltas, '$.lifetime_spend')), 0) FROM events WHERE member_id = ? AND ts >= ?",
        (member_id, since_ms),
    ).fetchone()[0]


def last_of_type(conn: sqlite3.Connection, member_id: str, event_type: str) -> int | None:
    """When a member last had an event of a type (e.g. this year's birthday bonus). Index: events_member (`+type`
    keeps the planner off events_type_ts, which would walk every member's events of that type)."""
    return conn.execute("SELECT MAX(ts) FROM events WHERE member_id = ? AND +type = ?", (member_id, event_type)).fetchone()[0]


def last_birthday_bonus(conn: sqlite3.Connection, member_id: str) -> int | None:
    """When the member's tier birthday bonus was last given."""
    return last_of_type(conn, member_id, BIRTHDAY_BONUS)


def pack_expiry(conn: sqlite3.Connection, member_id: str, pack: str) -> str | None:
    """Expiry date (ISO) set by the latest purchase of a visit pack. Index: events_member ($.pack is filtered)."""
    row = conn.execute(
        "SELECT json_extract(data, '$.expires') FROM events WHERE member_id = ? AND type = ?"
        " AND json_extract(data, '$.pack') = ? ORDER BY pos DESC LIMIT 1",
        (member_id, VISITS_SOLD, pack),
    ).fetchone()
    return row[0] if row else None


def coupon_used(conn: sqlite3.Connection, code: str) -> bool:
    """Whether a coupon's last ledger event is a use (a refund may reinstate it). Index: events_coupon_code, partial
    on the two coupon types, which the query names as literals so the planner can use it."""
    row = conn.execute(
        f"SELECT type FROM events WHERE json_extract(data, '$.code') = ? AND type IN ('{COUPON_REDEEMED}', "
        f"'{COUPON_REINSTATED}') ORDER BY pos DESC LIMIT 1",
        (code,),
    ).fetchone()
    return row is not None and row[0] == COUPON_REDEEMED


def sale(conn: sqlite3.Connection, sale_id: str) -> tuple[str | None, dict[str, Any]] | None:
    """(member, sale data) of a committed sale. Index: the events id key."""
    row = conn.execute("SELECT member_id, data FROM events WHERE id = ? AND type = ?", (sale_id, SALE_COMPLETED)).fetchone()
    return (row[0], json.loads(row[1])) if row else None


def moved_after(conn: sqlite3.Connection, member_id: str, txn: str) -> tuple[int, int]:
    """(points, stored value) the member's events after transaction `txn` moved. Index: events_member."""
    return conn.execute(
        "SELECT COALESCE(SUM(json_extract(deltas, '$.points')), 0), COALESCE(SUM(json_extract(deltas, '$.stored_value')), 0)"
        " FROM events WHERE member_id = ? AND pos > (SELECT MAX(pos) FROM events WHERE txn = ?)",
        (member_id, txn),
    ).fetchone()


def refunded_lines(conn: sqlite3.Connection, sale_id: str) -> set[int]:
    """Line numbers of a sale refunded so far. Index: events_refunded_sale (partial: the type is a literal)."""
    refunded: set[int] = set()
    for (data,) in conn.execute(f"SELECT data FROM events WHERE json_extract(data, '$.sale') = ? AND type = '{SALE_REFUNDED}'",
                                (sale_id,)):
        refunded.update(json.loads(data)["lines"])
    return refunded


def clock_entries(conn: sqlite3.Connection, start_ms: int, end_ms: int) -> list[tuple[str, bool, int]]:
    """(staff number, clocked in?, time) of every clock-in/out in [start, end). Index: events_type_ts."""
    rows = conn.execute(
        "SELECT json_extract(data, '$.staff_no'), type, ts FROM events WHERE type IN (?, ?) AND ts >= ? AND ts < ?"
        " ORDER BY pos",
        (CLOCKED_IN, CLOCKED_OUT, start_ms, end_ms),
    ).fetchall()
    return [(no, kind == CLOCKED_IN, ts) for no, kind, ts in rows]


def last_clock(conn: sqlite3.Connection, staff_no: str) -> bool | None:
    """Whether the staff member's last punch was a clock-in (None: never punched). Index: events_type_ts."""
    row = conn.execute(
        "SELECT type FROM events WHERE type IN (?, ?) AND json_extract(data, '$.staff_no') = ? ORDER BY pos DESC LIMIT 1",
        (CLOCKED_IN, CLOCKED_OUT, staff_no),
    ).fetchone()
    return None if row is None else row[0] == CLOCKED_IN


def points_moves(conn: sqlite3.Connection, member_id: str) -> list[tuple[int, int]]:
    """(time, points delta) of every event that moved the member's points, oldest first. Index: events_member."""
    return conn.execute(
        "SELECT ts, json_extract(deltas, '$.points') FROM events WHERE member_id = ?"
        " AND json_extract(deltas, '$.points') IS NOT NULL ORDER BY pos",
        (member_id,),
    ).fetchall()


def members_with_points(conn: sqlite3.Connection) -> list[str]:
    """Members holding points, by number. Table: balances."""
    return [r[0] for r in conn.execute("SELECT member_id FROM balances WHERE points > 0 ORDER BY member_id")]


def members_with_balances(conn: sqlite3.Connection) -> list[str]:
    """Every member the ledger has moved, by number. Table: balances."""
    return [r[0] for r in conn.execute("SELECT member_id FROM balances ORDER BY member_id")]
