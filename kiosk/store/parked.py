"""Parked baskets: what a self-checkout customer takes to the counter, kept until a cashier calls it up."""
from __future__ import annotations

import json
import sqlite3
from typing import Mapping, Sequence

_COLUMNS = "number, member_id, basket, coupons, due, parked_at"
Row = tuple[int, "str | None", dict, list, int, int]


def _decode(row: Sequence) -> Row:
    return (row[0], row[1], json.loads(row[2]), json.loads(row[3]), row[4], row[5])


def insert(conn: sqlite3.Connection, member_id: str | None, basket: Mapping[str, int], coupons: Sequence[str],
           due: int, now_ms: int) -> int:
    """Park a basket; returns its number."""
    cur = conn.execute(
        "INSERT INTO parked (member_id, basket, coupons, due, parked_at) VALUES (?, ?, ?, ?, ?)",
        (member_id, json.dumps(dict(basket)), json.dumps(list(coupons)), due, now_ms),
    )
    return int(cur.lastrowid)


def waiting(conn: sqlite3.Connection, since_ms: int) -> list[Row]:
    """Baskets parked since `since_ms` and not yet taken, newest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM parked WHERE taken_at IS NULL AND parked_at >= ? ORDER BY number DESC", (since_ms,)
    ).fetchall()
    return [_decode(r) for r in rows]


def get(conn: sqlite3.Connection, number: int) -> tuple[Row, int | None] | None:
    """A basket and when it was taken (None while it waits)."""
    row = conn.execute(f"SELECT {_COLUMNS}, taken_at FROM parked WHERE number = ?", (number,)).fetchone()
    return (_decode(row), row[6]) if row else None


def take(conn: sqlite3.Connection, number: int, now_ms: int) -> None:
    """Mark a basket called up."""
    conn.execute("UPDATE parked SET taken_at = ? WHERE number = ?", (now_ms, number))
