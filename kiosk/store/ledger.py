"""Appending to the ledger and keeping the projections (balances, stock) in the same transaction."""
from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

import orjson

from core.codec import dumps
from core.errors import NotFound
from core.events import Event, EventDraft
from core.ledger import NO_STAMP, Balances, apply, apply_stock, check_deltas
from kiosk.ids import new_event_id
from kiosk.store.checksum import row_crc

if TYPE_CHECKING:
    from kiosk.store.audit import Chain


@dataclass(frozen=True)
class Identity:
    """Who writes: every event carries the kiosk and store it was made on."""

    kiosk_id: str
    store_id: str


def append(conn: sqlite3.Connection, who: Identity, drafts: Sequence[EventDraft], now_ms: int, operator: str,
           chain: Chain) -> list[Event]:
    """Stamp drafts as one batch by `operator`, link them into the audit chain and move the projections; only the
    commit gateway calls this."""
    if not drafts:
        return []
    seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE kiosk_id = ?", (who.kiosk_id,)).fetchone()[0]
    balances: dict[str, Balances] = {}
    stock: dict[str, int] = {}
    events: list[Event] = []
    txn = new_event_id(now_ms)
    for draft in drafts:
        check_deltas(draft)
        if draft.member_id is not None:
            current = balances.get(draft.member_id) or load_balances(conn, draft.member_id)
            balances[draft.member_id] = apply(current, draft, (now_ms, who.kiosk_id, seq + 1))
        for sku in draft.deltas.get("stock", {}):
            if sku not in stock:
                stock[sku] = load_stock(conn, sku)
        apply_stock(stock, draft)
        seq += 1
        event = Event(
            id=txn if not events else new_event_id(now_ms),
            kiosk_id=who.kiosk_id,
            store_id=who.store_id,
            seq=seq,
            ts=now_ms,
            txn=txn,
            type=draft.type,
            member_id=draft.member_id,
            data=dict(draft.data),
            deltas=dict(draft.deltas),
            operator=operator,
            v=draft.v,
        )
        events.append(event)
    insert(conn, events, chain)
    save_projections(conn, balances, stock)
    return events


def event_row(e: Event) -> tuple:
    """The stored columns of an event, checksum last."""
    row = (e.id, e.kiosk_id, e.store_id, e.seq, e.ts, e.txn, e.type, e.member_id, dumps(e.data), dumps(e.deltas))
    return (*row, e.operator, e.v, event_crc(row, e.operator, e.v))


def event_crc(row: Sequence, operator: str | None, v: int) -> int:
    """Rows written before operators were kept (operator NULL, v 1) keep the checksum they were written with."""
    return row_crc(row) if operator is None and v == 1 else row_crc((*row, operator, v))


INSERT_EVENT = ("INSERT INTO events (id, kiosk_id, store_id, seq, ts, txn, type, member_id, data, deltas, operator, v, crc,"
                " link) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def insert(conn: sqlite3.Connection, events: Sequence[Event], chain: Chain) -> None:
    """Write events at the ledger's end, each linked to the one before it (own and ingested events alike)."""
    conn.executemany(INSERT_EVENT, chain.linked(conn, [event_row(e) for e in events]))


def save_projections(conn: sqlite3.Connection, balances: dict[str, Balances], stock: dict[str, int]) -> None:
    """Write folded balances and stock levels, in the transaction that appended or ingested their events."""
    conn.executemany(
        f"INSERT OR REPLACE INTO balances (member_id, {BALANCE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(m, b.points, b.stored_value, b.lifetime_spend, b.tier, dumps(b.visits) if b.visits else _NO_VISITS,
          _NEVER_CHANGED if b.tier_at == NO_STAMP else dumps(b.tier_at))
         for m, b in balances.items()],
    )
    conn.executemany("INSERT OR REPLACE INTO stock (sku, qty) VALUES (?, ?)", list(stock.items()))


BALANCE_COLUMNS = "points, stored_value, lifetime_spend, tier, visits, tier_at"


_NO_VISITS, _NEVER_CHANGED = "{}", '[0,"",0]'  # what most members' rows hold: no JSON either way


def balances_from_row(row: Sequence) -> Balances:
    """Balances from the BALANCE_COLUMNS of a row."""
    return Balances(points=row[0], stored_value=row[1], lifetime_spend=row[2], tier=row[3],
                    visits={} if row[4] == _NO_VISITS else json.loads(row[4]),
                    tier_at=NO_STAMP if row[5] == _NEVER_CHANGED else tuple(json.loads(row[5])))


def load_balances(conn: sqlite3.Connection, member_id: str) -> Balances:
    """The member's projected balances (zero for a member with no events yet)."""
    row = conn.execute(f"SELECT {BALANCE_COLUMNS} FROM balances WHERE member_id = ?", (member_id,)).fetchone()
    return Balances() if row is None else balances_from_row(row)


def load_stock(conn: sqlite3.Connection, sku: str) -> int:
    """Units of a SKU on hand according to the ledger."""
    row = conn.execute("SELECT qty FROM stock WHERE sku = ?", (sku,)).fetchone()
    return row[0] if row else 0


EVENT_COLUMNS = "id, kiosk_id, store_id, seq, ts, txn, type, member_id, data, deltas, operator, v"


def event_from_row(row: Sequence) -> Event:
    """An Event from the EVENT_COLUMNS of a row (orjson: followers replaying a million sales decode 2x faster)."""
    return Event(*row[:8], data=orjson.loads(row[8]), deltas=orjson.loads(row[9]), operator=row[10], v=row[11])


def member_events(conn: sqlite3.Connection, member_id: str, limit: int | None = None) -> list[Event]:
    """A member's events, newest first."""
    sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE member_id = ? ORDER BY pos DESC"
    params: tuple = (member_id,)
    if limit is not None:
        sql += " LIMIT ?"
        params += (limit,)
    return [event_from_row(r) for r in conn.execute(sql, params)]


def txn_events(conn: sqlite3.Connection, txn: str) -> list[Event]:
    """The events committed together as one transaction (a sale, a top-up), in order."""
    return [event_from_row(r) for r in conn.execute(f"SELECT {EVENT_COLUMNS} FROM events WHERE txn = ? ORDER BY pos", (txn,))]


def all_events(conn: sqlite3.Connection, batch: int = 10_000) -> Iterable[tuple[int, Event, int, int]]:
    """Every event in ledger order with its position, stored crc and recomputed crc (for verify)."""
    cur = conn.execute(f"SELECT pos, {EVENT_COLUMNS}, crc FROM events ORDER BY pos")
    while rows := cur.fetchmany(batch):
        for r in rows:
            yield r[0], event_from_row(r[1:13]), r[13], event_crc(r[1:11], r[11], r[12])


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def txn_number(event: Event) -> str:
    """The short number printed on receipts and typed at the counter: KIOSK-SEQ of a transaction's first event."""
    return f"{event.kiosk_id}-{event.seq}"


def resolve_txn(conn: sqlite3.Connection, ref: str, this_kiosk: str | None = None) -> str:
    """The transaction id for its UUID, the KIOSK-SEQ number printed on the receipt, or (on `this_kiosk`) the SEQ alone."""
    ref = ref.strip()
    if _UUID.match(ref):
        return ref
    kiosk_id, _, seq = ref.rpartition("-") if "-" in ref else (this_kiosk, "", ref)
    if kiosk_id and seq.isdigit():
        row = conn.execute("SELECT txn FROM events WHERE kiosk_id = ? AND seq = ? AND id = txn", (kiosk_id, int(seq))).fetchone()
        if row:
            return row[0]
    raise NotFound(f"no sale numbered {ref}; use the 单号 printed on the receipt")
