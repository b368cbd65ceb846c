"""Baskets parked for the counter survive a restart and are called up once."""
from __future__ import annotations

import pytest

from core.errors import Conflict, InvalidInput, NotFound
from kiosk.app import Kiosk
from kiosk.services.parking import PARKED_FOR_MS


def test_park_then_take_once_even_after_a_restart(tmp_path, clock) -> None:
    with Kiosk.open(tmp_path, clock=clock, kiosk_id="k1") as kiosk:
        first = kiosk.parking.park("k1-000001", {"TEA-500": 2}, ["WELCOME10"], 700)
        second = kiosk.parking.park(None, {"CHIPS": 1}, [], 750)
        assert second == first + 1
        with pytest.raises(InvalidInput):
            kiosk.parking.park(None, {}, [], 0)
    with Kiosk.open(tmp_path, clock=clock) as kiosk:
        assert [b.number for b in kiosk.parking.waiting()] == [second, first]
        taken = kiosk.parking.take(first)
        assert (taken.member_id, taken.basket, taken.coupons, taken.due) == ("k1-000001", {"TEA-500": 2}, ["WELCOME10"], 700)
        with pytest.raises(Conflict, match="already called up"):
            kiosk.parking.take(first)
        with pytest.raises(NotFound, match="scan the items instead"):
            kiosk.parking.take(999)
        assert [b.number for b in kiosk.parking.waiting()] == [second]
        clock.advance(PARKED_FOR_MS + 1)
        assert kiosk.parking.waiting() == []
