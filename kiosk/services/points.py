"""Points over time for the whole store: what expires at year end, the expiry run, and the yearly tier review."""
from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from core.events import Event
from core.points import expiring_points, expiry_drafts
from core.tiers import yearly_review_drafts
from kiosk.services import pricing_data as data
from kiosk.store import ledger


def points_history(conn: sqlite3.Connection, member_id: str) -> list[tuple[dt.date, int]]:
    """(local day, points delta) of every event that moved the member's points, oldest first."""
    rows = conn.execute(
        "SELECT ts, json_extract(deltas, '$.points') FROM events WHERE member_id = ?"
        " AND json_extract(deltas, '$.points') IS NOT NULL ORDER BY pos",
        (member_id,),
    )
    return [(data.local_time(ts).date(), delta) for ts, delta in rows]


def expiring(kiosk: Any, member_id: str) -> tuple[int, dt.date]:
    """Points of the member that expire at the end of this year, and that date."""
    rules = data.load_rules(kiosk.docs)
    with kiosk.db.reading() as conn:
        history = points_history(conn, member_id)
    return expiring_points(history, data.local_time(kiosk.clock()).date(), rules)


def _members_with(conn: sqlite3.Connection, condition: str) -> list[str]:
    return [r[0] for r in conn.execute(f"SELECT member_id FROM balances WHERE {condition} ORDER BY member_id")]


def expire_points(kiosk: Any) -> list[Event]:
    """Expire every member's points earned two or more years ago, as one durable transaction."""
    rules = data.load_rules(kiosk.docs)
    now = kiosk.clock()
    today = data.local_time(now).date()
    with kiosk.db.transaction() as conn:
        drafts = [d for m in _members_with(conn, "points > 0") for d in expiry_drafts(m, points_history(conn, m), today, rules)]
        return ledger.append(conn, kiosk.who, drafts, now)


def review_tiers(kiosk: Any) -> list[Event]:
    """The yearly review: every member's tier follows their qualifying spend, down as well as up."""
    rules = data.load_rules(kiosk.docs)
    now = kiosk.clock()
    with kiosk.db.transaction() as conn:
        drafts = [d for m in _members_with(conn, "1") for d in
                  yearly_review_drafts(data.member_state(conn, m, rules, now), rules)]
        return ledger.append(conn, kiosk.who, drafts, now)


def describe_events(events: list[Event]) -> list[dict[str, Any]]:
    """Events as JSON-ready rows for the commands."""
    return [{"member_id": e.member_id, "type": e.type, "data": dict(e.data), "deltas": dict(e.deltas)}
            for e in events]
