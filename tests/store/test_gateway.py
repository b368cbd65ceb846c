"""The commit gateway: one policy on every path to the ledger, every event attributed, followers told after commit."""
from __future__ import annotations

import pytest

from core.errors import CardBlocked, InvalidInput, MemberErased, NotAllowed
from core.events import CUSTOMER, POINTS_ADJUSTED, SYSTEM, EventDraft
from core.quote_input import BasketLine as L
from core.quote_input import TenderRequest
from kiosk.services.members import Registration
from kiosk.services.pins import WrongPin
from kiosk.services.topup import top_up
from kiosk.store.verify import verify_ledger
from tests.pricing.conftest import CATALOG, DEMO

CARD = "04A1B2C3"


@pytest.fixture
def shop(kiosk):
    kiosk.sales.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
    kiosk.sales.load_catalog(CATALOG)
    view = kiosk.members.register(Registration(phone="13800138000", consent=True, card=CARD, pin="123456"))
    member = view.member.member_id
    top_up(kiosk.members, member, 50_000, operator="M01")
    return member


def _events(kiosk) -> list:
    with kiosk.db.reading() as conn:
        return conn.execute("SELECT type, operator FROM events ORDER BY pos").fetchall()


def test_every_event_records_who_did_it(kiosk, shop):
    kiosk.sales.checkout(shop, [L("TEA-500", 1)], tender=TenderRequest(stored_value=True), pin="123456",
                         operator=CUSTOMER, card=CARD)
    kiosk.staff.add("C01", "收银 李", "cashier", "000000")
    kiosk.staff.punch(kiosk.staff.login_pin("C01", "000000"), clocking_in=True)
    rows = _events(kiosk)
    assert all(operator for _type, operator in rows), rows
    by_type = dict(rows)
    assert by_type["member.registered"] == kiosk.operator  # the shell's default, cli:<user> here
    assert by_type["stored_value.topped_up"] == "M01"
    assert by_type["sale.completed"] == CUSTOMER
    assert by_type["staff.clocked_in"] == "C01"


def test_erased_members_card_is_refused_at_checkout_and_top_up(kiosk, shop):
    kiosk.members.erase(shop, operator="M01", cash_out=True)
    before = _events(kiosk)
    with pytest.raises(MemberErased, match="erased"):
        kiosk.sales.checkout(shop, [L("TEA-500", 1)], tender=TenderRequest(cash=1_000), operator="C01")
    with pytest.raises(MemberErased):
        top_up(kiosk.members, shop, 10_000, operator="M01")
    with pytest.raises(MemberErased):
        kiosk.members.commit([EventDraft(POINTS_ADJUSTED, shop, {"reason": "goodwill"}, {"points": 100})], "M01")
    with pytest.raises(MemberErased):
        kiosk.members.link_card(shop, "04D5E6F7", operator="M01")
    assert _events(kiosk) == before
    with kiosk.db.reading() as conn:
        assert verify_ledger(conn) == []


def test_staff_may_still_refund_an_erased_members_earlier_sale_but_a_customer_may_not(kiosk, shop):
    sale = kiosk.sales.checkout(shop, [L("TEA-500", 2)], tender=TenderRequest(cash=2_000), operator="C01")
    kiosk.members.erase(shop, operator="M01", cash_out=True)
    with pytest.raises(NotAllowed):
        kiosk.sales.refund(sale.sale_id, [0], operator=CUSTOMER)
    [refund] = kiosk.sales.refund(sale.sale_id, [0], operator="M01")
    assert refund.operator == "M01" and refund.member_id == shop


def test_a_card_blocked_between_tap_and_pay_is_refused_at_commit(kiosk, shop):
    kiosk.members.block_card(CARD, operator="M01")
    before = _events(kiosk)
    with pytest.raises(CardBlocked, match="reported lost"):
        kiosk.sales.checkout(shop, [L("TEA-500", 1)], tender=TenderRequest(stored_value=True), pin="123456",
                             operator=CUSTOMER, card=CARD)
    with pytest.raises(CardBlocked):
        top_up(kiosk.members, shop, 10_000, operator="M01", card=CARD)
    assert _events(kiosk) == before


def test_a_customer_spends_stored_value_only_with_the_pin(kiosk, shop):
    with pytest.raises(WrongPin, match="PIN"):
        kiosk.sales.checkout(shop, [L("TEA-500", 1)], tender=TenderRequest(stored_value=True), operator=CUSTOMER)
    with pytest.raises(WrongPin, match="wrong PIN"):
        kiosk.sales.checkout(shop, [L("TEA-500", 1)], tender=TenderRequest(stored_value=True), pin="000000",
                             operator=CUSTOMER)
    assert [t for t, _ in _events(kiosk)].count("sale.completed") == 0
    with pytest.raises(WrongPin, match="PIN"):  # staff too: the member's PIN, or a manager's override
        kiosk.sales.checkout(shop, [L("TEA-500", 1)], tender=TenderRequest(stored_value=True), operator="C01")
    sale = kiosk.sales.checkout(shop, [L("TEA-500", 1)], tender=TenderRequest(stored_value=True), pin="123456",
                                operator="C01")
    assert sale.events[0].operator == "C01"


@pytest.mark.parametrize("operator", ["", "a", "has space", "cli:", "x" * 13, "staff;drop"])
def test_a_malformed_operator_is_refused(kiosk, shop, operator):
    with pytest.raises(InvalidInput, match="not an operator"):
        top_up(kiosk.members, shop, 100, operator=operator or "?")


def test_followers_are_told_after_the_commit_and_a_failing_one_cannot_undo_it(kiosk, shop):
    seen: list[int] = []
    kiosk.gateway.subscribe(lambda: seen.append(kiosk.members.get(shop).balances.points))
    kiosk.gateway.subscribe(lambda: 1 / 0)
    events = kiosk.gateway.commit(SYSTEM, [EventDraft(POINTS_ADJUSTED, shop, {"reason": "test"}, {"points": 5})])
    assert seen == [5] and events[0].operator == SYSTEM  # told after the commit: the listener reads it
    assert kiosk.members.get(shop).balances.points == 5
    with pytest.raises(MemberErased):
        kiosk.members.erase(shop, operator="M01", cash_out=True)
        kiosk.members.erase(shop, operator="M01", cash_out=True)
    assert len(seen) == 2  # the erasure, not the refused second one
