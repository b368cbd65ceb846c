"""Chain-wide balances in the hub's `balances` table: locked, read and written as core.ledger.Balances."""
from __future__ import annotations

import json
from typing import Iterable, Sequence

from core.ledger import Balances
from mqtt.hub.dialects import Tx, chunks, marks

COLUMNS = "points, stored_value, lifetime_spend, visits, tier, tier_ts, tier_kiosk, tier_seq"
_SET = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS.split(", "))


def lock(tx: Tx, member_ids: Iterable[str]) -> dict[str, Balances]:
    """The members' balances, their rows locked until the transaction ends (created at zero when new).
    Rows are locked in member order, so two hub workers never wait on each other in a circle."""
    ids = sorted(set(member_ids))
    tx.insert("INSERT INTO balances (member_id)", [(m,) for m in ids], "ON CONFLICT DO NOTHING")
    found: dict[str, Balances] = {}
    for part in chunks(ids):
        for row in tx.rows(f"SELECT member_id, {COLUMNS} FROM balances WHERE member_id IN ({marks(len(part))})"
                           f" ORDER BY member_id{tx.lock}", part):
            found[row[0]] = from_row(row[1:])
    return found


def read(tx: Tx, member_id: str) -> Balances:
    """A member's balances without locking them; zero for a member the hub has not seen."""
    row = tx.one(f"SELECT {COLUMNS} FROM balances WHERE member_id = ?", (member_id,))
    return from_row(row) if row else Balances()


def save(tx: Tx, balances: dict[str, Balances]) -> None:
    """Write balances back to their (locked) rows, in one statement per few hundred members."""
    tx.insert(f"INSERT INTO balances (member_id, {COLUMNS})", [(m, *to_row(b)) for m, b in sorted(balances.items())],
              f"ON CONFLICT (member_id) DO UPDATE SET {_SET}")


def of_kind(b: Balances, kind: str) -> int:
    """One spendable balance: points, stored_value or visits:PACK."""
    if kind.startswith("visits:"):
        return b.visits.get(kind.removeprefix("visits:"), 0)
    if kind in ("points", "stored_value"):
        return getattr(b, kind)
    raise ValueError(f"no spendable balance is called {kind!r}; use points, stored_value or visits:PACK")


def from_row(row: Sequence) -> Balances:
    points, stored_value, lifetime_spend, visits, tier, ts, kiosk, seq = row
    return Balances(points, stored_value, lifetime_spend, json.loads(visits), tier, (ts, kiosk, seq))


def to_row(b: Balances) -> tuple:
    return (b.points, b.stored_value, b.lifetime_spend, json.dumps(dict(b.visits), sort_keys=True), b.tier, *b.tier_at)
