"""Escrow: how much of a member's balance each kiosk may spend without asking, never more in all than the balance.

The member's balances row is the lock: grant, release and the consumption that applying a spend does all lock it
first, so two hub workers granting at once see each other's grants and cannot promise the same money twice. A spend
within a kiosk's allowance lowers the balance and the allowance together, which keeps the sum within the balance.
A spend beyond it (escrow off, or an old kiosk) lowers the allowance to zero and may overdraw; the overdraft is
recorded by apply.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from core.events import Event
from mqtt.hub import balances
from mqtt.hub.dialects import Tx


@dataclass(frozen=True)
class Allowance:
    """What `kiosk_id` may still spend of `member_id`'s `kind` (points, stored_value, visits:PACK) offline."""

    member_id: str
    kiosk_id: str
    kind: str
    amount: int


def grant(tx: Tx, member_id: str, kiosk_id: str, kind: str, amount: int, now_ms: int) -> int:
    """Raise the kiosk's allowance by up to `amount`, as far as the unpromised balance allows; returns the new total."""
    if amount < 0:
        raise ValueError(f"a grant of {amount} is negative; use release to take an allowance back")
    b = balances.lock(tx, [member_id])[member_id]
    have = held(tx, member_id)
    promised = sum(n for (_k, kd), n in have.items() if kd == kind)
    total = have.get((kiosk_id, kind), 0) + min(amount, max(0, balances.of_kind(b, kind) - promised))
    put(tx, member_id, kiosk_id, kind, total, now_ms)
    return total


def release(tx: Tx, member_id: str, kiosk_id: str, kind: str, amount: int | None, now_ms: int) -> int:
    """Give back `amount` of the kiosk's allowance (all of it when None); returns what the kiosk still holds."""
    balances.lock(tx, [member_id])
    have = held(tx, member_id).get((kiosk_id, kind), 0)
    left = 0 if amount is None else max(0, have - amount)
    put(tx, member_id, kiosk_id, kind, left, now_ms)
    return left


def consume(tx: Tx, spent: dict[tuple[str, str, str], int], now_ms: int) -> None:
    """Lower allowances by what applied spends used, (member, kiosk, kind) -> amount; balances rows already locked."""
    have: dict[tuple[str, str, str], int] = {}
    for member_id in sorted({m for m, _k, _kd in spent}):
        have.update({(member_id, k, kd): n for (k, kd), n in held(tx, member_id).items()})
    for key, amount in sorted(spent.items()):
        if have.get(key):
            put(tx, *key, max(0, have[key] - amount), now_ms)


def spends(events: Iterable[Event]) -> dict[tuple[str, str, str], int]:
    """What the events spent, by (member, kiosk, kind): the negative points, stored value and visits deltas."""
    spent: dict[tuple[str, str, str], int] = defaultdict(int)
    for e in events:
        if e.member_id is None:
            continue
        for kind in ("points", "stored_value"):
            n = e.deltas.get(kind)
            if type(n) is int and n < 0:
                spent[(e.member_id, e.kiosk_id, kind)] -= n
        visits = e.deltas.get("visits")
        for pack, n in (visits.items() if isinstance(visits, dict) else ()):
            if type(n) is int and n < 0:
                spent[(e.member_id, e.kiosk_id, f"visits:{pack}")] -= n
    return dict(spent)


def of_member(tx: Tx, member_id: str) -> list[Allowance]:
    """Every non-zero allowance of a member, by kiosk and kind."""
    return [Allowance(member_id, k, kind, n) for (k, kind), n in sorted(held(tx, member_id).items()) if n]


def held(tx: Tx, member_id: str) -> dict[tuple[str, str], int]:
    """A member's allowances, (kiosk, kind) -> amount (zeros included)."""
    return {(k, kind): n for k, kind, n in tx.rows(
        "SELECT kiosk_id, kind, amount FROM allowances WHERE member_id = ?", (member_id,))}


def put(tx: Tx, member_id: str, kiosk_id: str, kind: str, amount: int, now_ms: int) -> None:
    """Set one allowance; the member's balances row must be locked (that lock keeps the sum within the balance)."""
    tx.run("INSERT INTO allowances (member_id, kiosk_id, kind, amount, updated_at) VALUES (?, ?, ?, ?, ?)"
           " ON CONFLICT (member_id, kiosk_id, kind) DO UPDATE SET amount = excluded.amount,"
           " updated_at = excluded.updated_at", (member_id, kiosk_id, kind, amount, now_ms))
