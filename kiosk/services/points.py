"""Points over time for the whole store: what expires at year end, the expiry run, and the yearly tier review."""
from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from core.events import SYSTEM, Event
from core.points import expiring_points, expiry_drafts
from core.tiers import yearly_review_drafts
from kiosk.clock import Clock
from kiosk.services import pricing_data as data
from kiosk.services.gateway import Gateway
from kiosk.store import lookups
from kiosk.store import members as member_rows
from kiosk.store.db import Database


class PointsService:
    """Year-end upkeep runs as the system, not as a person: expiry and the tier review."""

    def __init__(self, db: Database, gateway: Gateway, docs: Any, clock: Clock) -> None:
        self.db, self.gateway, self.docs, self.clock = db, gateway, docs, clock

    def history(self, conn: sqlite3.Connection, member_id: str) -> list[tuple[dt.date, int]]:
        """(local day, points delta) of every event that moved the member's points, oldest first."""
        return [(self.clock.local(ts).date(), delta) for ts, delta in lookups.points_moves(conn, member_id)]

    def expiring(self, member_id: str) -> tuple[int, dt.date]:
        """Points of the member that expire at the end of this year, and that date."""
        rules = data.load_rules(self.docs)
        with self.db.reading() as conn:
            moves = self.history(conn, member_id)
        return expiring_points(moves, self.clock.today(), rules)

    def expire(self) -> list[Event]:
        """Expire every member's points earned two or more years ago, as one durable transaction."""
        rules = data.load_rules(self.docs)
        with self.gateway.unit(SYSTEM) as unit:
            today = self.clock.local(unit.now).date()
            members = lookups.members_with_points(unit.conn)
            return unit.append([d for m in members for d in expiry_drafts(m, self.history(unit.conn, m), today, rules)])

    def review_tiers(self) -> list[Event]:
        """The yearly review: every member's tier follows their qualifying spend, down as well as up (not erased ones)."""
        rules = data.load_rules(self.docs)
        with self.gateway.unit(SYSTEM) as unit:
            members = [m for m in lookups.members_with_balances(unit.conn) if not _erased(unit.conn, m)]
            return unit.append([d for m in members for d in yearly_review_drafts(
                data.member_state(unit.conn, m, rules, unit.now, self.clock), rules)])


def _erased(conn: sqlite3.Connection, member_id: str) -> bool:
    member = member_rows.get(conn, member_id)
    return member is None or member.erased_at is not None


def describe_events(events: list[Event]) -> list[dict[str, Any]]:
    """Events as JSON-ready rows for the commands."""
    return [{"member_id": e.member_id, "type": e.type, "data": dict(e.data), "deltas": dict(e.deltas),
             "operator": e.operator} for e in events]
