"""The ledger look-ups stay index seeks: a query that falls back to scanning `events` would slow every checkout
down as the ledger grows, silently. Each is checked with EXPLAIN QUERY PLAN on a real migrated ledger."""
from __future__ import annotations

import re
import sqlite3

import pytest

from kiosk.store import chain_state, lookups

CALLS = [  # (look-up, arguments, the index its first query must seek)
    (lookups.spend_since, ("M1", 0), "events_member"),
    (lookups.last_birthday_bonus, ("M1",), "events_member"),
    (lookups.pack_expiry, ("M1", "WASH10"), "events_member"),
    (lookups.coupon_used, ("WELCOME10",), "events_coupon_code"),
    (lookups.sale, ("0190-sale",), "sqlite_autoindex_events_1"),
    (lookups.refunded_lines, ("0190-sale",), "events_refunded_sale"),
    (lookups.clock_entries, (0, 1), "events_type_ts"),
    (lookups.last_clock, ("C01",), "events_type_ts"),
    (lookups.points_moves, ("M1",), "events_member"),
    (lookups.moved_after, ("M1", "0190-txn"), "events_member"),
    (chain_state.head, ("k1",), "sqlite_autoindex_events_2"),  # UNIQUE (kiosk_id, seq)
    (chain_state.own_events, ("k1", 10, 500), "sqlite_autoindex_events_2"),
    (chain_state.own_moves, ("k1", "M1", 10), "sqlite_autoindex_events_2"),  # then events_member from that position
    (chain_state.own_changes, ("k1", 0, 500), "directory_kiosk"),
    (chain_state.count_own_changes, ("k1", 0), "directory_kiosk"),
]


class PlanRecorder:
    """A connection stand-in that records the plan of each query instead of its rows."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn, self.plans = conn, []

    def execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        self.plans.append(" | ".join(r[3] for r in self.conn.execute("EXPLAIN QUERY PLAN " + sql, params)))
        return self.conn.execute(sql, params)


@pytest.mark.parametrize("lookup, args, index", CALLS, ids=[c[0].__name__ for c in CALLS])
def test_every_event_lookup_seeks_its_index(kiosk, lookup, args, index) -> None:
    with kiosk.db.reading() as conn:
        recorder = PlanRecorder(conn)
        lookup(recorder, *args)
    assert f"USING INDEX {index} " in recorder.plans[0] or f"USING COVERING INDEX {index} " in recorder.plans[0], recorder.plans
    for plan in recorder.plans:
        assert not re.search(r"\bSCAN events\b", plan), plan
