"""Staff accounts, logins and clock-in/out."""
from __future__ import annotations

import datetime as dt

import pytest

from core.errors import Conflict, InvalidInput, NotFound
from kiosk.app import Kiosk
from kiosk.services.members import Registration
from kiosk.services.pins import PinLocked, WrongPin
from kiosk.services.staff import NotAllowed


def test_login_by_pin_and_card_and_roles(kiosk: Kiosk) -> None:
    manager = kiosk.staff.add("M01", "店长 王", "manager", "888888", card="04AA0001")
    cashier = kiosk.staff.add("C01", "收银 李", "cashier", "000000")
    assert kiosk.staff.login_pin("C01", "000000") == cashier
    assert kiosk.staff.login_card("04:aa:00:01", "888888") == manager  # a manager's card needs the PIN too
    assert kiosk.staff.is_staff_card("04AA0001") and not kiosk.staff.is_staff_card("04BB0001")
    manager.require("cashier")
    with pytest.raises(NotAllowed, match="a manager must do this"):
        cashier.require("manager")
    with pytest.raises(NotFound):
        kiosk.staff.login_pin("X99", "000000")


def test_wrong_staff_pins_lock_the_account(kiosk: Kiosk) -> None:
    kiosk.staff.add("C01", "收银 李", "cashier", "000000")
    for _ in range(4):
        with pytest.raises(WrongPin):
            kiosk.staff.login_pin("C01", "111111")
    kiosk.staff.login_pin("C01", "000000")  # a success resets the count
    for _ in range(5):
        with pytest.raises(WrongPin):
            kiosk.staff.login_pin("C01", "111111")
    with pytest.raises(PinLocked):
        kiosk.staff.login_pin("C01", "000000")


def test_staff_and_member_cards_never_overlap(kiosk: Kiosk) -> None:
    kiosk.members.register(Registration(phone="13800138000", consent=True, card="04000001"))
    with pytest.raises(Conflict, match="already in use"):
        kiosk.staff.add("M01", "王", "manager", "888888", card="04000001")
    kiosk.staff.add("M01", "王", "manager", "888888", card="04000002")
    with pytest.raises(Conflict, match="staff card"):
        kiosk.members.register(Registration(phone="13800138001", consent=True, card="04000002"))
    for bad in (("M 1", "x", "manager", "888888"), ("M02", "x", "boss", "888888"), ("M02", "x", "manager", "12")):
        with pytest.raises(InvalidInput):
            kiosk.staff.add(*bad)


def test_clock_in_and_out_pair_up_in_the_ledger(kiosk: Kiosk, clock) -> None:
    li = kiosk.staff.add("C01", "收银 李", "cashier", "000000")
    wang = kiosk.staff.add("C02", "收银 王", "cashier", "000000")
    start = clock()
    with pytest.raises(Conflict, match="not clocked in"):
        kiosk.staff.punch(li, clocking_in=False)
    kiosk.staff.punch(li, clocking_in=True)
    with pytest.raises(Conflict, match="already clocked in"):
        kiosk.staff.punch(li, clocking_in=True)
    clock.advance(60_000)
    kiosk.staff.punch(wang, clocking_in=True)
    clock.advance(8 * 3600_000)
    event = kiosk.staff.punch(li, clocking_in=False)
    assert event.type == "staff.clocked_out" and event.data == {"staff_no": "C01"} and event.kiosk_id == "k1"
    entries = kiosk.staff.clock_list(kiosk.clock.local(start).date())
    assert [(e.staff_no, e.clocked_in, e.ts - start) for e in entries] == [
        ("C01", True, 0), ("C02", True, 60_000), ("C01", False, 60_000 + 8 * 3600_000)
    ]
    assert kiosk.staff.clock_list(kiosk.clock.local(start).date() - dt.timedelta(days=1)) == []
