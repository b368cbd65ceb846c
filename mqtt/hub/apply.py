"""Applying kiosks' events at the hub: many batches in one transaction (group commit), each event once in effect.

Events are inserted with ON CONFLICT DO NOTHING ... RETURNING id, so only those this transaction really added are
folded: a batch delivered twice, even to two workers at once, adds nothing the second time (PostgreSQL makes the
second insert wait for the first transaction and then skips the rows). Balances are folded with core.ledger, whose
fold does not depend on order; an overdraft is recorded in `reconcile`, never refused or rewritten. Each kiosk's
watermark is the highest sequence up to which the hub holds every event: it moves only over contiguous runs, under
the kiosk row's lock, so the worker that commits last sees all the others' events.
Locks are taken in one order by every transaction (event rows by id, balances by member, members, kiosks) so
workers do not deadlock in the common case, and the store retries a transaction PostgreSQL chose as a victim.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from core.codec import dumps, to_wire
from core.directory import Change
from core.events import Event
from core.errors import InvalidInput
from core.ledger import move, shortfalls, stamp_of
from mqtt.hub import allowances, balances, directory
from mqtt.hub.dialects import Tx, chunks, marks
from mqtt.hub.facts import HubFacts

SEQ_CLASH = "seq_clash"  # a reconcile item: an event whose kiosk and sequence the hub holds under another id
_PAGE = 1000  # held sequences read at a time while moving a watermark


class BadBatch(InvalidInput):
    """A batch that names one kiosk and carries another's events; the message that brought it is dropped."""


@dataclass(frozen=True)
class Batch:
    """Events (and directory changes) one kiosk sent. `head` is its highest sequence, when it says so, for the
    backlog; `ref` comes back in the ack (e.g. the message's correlation data)."""

    kiosk_id: str
    events: Sequence[Event] = ()
    changes: Sequence[Change] = ()
    head: int | None = None
    ref: str | None = None

    def __post_init__(self) -> None:
        strays = [e.id for e in self.events if e.kiosk_id != self.kiosk_id]
        if strays:
            raise BadBatch(f"a batch from kiosk {self.kiosk_id} carries {len(strays)} events of other kiosks"
                           f" (first {strays[0]}); a kiosk sends only its own events")


@dataclass(frozen=True)
class Ack:
    """The hub's application ack for one batch, after its commit: every event of the kiosk up to `watermark` is
    durable at the hub. `new`, `duplicate` and `refused` count this batch's events; `resend_from` is the first
    missing sequence when the hub holds events of the kiosk beyond a gap, else None."""

    kiosk_id: str
    watermark: int
    new: int = 0
    duplicate: int = 0
    refused: int = 0
    ref: str | None = None
    resend_from: int | None = None


def apply(tx: Tx, batches: Sequence[Batch], now_ms: int, facts: HubFacts | None = None) -> list[Ack]:
    """Apply every batch in the open transaction; the acks are valid once it commits. `facts` writes the sales
    facts of the events it added (last: its lock is held only to the commit)."""
    unique = {e.id: e for b in batches for e in b.events}
    added = _insert(tx, sorted(unique.values(), key=lambda e: e.id), now_ms)
    missed = [i for i in unique if i not in added]
    known = _existing(tx, missed)
    clashes = [unique[i] for i in missed if i not in known]
    fresh = sorted((unique[i] for i in added), key=stamp_of)
    _fold(tx, fresh, clashes, now_ms)
    directory.add(tx, [c for b in batches for c in b.changes], now_ms)
    watermarks = _advance(tx, batches, {e.kiosk_id for e in fresh}, now_ms)
    if facts is not None:
        facts.write(tx, fresh)
    acks, seen = [], set()
    for b in batches:
        counts: Counter[str] = Counter()
        for e in b.events:  # an event twice in one group counts as new once
            counts["duplicate" if e.id in seen or e.id in known else "new" if e.id in added else "refused"] += 1
            seen.add(e.id)
        watermark, resend_from = watermarks[b.kiosk_id]
        acks.append(Ack(b.kiosk_id, watermark, counts["new"], counts["duplicate"], counts["refused"], b.ref,
                        resend_from))
    return acks


def _insert(tx: Tx, events: Sequence[Event], now_ms: int) -> set[str]:
    """Insert the events the hub lacks; the ids actually inserted (not those another transaction holds)."""
    rows = [(e.id, e.kiosk_id, e.store_id, e.seq, e.ts, e.type, e.member_id, dumps(to_wire(e)), now_ms) for e in events]
    return {r[0] for r in tx.insert("INSERT INTO events (id, kiosk_id, store_id, seq, ts, type, member_id, body,"
                                    " applied_at)", rows, "ON CONFLICT DO NOTHING RETURNING id")}


def _existing(tx: Tx, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for part in chunks(ids):
        found.update(r[0] for r in tx.rows(f"SELECT id FROM events WHERE id IN ({marks(len(part))})", part))
    return found


def _fold(tx: Tx, fresh: Sequence[Event], clashes: Sequence[Event], now_ms: int) -> None:
    """Fold new events into balances and escrow; record overdrafts and sequence clashes for a manager."""
    members = balances.lock(tx, {e.member_id for e in fresh if e.member_id is not None})
    flagged = [(e.id, SEQ_CLASH, e.member_id, e.kiosk_id, e.seq, now_ms) for e in clashes]
    for e in fresh:
        if e.member_id is None:
            continue
        before = members[e.member_id]
        members[e.member_id] = after = move(before, e, stamp_of(e))
        flagged += [(e.id, s.what, e.member_id, e.kiosk_id, s.amount, now_ms) for s in shortfalls(before, after, e)]
    balances.save(tx, members)
    allowances.consume(tx, allowances.spends(fresh), now_ms)
    tx.insert("INSERT INTO reconcile (event_id, what, member_id, kiosk_id, amount, flagged_at)", flagged,
              "ON CONFLICT DO NOTHING")


def _advance(tx: Tx, batches: Sequence[Batch], moved: set[str], now_ms: int) -> dict[str, tuple[int, int | None]]:
    """Lock each kiosk's row, move its watermark over the contiguous sequences now held, note when it was seen;
    per kiosk its watermark and where a gap starts (None without one)."""
    heads: dict[str, tuple[str | None, int]] = {}
    for b in batches:
        store = next((e.store_id for e in b.events), None)
        top = max([b.head or 0, *(e.seq for e in b.events)])
        old_store, old_top = heads.get(b.kiosk_id, (None, 0))
        heads[b.kiosk_id] = (store or old_store, max(top, old_top))
    tx.insert("INSERT INTO kiosks (kiosk_id)", [(k,) for k in sorted(heads)], "ON CONFLICT DO NOTHING")
    moved_to: dict[str, tuple[int, int | None]] = {}
    for kiosk_id, (store, top) in sorted(heads.items()):
        watermark, old_top = tx.one(f"SELECT watermark, top FROM kiosks WHERE kiosk_id = ?{tx.lock}", (kiosk_id,))
        if kiosk_id in moved:
            watermark = _contiguous(tx, kiosk_id, watermark)
        tx.run("UPDATE kiosks SET store_id = COALESCE(?, store_id), watermark = ?, top = ?, last_seen = ?"
               " WHERE kiosk_id = ?", (store, watermark, max(top, old_top, watermark), now_ms, kiosk_id))
        beyond = tx.one("SELECT seq FROM events WHERE kiosk_id = ? AND seq > ? LIMIT 1", (kiosk_id, watermark))
        moved_to[kiosk_id] = (watermark, None if beyond is None else watermark + 1)
    return moved_to


def _contiguous(tx: Tx, kiosk_id: str, watermark: int) -> int:
    """The highest sequence reached from `watermark` without a gap in the events the hub holds."""
    while True:
        seqs = [r[0] for r in tx.rows("SELECT seq FROM events WHERE kiosk_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                                      (kiosk_id, watermark, _PAGE))]
        for seq in seqs:
            if seq != watermark + 1:
                return watermark
            watermark = seq
        if len(seqs) < _PAGE:
            return watermark
