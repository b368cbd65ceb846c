"""Baskets parked for the counter: a self-checkout customer who pays at the counter leaves the basket here,
and the cashier calls it up by the number the customer was shown, instead of scanning everything again."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from core.errors import Conflict, InvalidInput, NotFound
from kiosk.store.db import Database

PARKED_FOR_MS = 4 * 3600 * 1000  # a basket not called up within four hours is not offered any more


@dataclass(frozen=True)
class ParkedBasket:
    """What the customer had on the screen: SKUs and quantities, coupons, the member, and the amount shown."""

    number: int
    member_id: str | None
    basket: dict[str, int]
    coupons: list[str]
    due: int
    parked_at: int


class ParkingService:
    """Park a basket, list those waiting, and take one (once) at the counter."""

    def __init__(self, db: Database, clock: Callable[[], int]) -> None:
        self.db, self.clock = db, clock

    def park(self, member_id: str | None, basket: Mapping[str, int], coupons: Sequence[str], due: int) -> int:
        """Keep the basket durably and return the number to show the customer."""
        if not basket or any(qty <= 0 for qty in basket.values()):
            raise InvalidInput("an empty basket cannot be taken to the counter")
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO parked (member_id, basket, coupons, due, parked_at) VALUES (?, ?, ?, ?, ?)",
                (member_id, json.dumps(dict(basket)), json.dumps(list(coupons)), due, self.clock()),
            )
            return int(cur.lastrowid)

    def waiting(self) -> list[ParkedBasket]:
        """Baskets not yet called up, newest first."""
        with self.db.reading() as conn:
            rows = conn.execute(
                "SELECT number, member_id, basket, coupons, due, parked_at FROM parked"
                " WHERE taken_at IS NULL AND parked_at >= ? ORDER BY number DESC",
                (self.clock() - PARKED_FOR_MS,),
            ).fetchall()
        return [_basket(row) for row in rows]

    def take(self, number: int) -> ParkedBasket:
        """Call up a basket at the counter; each basket can be taken once."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT number, member_id, basket, coupons, due, parked_at, taken_at FROM parked WHERE number = ?",
                (number,),
            ).fetchone()
            if row is None:
                raise NotFound(f"no basket number {number} is waiting; scan the items instead")
            if row[6] is not None:
                raise Conflict(f"basket {number} was already called up at the counter")
            conn.execute("UPDATE parked SET taken_at = ? WHERE number = ?", (self.clock(), number))
        return _basket(row[:6])


def _basket(row: Sequence) -> ParkedBasket:
    return ParkedBasket(row[0], row[1], json.loads(row[2]), json.loads(row[3]), row[4], row[5])
