"""Refund edges: points already spent, a visit pack already used, rolling-12-month tiers."""
from __future__ import annotations

from dataclasses import replace

import pytest

from core.errors import InsufficientBalance
from core.quote import quote
from core.quote_input import BasketLine as L
from core.quote_input import TenderRequest
from core.refunds import refund_drafts
from core.rules import ROLLING_12_MONTHS
from core.tiers import tier_change_drafts
from tests.pricing.conftest import CATALOG, MONDAY, RULES, member


def _sale(basket, m, tender=TenderRequest()):
    return quote(basket, m, RULES, CATALOG, [], tender, MONDAY).drafts[0]


def test_points_spent_since_the_sale_are_recorded_short_not_overdrawn():
    sale = _sale([L("NUTS")], member())  # earns 99 points
    [ev] = refund_drafts("S", sale.data, member(points=40), set(), None, RULES.coupons, MONDAY.date())
    assert ev.deltas["points"] == -40 and ev.data["points_clawed"] == 40 and ev.data["points_short"] == 59


def test_a_visit_pack_whose_visits_were_used_cannot_be_refunded():
    sale = _sale([L("WASH-10")], member())
    with pytest.raises(InsufficientBalance, match="WASH-10"):
        refund_drafts("S", sale.data, member(visits={"WASH-10": 9}), set(), None, RULES.coupons, MONDAY.date())
    [ev] = refund_drafts("S", sale.data, member(visits={"WASH-10": 10}), set(), None, RULES.coupons, MONDAY.date())
    assert ev.deltas["visits"] == {"WASH-10": -10}


def test_visits_used_on_a_service_line_come_back_on_refund():
    sale = _sale([L("WASH", 2)], member(visits={"WASH-10": 5}))
    [ev] = refund_drafts("S", sale.data, member(visits={"WASH-10": 3}), set(), [0], RULES.coupons, MONDAY.date())
    assert ev.deltas["visits"] == {"WASH-10": 2} and ev.data["external"] == 0


def test_rolling_tiers_count_only_the_last_12_months():
    rolling = replace(RULES, tiers=replace(RULES.tiers, basis=ROLLING_12_MONTHS))
    old_spender = member(lifetime_spend=10_000_000, rolling_spend=90_000)
    assert tier_change_drafts(old_spender, 5_000, rolling) == []
    [up] = tier_change_drafts(old_spender, 10_000, rolling)
    assert up.data["tier"] == "银卡"
    assert tier_change_drafts(old_spender, 5_000, RULES)[0].data["tier"] == "VIP"
