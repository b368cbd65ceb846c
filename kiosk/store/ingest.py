"""Ingest: events made on other kiosks enter this ledger as they were made, and the same fold moves the projections.

Every field is kept (id, kiosk, store, seq, ts, txn, operator, v, data, deltas), so the event is byte-identical
when it is passed on. Duplicates are ignored by id and a batch may come in any order: it is written in
(ts, kiosk, seq) order, and the fold gives the same balances whatever the order (core.ledger). An overdraft caused
by spending elsewhere while offline is not refused: the projection keeps the folded, possibly negative, value and
the overdraft is recorded in `overdrafts` for staff. Stock deltas of another store's events are that store's
shelf and do not move ours; two kiosks of one store share one shelf.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Iterable, Sequence

from core.codec import BadEvent
from core.events import Event
from core.ledger import Balances, move, move_stock, shortfalls, stamp_of
from kiosk.store import ledger
from kiosk.store.audit import Chain
from kiosk.store.ledger import Identity

_CHUNK = 500  # ids per IN (...) query


class LedgerClash(BadEvent):
    """Events that cannot be taken without corrupting the ledger: a reused sequence number, or events of this kiosk
    that its own ledger lacks."""


@dataclass
class IngestReport:
    """How a batch went: events written, duplicates ignored, and overdrafts flagged."""

    new: int = 0
    duplicate: int = 0
    flagged: int = 0

    def add(self, other: "IngestReport") -> None:
        """Count another batch in."""
        self.new, self.duplicate, self.flagged = self.new + other.new, self.duplicate + other.duplicate, self.flagged + other.flagged


def ingest(conn: sqlite3.Connection, who: Identity, events: Iterable[Event], now_ms: int, chain: Chain,
           restoring: bool = False) -> IngestReport:
    """Write the events this ledger lacks, linked into its audit chain, and fold them into the projections; call
    inside a transaction. `restoring` takes back this kiosk's own events that head office holds and this ledger
    lost (an old backup), only when they continue its own sequence without a gap."""
    given = list(events)
    unique = {e.id: e for e in given}
    known = _known_ids(conn, list(unique))
    # own events restored go in sequence order, after the others: own events stand in the ledger in sequence order
    fresh = sorted((e for e in unique.values() if e.id not in known),
                   key=lambda e: (1, (e.seq, "", 0)) if e.kiosk_id == who.kiosk_id else (0, stamp_of(e)))
    report = IngestReport(new=len(fresh), duplicate=len(given) - len(fresh))
    if not fresh:
        return report
    mine = [e for e in fresh if e.kiosk_id == who.kiosk_id]
    if mine and not restoring:
        raise LedgerClash(
            f"{len(mine)} events made on this kiosk ({who.kiosk_id}, from sequence {mine[0].seq}) are missing from its "
            "ledger: it was restored from an older backup, or another kiosk uses the same id. Nothing was imported")
    if mine:
        _check_contiguous(conn, who.kiosk_id, [e.seq for e in mine])
    balances = _load_balances(conn, {e.member_id for e in fresh if e.member_id is not None})
    shelf = [e for e in fresh if e.store_id == who.store_id]  # another store's stock is not our shelf
    stock = _load_stock(conn, {sku for e in shelf if isinstance(e.deltas.get("stock"), dict) for sku in e.deltas["stock"]})
    overdrafts = []
    for e in fresh:
        short = []
        if e.member_id is not None:
            before = balances[e.member_id]
            balances[e.member_id] = after = move(before, e, stamp_of(e))
            short += shortfalls(before, after, e)
        if e.store_id == who.store_id:
            short += move_stock(stock, e)
        overdrafts += [(e.id, s.what, e.member_id, s.amount, now_ms) for s in short]
    try:
        ledger.insert(conn, fresh, chain)
    except sqlite3.IntegrityError:
        raise _clash(conn, fresh) from None
    conn.executemany("INSERT INTO overdrafts (event_id, what, member_id, amount, flagged_at) VALUES (?, ?, ?, ?, ?)",
                     overdrafts)
    ledger.save_projections(conn, balances, stock)
    report.flagged = len(overdrafts)
    return report


def _check_contiguous(conn: sqlite3.Connection, kiosk_id: str, seqs: Sequence[int]) -> None:
    head = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE kiosk_id = ?", (kiosk_id,)).fetchone()[0]
    if list(seqs) != list(range(head + 1, head + 1 + len(seqs))):
        raise LedgerClash(
            f"the restored events of this kiosk ({kiosk_id}) do not continue its ledger: it ends at sequence {head} "
            f"and they run {seqs[0]}..{seqs[-1]} ({len(seqs)} events) with a gap or an overlap. Nothing was imported")


def overdrafts(conn: sqlite3.Connection) -> list[tuple[str, str, str | None, int, int]]:
    """(event id, what, member, amount, flagged at) of every overdraft ingest flagged, oldest first."""
    return conn.execute("SELECT event_id, what, member_id, amount, flagged_at FROM overdrafts"
                        " ORDER BY flagged_at, event_id").fetchall()


def _known_ids(conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
    known: set[str] = set()
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        known.update(r[0] for r in conn.execute(f"SELECT id FROM events WHERE id IN ({', '.join('?' * len(chunk))})", chunk))
    return known


def _load_balances(conn: sqlite3.Connection, member_ids: set[str]) -> dict[str, Balances]:
    found = dict.fromkeys(member_ids, Balances())
    ids = sorted(member_ids)
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        for row in conn.execute(f"SELECT member_id, {ledger.BALANCE_COLUMNS} FROM balances"
                                f" WHERE member_id IN ({', '.join('?' * len(chunk))})", chunk):
            found[row[0]] = ledger.balances_from_row(row[1:])
    return found


def _load_stock(conn: sqlite3.Connection, skus: set[str]) -> dict[str, int]:
    return {sku: ledger.load_stock(conn, sku) for sku in sorted(skus)}


def _clash(conn: sqlite3.Connection, fresh: Sequence[Event]) -> LedgerClash:
    for e in fresh:
        row = conn.execute("SELECT id FROM events WHERE kiosk_id = ? AND seq = ?", (e.kiosk_id, e.seq)).fetchone()
        if row and row[0] != e.id:
            return LedgerClash(
                f"kiosk {e.kiosk_id}'s event number {e.seq} arrived with a different id than the one this ledger holds: "
                f"{e.kiosk_id} was restored from a backup, or two kiosks use the id {e.kiosk_id}. Nothing was imported")
    return LedgerClash("the events clash with this ledger (a sequence number appears twice in them); nothing was imported")
