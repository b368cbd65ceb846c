"""The escrow in the commit gateway: spending within the allowance (plus own credits) offline, beyond it only with
head office's grant; refused or offline, nothing is written and the cashier is told what can be spent here."""
from __future__ import annotations

import pytest

from core.errors import InsufficientBalance, SpendOffline, SpendRefused
from core.events import POINTS_ADJUSTED, POINTS_EXPIRED, SYSTEM, EventDraft
from core.quote_input import BasketLine, TenderRequest
from kiosk.app import Kiosk
from kiosk.services.topup import top_up
from kiosk.store import chain_state
from tests.chain.conftest import FakeHub
from tests.sync.helpers import load_shop, member_with, spend, stored


def _all_acked(k: Kiosk, member: str, **amounts) -> int:
    """Head office has every event of `k` and grants `amounts` of `member` as of them; returns the head."""
    head = k.chain.head()
    k.chain.record_ack(head, None)
    k.chain.set_allowances(1, head, {member: amounts})
    return head


def _points(k: Kiosk, member: str) -> int:
    with k.db.reading() as conn:
        return conn.execute("SELECT points FROM balances WHERE member_id = ?", (member,)).fetchone()[0]


def test_a_kiosk_outside_a_chain_has_no_escrow(kiosk: Kiosk) -> None:
    assert kiosk.gateway.escrow is None
    load_shop(kiosk)
    member = member_with(kiosk, "13800138000", 1_000)
    kiosk.chain.record_ack(0, None)
    spend(kiosk, member, 1)
    assert stored(kiosk, member) == 250


def test_own_top_ups_are_spendable_at_once_offline(chained: Kiosk, hub: FakeHub) -> None:
    member = member_with(chained, "13800138000", 10_000)  # nothing acked: all of it is this kiosk's own credit
    spend(chained, member, 4)
    _all_acked(chained, member, stored_value=0)
    top_up(chained.members, member, 1_500)  # since the grant's watermark: this kiosk's to spend
    spend(chained, member, 2)
    assert stored(chained, member) == 10_000 - 3_000 + 1_500 - 1_500 and hub.asked == []


def test_beyond_the_allowance_offline_nothing_is_written_and_the_cashier_hears_what_can_be_spent(
        chained: Kiosk, hub: FakeHub) -> None:
    member = member_with(chained, "13800138000", 10_000)
    head = _all_acked(chained, member, stored_value=1_000)
    spend(chained, member, 1)  # ¥7.50 of the ¥10.00 allowance
    with pytest.raises(SpendOffline, match=r"Offline: 张三 can spend up to ¥2\.50 of stored value here until the "
                                           "network is back; pay the rest another way"):
        spend(chained, member, 1)
    assert hub.asked == [(member, {"stored_value": 500}, 0.5)]
    assert chained.chain.head() == head + 1 and stored(chained, member) == 10_000 - 750
    chained.set_asker(None)  # no agent in this process: the same, without asking
    with pytest.raises(SpendOffline):
        spend(chained, member, 1)
    assert len(hub.asked) == 1


def test_granted_the_spend_commits_and_the_replys_allowance_is_stored(chained: Kiosk, hub: FakeHub) -> None:
    member = member_with(chained, "13800138000", 10_000)
    head = _all_acked(chained, member, stored_value=1_000)
    spend(chained, member, 1)
    hub.answer, hub.allowance, hub.as_of = "grant", {"stored_value": 1_500, "points": 20}, head
    spend(chained, member, 1)
    assert hub.asked == [(member, {"stored_value": 500}, 0.5)]
    with chained.db.reading() as conn:
        kept = chain_state.allowance(conn, member)
        assert (kept.amounts, kept.as_of) == ({"stored_value": 1_500, "points": 20}, head)
        assert chained.gateway.escrow.spendable(conn, member)["stored_value"] == 0
    assert stored(chained, member) == 10_000 - 1_500


def test_refused_nothing_is_written_and_the_reason_is_said(chained: Kiosk, hub: FakeHub) -> None:
    member = member_with(chained, "13800138000", 10_000)
    head = _all_acked(chained, member, stored_value=500)
    hub.answer, hub.allowance, hub.as_of = "refuse", {"stored_value": 500}, head
    with pytest.raises(SpendRefused, match=r"head office refused: stored value at head office ¥12\.00.*张三 can spend "
                                           r"up to ¥5\.00 of stored value here now"):
        spend(chained, member, 1)
    assert chained.chain.head() == head and stored(chained, member) == 10_000


def test_points_redeemed_beyond_the_allowance_are_asked_for_net_of_what_the_sale_earns(chained: Kiosk, hub: FakeHub) -> None:
    member = member_with(chained, "13800138000", 1_000)
    chained.gateway.commit("M01", [EventDraft(POINTS_ADJUSTED, member, {}, {"points": 2_000})])
    head = _all_acked(chained, member, points=100)
    sale = ([BasketLine("NUTS", 1)], (), TenderRequest(points=1_000))
    with pytest.raises(SpendOffline, match="can spend up to 100 points here"):
        chained.sales.checkout(member, *sale)
    hub.answer, hub.allowance, hub.as_of = "grant", {"points": 5_000}, head
    done = chained.sales.checkout(member, *sale)
    net = done.events[0].deltas["points"]
    assert net < 0 and hub.asked[-1] == (member, {"points": -net - 100}, 0.5)
    assert _points(chained, member) == 2_000 + net


def test_visits_are_held_to_their_pack_allowance(chained: Kiosk, hub: FakeHub) -> None:
    member = member_with(chained, "13800138000", 1_000)
    chained.sales.checkout(member, [BasketLine("WASH-10", 1)])  # paid by card: ten visits, this kiosk's own
    chained.sales.checkout(member, [BasketLine("WASH", 2)])
    _all_acked(chained, member, visits={"WASH-10": 1})
    chained.sales.checkout(member, [BasketLine("WASH", 1)])
    with pytest.raises(SpendOffline, match="can spend up to 0 visits of WASH-10 here"):
        chained.sales.checkout(member, [BasketLine("WASH", 1)])
    assert hub.asked[-1] == (member, {"visits": {"WASH-10": 1}}, 0.5)


def test_earning_and_the_systems_upkeep_are_never_limited(chained: Kiosk, hub: FakeHub) -> None:
    member = member_with(chained, "13800138000", 1_000)
    chained.gateway.commit("M01", [EventDraft(POINTS_ADJUSTED, member, {}, {"points": 100})])
    _all_acked(chained, member)  # nothing may be spent here without asking
    chained.sales.checkout(member, [BasketLine("CHIPS", 2)], tender=TenderRequest(cash=1_500))  # earns points
    top_up(chained.members, member, 500)
    earned = _points(chained, member) - 100
    chained.gateway.commit(SYSTEM, [EventDraft(POINTS_EXPIRED, member, {}, {"points": -100})])  # the year-end expiry
    assert _points(chained, member) == earned > 0 and hub.asked == []
    with pytest.raises(SpendOffline, match="up to 0 points"):  # a staff member's adjustment down is a spend
        chained.gateway.commit("M01", [EventDraft(POINTS_ADJUSTED, member, {}, {"points": -1})])


def test_a_spend_beyond_the_balance_itself_is_the_ledgers_refusal_and_head_office_is_not_asked(
        chained: Kiosk, hub: FakeHub) -> None:
    member = member_with(chained, "13800138000", 1_000)
    _all_acked(chained, member)
    with pytest.raises(InsufficientBalance):
        chained.gateway.commit("M01", [EventDraft(POINTS_ADJUSTED, member, {}, {"stored_value": -1_001})])
    assert hub.asked == []

