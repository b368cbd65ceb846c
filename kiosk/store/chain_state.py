"""Chain sync state in SQLite: what the hub acknowledged, where this kiosk is in the hub's feeds, and allowances.

The ledger is the outbox: own events are read by (kiosk, seq) and own directory changes by (kiosk, feed position),
so nothing is copied for sync. Every number here only moves forward; a lost tail (the hub acknowledged events
this ledger lacks) is kept until the restore path has brought them back. Call the writers inside a transaction.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Mapping

from core.codec import dumps
from core.directory import Change
from core.events import Event
from kiosk.store.ledger import EVENT_COLUMNS, event_from_row
from kiosk.store.pii import key_of

SPENDABLE = ("stored_value", "points")  # plus one "visits:PACK" kind per visit pack


@dataclass(frozen=True)
class ChainState:
    """The link's durable state: acknowledgements, directory positions both ways, a lost tail, the origin cursors."""

    acked_seq: int
    last_ack_at: int | None
    directory_acked: int
    hub_directory: int
    lost_tail: int | None
    connected: bool
    connected_since: int | None
    cursors: dict[str, int]


@dataclass(frozen=True)
class Allowance:
    """What the hub lets this kiosk spend of a member without asking, per kind, as of this kiosk's watermark."""

    amounts: dict[str, int]  # kind -> amount: stored_value (fen), points, visits:PACK
    as_of: int
    epoch: int


def kinds(deltas: Mapping[str, Any]) -> dict[str, int]:
    """Balance deltas, or an allowance's amounts, as {kind: n}; visits become one kind per pack."""
    flat = {k: v for k in SPENDABLE if type(v := deltas.get(k, 0)) is int and v}
    visits = deltas.get("visits")
    if isinstance(visits, Mapping):
        flat.update({f"visits:{pack}": n for pack, n in visits.items() if type(n) is int and n})
    return flat


def nested(flat: Mapping[str, int]) -> dict[str, Any]:
    """{kind: n} back in the wire's form: {"stored_value", "points", "visits": {pack: n}}."""
    out: dict[str, Any] = {k: flat[k] for k in SPENDABLE if k in flat}
    visits = {k.removeprefix("visits:"): n for k, n in flat.items() if k.startswith("visits:")}
    return {**out, "visits": visits} if visits else out


def state(conn: sqlite3.Connection) -> ChainState:
    """The sync state row and the origin cursors."""
    row = conn.execute("SELECT acked_seq, last_ack_at, directory_acked, hub_directory, lost_tail, connected,"
                       " connected_since FROM chain_sync WHERE id = 1").fetchone()
    return ChainState(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], cursors(conn))


def cursors(conn: sqlite3.Connection) -> dict[str, int]:
    """{origin kiosk: highest sequence held from the hub's pages}."""
    return dict(conn.execute("SELECT origin, seq FROM chain_cursors ORDER BY origin").fetchall())


def acked_seq(conn: sqlite3.Connection) -> int:
    """The highest sequence of this kiosk the hub acknowledged."""
    return conn.execute("SELECT acked_seq FROM chain_sync WHERE id = 1").fetchone()[0]


def lost_tail(conn: sqlite3.Connection) -> int | None:
    """The sequence the hub holds this kiosk's events up to while this ledger lacks some of them, else None."""
    return conn.execute("SELECT lost_tail FROM chain_sync WHERE id = 1").fetchone()[0]


def record_ack(conn: sqlite3.Connection, acked_seq: int, directory: int | None, head: int, now_ms: int) -> None:
    """Store an acknowledgement (never backwards); an ack above `head` sets the lost tail."""
    conn.execute("UPDATE chain_sync SET acked_seq = MAX(acked_seq, ?), last_ack_at = ?,"
                 " directory_acked = MAX(directory_acked, COALESCE(?, 0)) WHERE id = 1", (acked_seq, now_ms, directory))
    if acked_seq > head:
        conn.execute("UPDATE chain_sync SET lost_tail = MAX(COALESCE(lost_tail, 0), ?) WHERE id = 1", (acked_seq,))


def clear_lost_tail(conn: sqlite3.Connection, head: int) -> bool:
    """Clear the lost tail once the ledger holds it again; whether it was cleared now."""
    return conn.execute("UPDATE chain_sync SET lost_tail = NULL WHERE id = 1 AND lost_tail <= ?", (head,)).rowcount > 0


def advance_cursors(conn: sqlite3.Connection, upto: Mapping[str, int]) -> None:
    """Move origin cursors forward to `upto` (never back)."""
    conn.executemany("INSERT INTO chain_cursors (origin, seq) VALUES (?, ?)"
                     " ON CONFLICT (origin) DO UPDATE SET seq = MAX(seq, excluded.seq)", list(upto.items()))


def advance_hub_directory(conn: sqlite3.Connection, upto: int) -> None:
    """Move the position held in the hub's directory feed forward to `upto`."""
    conn.execute("UPDATE chain_sync SET hub_directory = MAX(hub_directory, ?) WHERE id = 1", (upto,))


def set_connected(conn: sqlite3.Connection, connected: bool, now_ms: int) -> None:
    """Record the link's state; `connected_since` is when it last changed."""
    conn.execute("UPDATE chain_sync SET connected = ?, connected_since = ? WHERE id = 1 AND connected != ?",
                 (int(connected), now_ms, int(connected)))


def head(conn: sqlite3.Connection, kiosk_id: str) -> int:
    """This kiosk's highest sequence (0 when it has no events)."""
    return conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE kiosk_id = ?", (kiosk_id,)).fetchone()[0]


def own_events(conn: sqlite3.Connection, kiosk_id: str, after_seq: int, limit: int) -> list[Event]:
    """Up to `limit` of this kiosk's events with seq > `after_seq`, in sequence order."""
    return [event_from_row(r) for r in conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE kiosk_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (kiosk_id, after_seq, limit))]


def own_changes(conn: sqlite3.Connection, kiosk_id: str, after_pos: int, limit: int) -> list[tuple[int, Change]]:
    """Up to `limit` (feed position, change) made on this kiosk after `after_pos`, with personal fields opened."""
    rows = conn.execute("SELECT pos, id, member_id, kiosk_id, ts, kind, fields FROM directory"
                        " WHERE kiosk_id = ? AND pos > ? ORDER BY pos LIMIT ?", (kiosk_id, after_pos, limit)).fetchall()
    key = key_of(conn) if rows else None
    return [(pos, Change(cid, member_id, kiosk, ts, kind, key.open_fields(member_id, json.loads(fields))))
            for pos, cid, member_id, kiosk, ts, kind, fields in rows]


def count_own_changes(conn: sqlite3.Connection, kiosk_id: str, after_pos: int) -> int:
    """How many directory changes made here are after `after_pos` (not yet acknowledged)."""
    return conn.execute("SELECT COUNT(*) FROM directory WHERE kiosk_id = ? AND pos > ?",
                        (kiosk_id, after_pos)).fetchone()[0]


def own_moves(conn: sqlite3.Connection, kiosk_id: str, member_id: str, after_seq: int) -> dict[str, int]:
    """The net {kind: n} of this kiosk's events of a member with seq > `after_seq`. Own events stand in the ledger
    in sequence order, so the member index is sought from the position of the last own event up to `after_seq`."""
    row = conn.execute("SELECT pos FROM events WHERE kiosk_id = ? AND seq <= ? ORDER BY seq DESC LIMIT 1",
                       (kiosk_id, after_seq)).fetchone()
    total: dict[str, int] = {}
    for (deltas,) in conn.execute("SELECT deltas FROM events WHERE member_id = ? AND pos > ? AND kiosk_id = ?",
                                  (member_id, row[0] if row else 0, kiosk_id)):
        for kind, n in kinds(json.loads(deltas)).items():
            total[kind] = total.get(kind, 0) + n
    return total


def allowance(conn: sqlite3.Connection, member_id: str) -> Allowance | None:
    """The member's stored allowance, or None when the hub never sent one."""
    row = conn.execute("SELECT amounts, as_of, epoch FROM allowances WHERE member_id = ?", (member_id,)).fetchone()
    return Allowance(json.loads(row[0]), row[1], row[2]) if row else None


def put_allowance(conn: sqlite3.Connection, member_id: str, amounts: Mapping[str, Any], as_of: int, epoch: int) -> bool:
    """Replace the member's whole allowance when (as_of, epoch) is not older than the stored one; whether it did."""
    return conn.execute(
        "INSERT INTO allowances (member_id, as_of, epoch, amounts) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (member_id) DO UPDATE SET as_of = excluded.as_of, epoch = excluded.epoch,"
        " amounts = excluded.amounts"
        " WHERE (excluded.as_of, excluded.epoch) >= (allowances.as_of, allowances.epoch)",
        (member_id, as_of, epoch, dumps(kinds(amounts)))).rowcount > 0


def all_allowances(conn: sqlite3.Connection) -> list[tuple[str, Allowance]]:
    """Every stored allowance, by member."""
    return [(m, Allowance(json.loads(a), as_of, epoch))
            for m, a, as_of, epoch in conn.execute(
                "SELECT member_id, amounts, as_of, epoch FROM allowances ORDER BY member_id")]


def document_version(conn: sqlite3.Connection, name: str) -> int:
    """The version of head-office document `name` applied here (0: none)."""
    row = conn.execute("SELECT version FROM chain_documents WHERE name = ?", (name,)).fetchone()
    return row[0] if row else 0


def document_versions(conn: sqlite3.Connection) -> dict[str, int]:
    """{document name: version applied}."""
    return dict(conn.execute("SELECT name, version FROM chain_documents ORDER BY name").fetchall())


def set_document_version(conn: sqlite3.Connection, name: str, version: int, now_ms: int) -> None:
    """Record that version `version` of `name` is applied (never backwards)."""
    conn.execute("INSERT INTO chain_documents (name, version, applied_at) VALUES (?, ?, ?)"
                 " ON CONFLICT (name) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at"
                 " WHERE excluded.version > chain_documents.version", (name, version, now_ms))
