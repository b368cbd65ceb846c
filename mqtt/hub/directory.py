"""The chain-wide member directory at the hub: every kiosk's changes kept by id and merged with core.directory.

The hub keeps the feed (`directory`) and, per member, what lookups need (`members`: the merged phone, erasure).
The merge rules are the kiosks' own, so the hub and every kiosk agree on a record whatever order changes came in.
An erasure scrubs the personal data of every change of that member from the hub's feed too.
"""
from __future__ import annotations

import json
from typing import Sequence

from core.codec import dumps
from core.directory import ERASED, Change, Record, merge, scrub
from mqtt.hub.dialects import Tx
from mqtt.hub.schema import DIRECTORY_POS

_COLUMNS = "id, member_id, kiosk_id, ts, kind, fields"


def add(tx: Tx, changes: Sequence[Change], now_ms: int) -> int:
    """Store the changes the hub lacks (by id) and re-merge their members; returns how many were new.

    The feed counter is locked before anything is inserted and held to the commit, so feed positions become visible
    in the order they were given; a change that another transaction holds already leaves its position unused."""
    unique = sorted({c.id: c for c in changes}.values(), key=lambda c: c.id)
    if not unique:
        return 0
    (last,) = tx.one(f"SELECT value FROM meta WHERE key = ?{tx.lock}", (DIRECTORY_POS,))
    base = int(last)
    rows = [(c.id, c.member_id, c.kiosk_id, c.ts, c.kind, dumps(dict(c.fields)), base + i)
            for i, c in enumerate(unique, 1)]
    added = {r[0] for r in tx.insert(f"INSERT INTO directory ({_COLUMNS}, pos)", rows,
                                     "ON CONFLICT DO NOTHING RETURNING id")}
    if added:
        tx.run("UPDATE meta SET value = ? WHERE key = ?", (str(base + len(unique)), DIRECTORY_POS))
    touched = sorted({c.member_id for c in unique if c.id in added})
    tx.insert("INSERT INTO members (member_id)", [(m,) for m in touched], "ON CONFLICT DO NOTHING")
    for member_id in touched:  # in member order: the row lock makes two workers merge one member in turn
        tx.one(f"SELECT member_id FROM members WHERE member_id = ?{tx.lock}", (member_id,))
        _project(tx, member_id)
    return len(added)


def changes_of(tx: Tx, member_id: str) -> list[Change]:
    """Every change of a member the hub holds."""
    return [Change(i, m, k, ts, kind, json.loads(fields)) for i, m, k, ts, kind, fields in tx.rows(
        f"SELECT {_COLUMNS} FROM directory WHERE member_id = ?", (member_id,))]


def record(tx: Tx, member_id: str) -> Record:
    """A member's merged record."""
    return merge(member_id, changes_of(tx, member_id))


def find_phone(tx: Tx, phone: str) -> list[Record]:
    """The records holding a phone number; when two members claim it (registered offline at two kiosks), the
    first claim comes first."""
    found = [record(tx, m) for (m,) in tx.rows("SELECT member_id FROM members WHERE phone = ?", (phone,))]
    return sorted(found, key=lambda r: (r.phone_at or (2**63, "", ""), r.member_id))


def feed(tx: Tx, after: int, limit: int) -> list[tuple[int, Change]]:
    """The feed after position `after`, in position order: (position, change), at most `limit`."""
    return [(pos, Change(i, m, k, ts, kind, json.loads(fields))) for pos, i, m, k, ts, kind, fields in tx.rows(
        f"SELECT pos, {_COLUMNS} FROM directory WHERE pos > ? ORDER BY pos LIMIT ?", (after, limit))]


def _project(tx: Tx, member_id: str) -> None:
    changes = changes_of(tx, member_id)
    if any(c.kind == ERASED for c in changes):
        tx.many("UPDATE directory SET fields = ? WHERE id = ?",
                [(dumps(dict(scrub(c).fields)), c.id) for c in changes if scrub(c).fields != c.fields])
    rec = merge(member_id, changes)
    tx.run("UPDATE members SET phone = ?, erased_at = ? WHERE member_id = ?", (rec.get("phone"), rec.erased_at, member_id))

