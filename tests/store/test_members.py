"""Member use cases through the service: each one all-or-nothing, with a clear error when refused."""
from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from core.errors import Conflict, ConsentRequired, InvalidCardUid, InvalidPhone, NotFound
from kiosk.app import Kiosk
from kiosk.services.members import CardBlocked, Registration
from kiosk.services.pins import PinLocked, WrongPin
from kiosk.services.topup import top_up
from kiosk.store.verify import verify_ledger


def _count(kiosk: Kiosk, table: str) -> int:
    with kiosk.db.reading() as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def _register(kiosk: Kiosk, phone: str = "13800138000", card: str | None = "04a1b2c3", **kw) -> str:
    return kiosk.members.register(Registration(phone=phone, consent=True, card=card, **kw)).member.member_id


def test_register_then_find_by_card_phone_and_number(kiosk: Kiosk) -> None:
    member_id = _register(kiosk, name="张三", birthday=dt.date(1990, 5, 17), gender="M")
    assert member_id == "k1-000001"
    for view in (kiosk.members.by_card("04:A1:B2:C3"), kiosk.members.by_phone("+86 138-0013-8000"), kiosk.members.get(member_id)):
        assert view.member.member_id == member_id
        assert view.member.name == "张三"
        assert view.member.consent_at == kiosk.clock.now_ms()
        assert view.cards == [("04A1B2C3", "active")]


@pytest.mark.parametrize(
    "reg, error",
    [
        (Registration(phone="12800138000", consent=True), InvalidPhone),
        (Registration(phone="1380013800", consent=True), InvalidPhone),
        (Registration(phone="13800138001", consent=False), ConsentRequired),
        (Registration(phone="13800138001", consent=True, card="XYZ"), InvalidCardUid),
        (Registration(phone="13800138000", consent=True), Conflict),  # phone taken
        (Registration(phone="13800138001", consent=True, card="04A1B2C3"), Conflict),  # card taken
    ],
)
def test_refused_registrations_write_nothing(kiosk: Kiosk, reg: Registration, error: type) -> None:
    _register(kiosk)
    before = [_count(kiosk, t) for t in ("members", "cards", "events", "meta")]
    with pytest.raises(error):
        kiosk.members.register(reg)
    assert [_count(kiosk, t) for t in ("members", "cards", "events", "meta")] == before


def test_several_cards_and_a_blocked_card(kiosk: Kiosk) -> None:
    member_id = _register(kiosk)
    kiosk.members.link_card(member_id, "04D5E6F7")
    view = kiosk.members.block_card("04A1B2C3")
    assert view.cards == [("04A1B2C3", "blocked"), ("04D5E6F7", "active")]
    with pytest.raises(CardBlocked, match="reported lost"):
        kiosk.members.by_card("04A1B2C3")
    with pytest.raises(Conflict, match="reported lost"):
        kiosk.members.link_card(member_id, "04A1B2C3")
    assert kiosk.members.by_card("04D5E6F7").member.member_id == member_id
    with pytest.raises(NotFound, match="not registered"):
        kiosk.members.by_card("04000000")


def test_erase_removes_personal_data_and_settles_balances_in_cash(kiosk: Kiosk) -> None:
    member_id = _register(kiosk, name="李四", birthday=dt.date(1985, 1, 2), pin="123456")
    top_up(kiosk.members, member_id, 12_345)
    view = kiosk.members.erase(member_id, operator="M01", cash_out=True)
    assert (view.member.phone, view.member.name, view.member.birthday) == (None, None, None)
    assert view.balances.stored_value == 0  # handed over in cash, recorded with the manager as operator
    with pytest.raises(NotFound):
        kiosk.members.by_phone("13800138000")
    with kiosk.db.reading() as conn:
        assert "13800138000" not in str(conn.execute("SELECT * FROM events").fetchall())
        assert conn.execute("SELECT pin_hash FROM members").fetchone() == (None,)
        assert verify_ledger(conn) == []
    _register(kiosk, card=None)  # the phone number is free again


def test_edit_records_which_fields_changed(kiosk: Kiosk) -> None:
    member_id = _register(kiosk)
    _register(kiosk, phone="13900000000", card=None)
    with pytest.raises(Conflict):
        kiosk.members.edit(member_id, phone="13900000000")
    kiosk.members.edit(member_id, name="王五", phone="13700000000")
    assert kiosk.members.by_phone("13700000000").member.name == "王五"
    assert kiosk.members.history(member_id)[0].data == {"fields": ["name", "phone"]}


def test_ledger_is_append_only(kiosk: Kiosk) -> None:
    _register(kiosk)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        with kiosk.db.transaction() as conn:
            conn.execute("UPDATE events SET type = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        with kiosk.db.transaction() as conn:
            conn.execute("DELETE FROM events")


def test_events_carry_global_ids_kiosk_store_and_sequence(kiosk: Kiosk, clock) -> None:
    member_id = _register(kiosk)
    clock.advance(5)
    top_up(kiosk.members, member_id, 100)
    events = list(reversed(kiosk.members.history(member_id)))
    assert [e.seq for e in events] == [1, 2, 3]
    assert {(e.kiosk_id, e.store_id) for e in events} == {("k1", "s1")}
    assert len({e.id for e in events}) == 3 and all(len(e.id) == 36 and e.id[14] == "7" for e in events)
    assert events[0].txn == events[1].txn != events[2].txn
    assert events[2].ts == clock()


def test_pin_locks_after_five_failures_and_stays_locked_after_restart(tmp_path, clock) -> None:
    with Kiosk.open(tmp_path, clock=clock, kiosk_id="k1") as kiosk:
        member_id = _register(kiosk, pin="123456")
        kiosk.members.check_pin(member_id, "123456")
        for left in (4, 3, 2, 1):
            with pytest.raises(WrongPin, match=f"{left} tries left"):
                kiosk.members.check_pin(member_id, "000000")
        with pytest.raises(WrongPin, match="now locked"):
            kiosk.members.check_pin(member_id, "000000")
    with Kiosk.open(tmp_path, clock=clock) as kiosk:
        with pytest.raises(PinLocked):
            kiosk.members.check_pin(member_id, "123456")
        kiosk.members.set_pin(member_id, "222222")
        kiosk.members.check_pin(member_id, "222222")


def test_top_up_rejects_nonsense_amounts(kiosk: Kiosk) -> None:
    member_id = _register(kiosk)
    for amount in (0, -100, 5_000_001):
        with pytest.raises(Exception, match="top-up"):
            top_up(kiosk.members, member_id, amount)
    with pytest.raises(NotFound):
        top_up(kiosk.members, "k1-999999", 100)
    assert kiosk.members.get(member_id).balances.stored_value == 0
