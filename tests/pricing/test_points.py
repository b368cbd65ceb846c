"""Points expiry (FIFO by year of earning), the yearly tier review, and the rules file's error messages."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from core.catalog import parse_catalog
from core.errors import RulesError
from core.points import expiring_points, expiry_drafts
from core.quote_input import BasketLine as L
from core.rules_toml import parse_rules
from core.tiers import yearly_review_drafts
from kiosk.services.members import Registration
from tests.pricing.conftest import CATALOG, DEMO, RULES, member

D = dt.date


def test_points_expire_at_the_end_of_the_year_after_they_were_earned_oldest_spent_first():
    history = [(D(2025, 3, 1), 500), (D(2026, 2, 1), 300), (D(2026, 6, 1), -600), (D(2026, 7, 1), 100)]
    # the 600 spent take all 500 of 2025 first, then 100 of 2026
    assert expiring_points(history, D(2026, 12, 1), RULES) == (0, D(2026, 12, 31))
    assert expiring_points(history, D(2027, 3, 1), RULES) == (300, D(2027, 12, 31))
    [draft] = expiry_drafts("M1", history, D(2028, 1, 1), RULES)
    assert draft.deltas == {"points": -300} and draft.data["earned_year"] == 2026
    assert expiry_drafts("M1", history, D(2027, 12, 31), RULES) == []
    assert expiry_drafts("M1", history, D(2030, 1, 1), replace(RULES, points_expire=False)) == []


def test_yearly_review_moves_down_as_well_as_up():
    gold_without_spend = member("金卡", lifetime_spend=150_000)
    [down] = yearly_review_drafts(gold_without_spend, RULES)
    assert (down.data["from"], down.data["tier"]) == ("金卡", "银卡")
    assert yearly_review_drafts(member("银卡", lifetime_spend=150_000), RULES) == []
    assert yearly_review_drafts(gold_without_spend, replace(RULES, tiers=replace(RULES.tiers, yearly_review=False))) == []


def test_expiry_and_review_on_the_store(kiosk, clock):
    sales = kiosk.sales
    sales.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
    sales.load_catalog(CATALOG)
    m = kiosk.members.register(Registration(phone="13800138000", consent=True)).member.member_id
    sales.checkout(m, [L("TEA-500", 10)])  # 2026-11-18, member day: 70 points
    clock.advance(60 * 24 * 3600 * 1000)  # into 2027
    assert kiosk.points.expiring(m) == (70, D(2027, 12, 31))
    assert kiosk.points.expire() == []
    clock.advance(365 * 24 * 3600 * 1000)  # into 2028
    [ev] = kiosk.points.expire()
    assert ev.deltas == {"points": -70} and kiosk.members.get(m).balances.points == 0
    assert kiosk.points.review_tiers() == []


@pytest.mark.parametrize(
    "text, key",
    [
        ("[tiers]\nbasis = 'weekly'", "tiers.basis"),
        ("[[tiers.levels]]\nname = 'a'\nthreshold = '5'", "tiers.levels[0].threshold"),
        ("[[tiers.levels]]\nname = 'a'\n[[tiers.levels]]\nname = 'b'\npay_percent = 0", "tiers.levels[1].pay_percent"),
        ("[redemption]\nvalue = 40.5", "redemption.value"),
        ("[earning.member_day]\nmultiplier = 2", "earning.member_day.weekday"),
        ("[[coupons]]\ncode = 'X'\nkind = 'fixed'\nvalue = '5'\nscope = 'sku'", "coupons[0].target"),
        ("[[coupons]]\ncode = 'X'\nkind = 'percent'\nvalue = 120", "coupons[0].value"),
        ("[[threshold_discounts]]\nmin_spend = '10'\noff = '20'", "threshold_discounts[0].off"),
        ("[[punch_cards]]\nid = 'P'\nservice_sku = 'S'\nvisits = 10", "punch_cards[0].price"),
        ("[[topup]]\nmin_amount = '100'\nbonus_vale = '10'", "topup[0].bonus_vale"),
        ("[[category_discounts]]\ncategory = 'a'\npay_percent = 90\nvalid_from = 2026-02-01\nvalid_until = 2026-01-01",
         "category_discounts[0].valid_until"),
        ("points_expiry = 'sometimes'", "points_expiry"),
        ("[earning]\npoints_per_yuan = 0.333", "earning.points_per_yuan"),
        ("[tiers", "not valid TOML"),
    ],
)
def test_rules_errors_name_the_bad_key(text, key):
    with pytest.raises(RulesError, match=key.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        parse_rules(text)


def test_catalog_rows_are_validated_with_their_line():
    with pytest.raises(RulesError, match=r"catalog line 3\.price"):
        parse_catalog("sku,name,price\nA,a,1.00\nB,b,1.234\n", "csv")
    with pytest.raises(RulesError, match="SKU 'A' appears twice"):
        parse_catalog('[{"sku": "A", "name": "a", "price": "1"}, {"sku": "A", "name": "b", "price": "2"}]', "json")
    assert parse_catalog('[{"sku": "A", "name": "a", "price": 3, "stock": 5}]', "json")["A"].stock == 5
