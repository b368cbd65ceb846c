"""The ledger fold: balances are sums of deltas, never negative, and a replay equals the stepwise projection."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from core.errors import InsufficientBalance, InvalidInput
from core.events import MEMBER_REGISTERED, TIER_CHANGED, TOPPED_UP, EventDraft
from core.ledger import Balances, apply, apply_stock, check_deltas, fold

MEMBERS = ["m1", "m2", "m3"]

deltas = st.fixed_dictionaries(
    {},
    optional={
        "points": st.integers(-500, 500),
        "stored_value": st.integers(-50_000, 50_000),
        "lifetime_spend": st.integers(0, 50_000),
        "visits": st.dictionaries(st.sampled_from(["wash", "massage"]), st.integers(-3, 10), max_size=2),
        "stock": st.dictionaries(st.sampled_from(["A", "B"]), st.integers(-5, 20), max_size=2),
    },
)
drafts = st.lists(
    st.builds(EventDraft, type=st.just(TOPPED_UP), member_id=st.sampled_from(MEMBERS), deltas=deltas), max_size=40
)


def _accept_valid(events: list[EventDraft]) -> tuple[list[EventDraft], dict[str, Balances], dict[str, int]]:
    """Apply events one at a time like the store does, dropping those the fold refuses."""
    accepted, members, stock = [], {}, {}
    for e in events:
        try:
            new = apply(members.get(e.member_id, Balances()), e)
            trial = dict(stock)
            apply_stock(trial, e)
        except InsufficientBalance:
            continue
        members[e.member_id], stock = new, trial
        accepted.append(e)
    return accepted, members, stock


@settings(max_examples=200, deadline=None)
@given(drafts)
def test_replay_of_accepted_events_equals_the_stepwise_projection(events: list[EventDraft]) -> None:
    accepted, members, stock = _accept_valid(events)
    assert fold(accepted) == (members, stock)


@settings(max_examples=200, deadline=None)
@given(drafts)
def test_balances_are_the_sums_of_deltas_and_never_negative(events: list[EventDraft]) -> None:
    accepted, members, _ = _accept_valid(events)
    for member_id, b in members.items():
        mine = [e.deltas for e in accepted if e.member_id == member_id]
        assert b.points == sum(d.get("points", 0) for d in mine) >= 0
        assert b.stored_value == sum(d.get("stored_value", 0) for d in mine) >= 0
        assert all(n >= 0 for n in b.visits.values())


def test_overdraft_is_refused_with_the_shortfall() -> None:
    with pytest.raises(InsufficientBalance, match="50 fen short"):
        apply(Balances(stored_value=100), EventDraft(TOPPED_UP, "m1", deltas={"stored_value": -150}))
    with pytest.raises(InsufficientBalance, match="only 2 of A left"):
        apply_stock({"A": 2}, EventDraft("sale.completed", None, deltas={"stock": {"A": -3}}))


def test_tier_comes_from_registration_and_tier_changes() -> None:
    events = [
        EventDraft(MEMBER_REGISTERED, "m1", {"tier": "银卡"}),
        EventDraft(TOPPED_UP, "m1", {"tier": "ignored"}, {"stored_value": 10}),
        EventDraft(TIER_CHANGED, "m1", {"tier": "金卡"}),
    ]
    members, _ = fold(events)
    assert members["m1"] == Balances(stored_value=10, tier="金卡")


@pytest.mark.parametrize(
    "bad",
    [{"cash": 5}, {"points": 1.5}, {"stored_value": "10"}, {"visits": {"wash": 1.0}}, {"points": True}],
)
def test_malformed_deltas_are_rejected(bad: dict) -> None:
    with pytest.raises(InvalidInput):
        check_deltas(EventDraft(TOPPED_UP, "m1", deltas=bad))
