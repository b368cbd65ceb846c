"""The ledger's verified checkpoint, and the last full verify's result, kept in `meta` so they travel with the ledger.

A full `memberkiosk verify` that passes, and each `verify --quick` that passes, set the checkpoint at the ledger's end
as it was verified: the position, id and audit link (the chain head) of the last event, the witness's position, and
when. The quick verify (the kiosk's ExecStartPre) then checks only what came after it: each newer event's checksum,
and its link chained on from the checkpoint's own link. The checkpoint carries an HMAC under the audit key, so
editing the file cannot move it forward over tampered events.

Decided: damage to an event before the checkpoint that leaves the checkpoint's own event and link alone is not seen at
start (finding it means reading every event); the nightly full verify finds it, and its result goes to head office
in the kiosk's telemetry. The checkpoint's own event is checked (id, stored link, and its link recomputed from the
event before it), so a ledger replaced or rewritten up to there is caught at start.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

from kiosk.store import meta
from kiosk.store.audit import GENESIS, ROW_COLUMNS, Chain
from kiosk.store.errors import StoreDamaged
from kiosk.store.ledger import event_crc

CHECKPOINT_KEY = "verified_checkpoint"
RESULT_KEY = "verify_result"
_HEAD = "SELECT pos, id, link FROM events ORDER BY pos DESC LIMIT 1"


@dataclass(frozen=True)
class Checkpoint:
    """Where the ledger was last verified: its last event then (0, '', GENESIS for an empty ledger) and when (ms)."""

    pos: int
    event_id: str
    link: bytes
    witness_pos: int
    at: int


@dataclass(frozen=True)
class VerifyResult:
    """The last full verify, as doctor and head office see it: passed or not, when, events checked, the first problem."""

    ok: bool
    at: int
    events: int
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the telemetry's `verify`)."""
        return asdict(self)


class CheckpointForged(StoreDamaged):
    """The checkpoint's HMAC does not verify: the file was edited to skip checks, or the audit key was replaced."""


def head(conn: sqlite3.Connection) -> tuple[int, str, bytes]:
    """(position, id, link) of the ledger's last event; (0, '', GENESIS) when it has none."""
    row = conn.execute(_HEAD).fetchone()
    return (row[0], row[1], row[2] if row[2] is not None else GENESIS) if row else (0, "", GENESIS)


def link_at(conn: sqlite3.Connection, pos: int) -> tuple[int, bytes]:
    """(position, link) of the last event at or before `pos`; (0, GENESIS) when there is none."""
    row = conn.execute("SELECT pos, link FROM events WHERE pos <= ? ORDER BY pos DESC LIMIT 1", (pos,)).fetchone()
    return (row[0], row[1] if row[1] is not None else GENESIS) if row else (0, GENESIS)


def read(conn: sqlite3.Connection, key: bytes) -> Checkpoint | None:
    """The stored checkpoint, None before the first verify; CheckpointForged when its HMAC fails."""
    raw = meta.get(conn, CHECKPOINT_KEY)
    if raw is None:
        return None
    body, _, mac = raw.rpartition("\t")
    if not hmac.compare_digest(_mac(key, body), mac):
        raise CheckpointForged("the ledger's verified checkpoint does not verify under this kiosk's audit key: it was "
                               "edited to skip checks, or the key directory was replaced. Run 'memberkiosk verify' "
                               "(the full check) and restore the last backup if it reports damage")
    pos, event_id, link, witness_pos, at = json.loads(body)
    return Checkpoint(pos, event_id, bytes.fromhex(link), witness_pos, at)


def write(conn: sqlite3.Connection, key: bytes, checkpoint: Checkpoint) -> None:
    """Store `checkpoint` under its HMAC; call in a writing transaction."""
    c = checkpoint
    body = json.dumps([c.pos, c.event_id, c.link.hex(), c.witness_pos, c.at])
    meta.put(conn, CHECKPOINT_KEY, f"{body}\t{_mac(key, body)}")


def mismatch(conn: sqlite3.Connection, checkpoint: Checkpoint, chain: Chain) -> str | None:
    """Why the ledger no longer holds the checkpoint's event as verified (None when it does)."""
    if checkpoint.pos == 0:
        return None
    row = conn.execute(f"SELECT {ROW_COLUMNS}, link FROM events WHERE pos = ?", (checkpoint.pos,)).fetchone()
    where = f"the verified checkpoint's event #{checkpoint.pos} ({checkpoint.event_id})"
    restore = "run 'memberkiosk verify' for the full report and restore the last backup"
    if row is None:
        return f"{where} is gone: the ledger is older than its own checkpoint (replaced by an older copy?); {restore}"
    if row[0] != checkpoint.event_id or row[-1] != checkpoint.link:
        return f"{where} was replaced or its audit link changed since it was verified; {restore}"
    if chain.link(link_at(conn, checkpoint.pos - 1)[1], row[:-1]) != checkpoint.link:
        return f"{where} was altered, or the event before it was, since it was verified; {restore}"
    return None


def problems_after(conn: sqlite3.Connection, chain: Chain, pos: int, link: bytes) -> tuple[int, list[tuple[str, str]]]:
    """(events checked, [(where, what)]) for every event after position `pos`, whose link is `link`: each row's
    checksum, and its audit link chained on from there. After a bad link the walk goes on from the stored one."""
    prev, count, problems = link, 0, []
    cur = conn.execute(f"SELECT pos, {ROW_COLUMNS}, link FROM events WHERE pos > ? ORDER BY pos", (pos,))
    while rows := cur.fetchmany(10_000):
        for at, *row, stored in rows:
            count += 1
            where = f"event #{at} ({row[0]})"
            if event_crc(row[:10], row[10], row[11]) != row[12]:
                problems.append((where, "checksum mismatch: the row was altered or damaged"))
            elif stored != chain.link(prev, row):
                problems.append((where, "its audit link does not verify: it was altered, or an event before it was "
                                        "inserted, deleted or moved"))
            prev = stored if stored is not None else prev
    return count, problems


def read_result(conn: sqlite3.Connection) -> VerifyResult | None:
    """The last full verify's result, None before the first."""
    raw = meta.get(conn, RESULT_KEY)
    return None if raw is None else VerifyResult(**json.loads(raw))


def write_result(conn: sqlite3.Connection, result: VerifyResult) -> None:
    """Record a full verify's result; call in a writing transaction."""
    meta.put(conn, RESULT_KEY, json.dumps(result.as_dict(), ensure_ascii=False))


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, b"memberkiosk-checkpoint/1\x1f" + body.encode(), hashlib.sha256).hexdigest()

