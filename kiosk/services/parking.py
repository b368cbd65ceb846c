"""Baskets parked for the counter: a self-checkout customer who pays at the counter leaves the basket here,
and the cashier calls it up by the number the customer was shown, instead of scanning everything again."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from core.errors import Conflict, InvalidInput, NotFound
from kiosk.clock import Clock
from kiosk.services.gateway import Gateway
from kiosk.store import parked as rows
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

    def __init__(self, db: Database, gateway: Gateway, clock: Clock, operator: Callable[[], str]) -> None:
        self.db, self.gateway, self.clock, self._operator = db, gateway, clock, operator

    def park(self, member_id: str | None, basket: Mapping[str, int], coupons: Sequence[str], due: int,
             operator: str | None = None) -> int:
        """Keep the basket durably and return the number to show the customer."""
        if not basket or any(qty <= 0 for qty in basket.values()):
            raise InvalidInput("an empty basket cannot be taken to the counter")
        with self.gateway.unit(operator or self._operator()) as unit:
            return rows.insert(unit.conn, member_id, basket, coupons, due, unit.now)

    def waiting(self) -> list[ParkedBasket]:
        """Baskets not yet called up, newest first."""
        with self.db.reading() as conn:
            return [ParkedBasket(*row) for row in rows.waiting(conn, self.clock.now_ms() - PARKED_FOR_MS)]

    def take(self, number: int, operator: str | None = None) -> ParkedBasket:
        """Call up a basket at the counter; each basket can be taken once."""
        with self.gateway.unit(operator or self._operator()) as unit:
            found = rows.get(unit.conn, number)
            if found is None:
                raise NotFound(f"no basket number {number} is waiting; scan the items instead")
            if found[1] is not None:
                raise Conflict(f"basket {number} was already called up at the counter")
            rows.take(unit.conn, number, unit.now)
        return ParkedBasket(*found[0])
