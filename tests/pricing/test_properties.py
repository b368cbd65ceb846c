"""Properties that must hold for any basket and rulebook: lines sum to totals, refunds never exceed what was paid."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import KioskError
from core.ledger import Balances, apply
from core.pricing import spread
from core.quote import quote
from core.refunds import refund_drafts
from tests.pricing.strategies import DAYS, baskets, catalogs, coupon_lists, members, rulebooks, tenders

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.integers(0, 10**12), st.lists(st.integers(0, 10**9), min_size=1, max_size=60))
def test_spread_sums_exactly_and_never_exceeds_a_weight(total, weights):
    shares = spread(total, weights)
    assert sum(shares) == total and all(s >= 0 for s in shares)
    if sum(weights) and total <= sum(weights):
        assert all(s <= w for s, w in zip(shares, weights))


def _quote_or_none(data, rules, catalog, basket, m, coupons, tender, day):
    try:
        return quote(basket, m, rules, catalog, coupons, tender, dt.datetime.combine(day, dt.time(12)))
    except KioskError:
        return None


@SETTINGS
@given(st.data(), rulebooks(), catalogs(), baskets, members(), coupon_lists, DAYS)
def test_lines_sum_to_totals_and_every_tender_covers_its_line(data, rules, catalog, basket, m, coupons, day):
    tender = data.draw(tenders(rules, m))
    q = _quote_or_none(data, rules, catalog, basket, m, coupons, tender, day)
    if q is None:
        return
    for ln in q.lines:
        parts = (ln.discount, ln.threshold, ln.coupon, ln.visits_fen, ln.points_fen, ln.stored_value, ln.external, ln.earned)
        assert min(parts) >= 0 and ln.net >= 0
        assert ln.gross == ln.price * ln.qty == ln.discount + ln.threshold + ln.coupon + ln.net
        assert ln.net == ln.visits_fen + ln.points_fen + ln.stored_value + ln.cash + ln.external
    assert q.total("points_used") == tender.points
    assert q.change >= 0 and q.cash_given == (tender.cash or 0) and (tender.cash is None or q.total("external") == 0)
    if m is not None:
        assert q.total("stored_value") <= m.stored_value
        balances = Balances(points=m.points, stored_value=m.stored_value, visits=m.visits)
        for draft in q.drafts:
            balances = apply(balances, draft)


@SETTINGS
@given(st.data(), rulebooks(), catalogs(), baskets, members(), DAYS)
def test_refunding_every_line_in_any_order_gives_back_exactly_what_was_paid(data, rules, catalog, basket, m, day):
    tender = data.draw(tenders(rules, m))
    q = _quote_or_none(data, rules, catalog, basket, m, [], tender, day)
    if q is None:
        return
    sale = q.drafts[0]
    order = data.draw(st.permutations(range(len(q.lines))))
    balances = Balances(points=m.points, stored_value=m.stored_value, visits=m.visits) if m else None
    for draft in q.drafts if m else ():
        balances = apply(balances, draft)
    done: set[int] = set()
    money = points = 0
    for group in (order[: len(order) // 2], order[len(order) // 2:]):
        if not group:
            continue
        state = replace(m, points=balances.points, stored_value=balances.stored_value, visits=balances.visits) if m else None
        [ev, *_] = refund_drafts("S", sale.data, state, done, list(group), rules.coupons, day)
        done |= set(group)
        money += ev.data["cash"] + ev.data["external"] + ev.data["stored_value"]
        points += ev.data["points_back"]
        if m:
            balances = apply(balances, ev)
    assert money == q.total("cash") + q.total("external") + q.total("stored_value")
    assert points == q.total("points_used")
    if m:
        assert balances.stored_value == m.stored_value and balances.points <= m.points + q.total("points_used")
