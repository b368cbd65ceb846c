"""The worked examples shops give us, on the demo rulebook, with both pricing engines."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given, settings, strategies as st

from core.errors import (
    AlreadyRefunded,
    CouponRejected,
    InsufficientBalance,
    InsufficientPayment,
    InvalidQuantity,
    RedemptionRejected,
    TierReserved,
    UnknownProduct,
)
from core.events import BIRTHDAY_BONUS, COUPON_REDEEMED, COUPON_REINSTATED, SALE_COMPLETED, TIER_CHANGED, VISITS_SOLD
from core.ledger import Balances, apply
from core.points import topup_drafts
from core.quote import quote
from core.quote_input import BasketLine as L
from core.quote_input import TenderRequest
from core.refunds import refund_drafts
from tests.pricing.conftest import CATALOG, MONDAY, RULES, WEDNESDAY, member


def run(pricer, basket, m, tender=TenderRequest(), coupons=(), now=MONDAY):
    return quote(basket, m, RULES, CATALOG, list(coupons), tender, now, pricer=pricer)


def test_gold_card_pays_80_percent_of_99_99_rounded_half_up(pricer):
    q = run(pricer, [L("NUTS")], member("金卡"))
    # 9999 x 80% = 7999.2 fen -> 7999; the snacks 满100减15 needs ¥100 and 79.99 does not reach it
    assert (q.lines[0].gross, q.lines[0].discount, q.total("net")) == (9999, 2000, 7999)


def test_topup_1000_gets_200_bonus_value():
    [draft] = topup_drafts("M1", 100_000, RULES)
    assert draft.deltas == {"stored_value": 120_000}
    assert draft.data == {"amount": 100_000, "bonus_value": 20_000, "bonus_points": 0}


def test_topup_bonus_as_points_and_below_any_bracket():
    assert topup_drafts("M1", 200_000, RULES)[0].deltas == {"stored_value": 200_000, "points": 2000}
    assert topup_drafts("M1", 49_999, RULES)[0].deltas == {"stored_value": 49_999}


def test_1000_points_pay_40_yuan_and_earn_nothing_on_that_part(pricer):
    basket = [L("NUTS")]  # 99.99, 普通
    q = run(pricer, basket, member(points=1500), TenderRequest(points=1000))
    assert (q.total("points_fen"), q.total("points_used"), q.total("external")) == (4000, 1000, 5999)
    assert q.total("earned") == 59  # floor(59.99 yuan x 1 point)
    sale = q.drafts[0]
    assert sale.deltas["points"] == 59 - 1000


def test_member_day_doubles_points(pricer):
    basket = [L("TEA-500", 10)]  # ¥35.00
    assert run(pricer, basket, member(), now=MONDAY).total("earned") == 35
    assert run(pricer, basket, member(), now=WEDNESDAY).total("earned") == 70


def test_birthday_month_doubles_points_and_gives_the_tier_bonus_once_a_year(pricer):
    birthday = dt.date(1988, 11, 2)
    gold = member("金卡", birthday=birthday)
    q = run(pricer, [L("TEA-500", 10)], gold)  # 35.00 x 80% = 28.00 paid
    assert q.total("earned") == 28 * 150 * 2 // 100 + 200 and q.birthday_bonus == 200
    assert (q.drafts[-1].type, q.drafts[-1].data) == (BIRTHDAY_BONUS, {"year": 2026, "points": 200})
    again = run(pricer, [L("TEA-500", 10)], replace(gold, birthday_bonus_year=2026))
    assert again.total("earned") == 84 and again.birthday_bonus == 0


def test_coupon_below_its_minimum_spend_is_refused(pricer):
    with pytest.raises(CouponRejected, match="WELCOME10 needs ¥50.00.*has ¥35.00"):
        run(pricer, [L("TEA-500", 10)], member(), coupons=[RULES.coupons["WELCOME10"]])
    q = run(pricer, [L("TEA-500", 20)], member(), coupons=[RULES.coupons["WELCOME10"]])
    assert q.total("coupon") == 1000 and q.total("net") == 6000
    assert [d.type for d in q.drafts] == [SALE_COMPLETED, COUPON_REDEEMED]


def test_refund_of_one_line_of_three_after_points_on_the_whole_order(pricer):
    basket = [L("NUTS"), L("MILK-1L", 2), L("CHIPS", 3)]  # 99.99 + 25.60 + 22.50 = 148.09
    m = member(points=3000, stored_value=0)
    q = run(pricer, basket, m, TenderRequest(points=1000, cash=20_000))
    # snacks 满100减15: NUTS + CHIPS = 122.49 -> 15.00 off spread over those two lines by amount
    assert [ln.threshold for ln in q.lines] == [1224, 0, 276]
    assert q.total("points_fen") == 4000 and q.total("points_used") == 1000
    assert q.total("net") == 14809 - 1500
    assert q.change == 20_000 - (13309 - 4000)
    sale = q.drafts[0]
    after_sale = apply(Balances(points=3000), sale)
    line = q.lines[1]
    refund = refund_drafts("S1", sale.data, replace(m, points=after_sale.points), set(), [1], RULES.coupons, MONDAY.date())
    [ev] = refund
    assert ev.deltas["points"] == line.points_used - line.earned
    assert ev.data["cash"] == line.cash and ev.deltas["stock"] == {"MILK-1L": 2}
    # Refunding the other two lines afterwards gives back exactly what the sale took, nothing more
    rest = refund_drafts("S1", sale.data, replace(m, points=after_sale.points + ev.deltas["points"]), {1}, None,
                         RULES.coupons, MONDAY.date())
    assert ev.data["cash"] + rest[0].data["cash"] == 20_000 - q.change
    assert after_sale.points + ev.deltas["points"] + rest[0].deltas["points"] == 3000
    with pytest.raises(AlreadyRefunded):
        refund_drafts("S1", sale.data, m, {0, 1, 2}, [0], RULES.coupons, MONDAY.date())


def test_full_refund_reinstates_a_still_valid_coupon(pricer):
    coupon = RULES.coupons["WELCOME10"]
    q = run(pricer, [L("TEA-500", 20)], member(), coupons=[coupon])
    drafts = refund_drafts("S1", q.drafts[0].data, member(points=100), set(), None, RULES.coupons, MONDAY.date())
    assert [d.type for d in drafts][1:] == [COUPON_REINSTATED]
    late = refund_drafts("S1", q.drafts[0].data, member(points=100), set(), None, RULES.coupons, dt.date(2028, 1, 1))
    assert len(late) == 1


def test_crossing_a_threshold_upgrades_right_after_the_sale(pricer):
    q = run(pricer, [L("NUTS", 2)], member("普通", lifetime_spend=99_000))  # ¥999.99 spent before
    assert q.tier_after == "银卡" and q.drafts[-1].type == TIER_CHANGED and q.drafts[-1].data["tier"] == "银卡"
    assert q.lines[0].discount == 0  # the discount of the new tier applies from the next sale


def test_punch_card_sale_and_visit_use(pricer):
    bought = run(pricer, [L("WASH-10")], member(), TenderRequest(cash=30_000))
    # 每满200减30 applies to the ¥300 pack too
    assert (bought.total("net"), bought.change) == (27_000, 3_000) and "visits" not in bought.drafts[0].deltas
    assert (bought.drafts[1].type, bought.drafts[1].deltas) == (VISITS_SOLD, {"visits": {"WASH-10": 10}})
    assert bought.drafts[1].data == {"pack": "WASH-10", "line": 0, "expires": "2027-11-23"}
    used = run(pricer, [L("WASH", 2)], member(visits={"WASH-10": 1}))
    line = used.lines[0]
    assert (line.visits_pack, line.visits_used, line.visits_fen, line.external) == ("WASH-10", 1, 3500, 3500)
    assert used.drafts[0].deltas["visits"] == {"WASH-10": -1}
    expired = run(pricer, [L("WASH")], member(visits={"WASH-10": 5}, visits_expire={"WASH-10": dt.date(2026, 1, 1)}))
    assert expired.lines[0].visits_used == 0


def test_stored_value_then_cash_with_change(pricer):
    q = run(pricer, [L("NUTS")], member(stored_value=5_000), TenderRequest(stored_value=True, cash=10_000))
    assert (q.total("stored_value"), q.total("cash"), q.change) == (5_000, 4_999, 5_001)
    with pytest.raises(InsufficientPayment):
        run(pricer, [L("NUTS")], member(), TenderRequest(cash=5_000))


def test_threshold_repeat_and_category_discount(pricer):
    q = run(pricer, [L("APPLE-1KG", 30)], member())  # 477.00, fruit 9折 -> 429.30, 每满200减30 twice
    assert q.total("discount") == 4770 and q.total("threshold") == 6000 and q.total("net") == 36930


def replace_coupon(code: str, **changes):
    return replace(RULES.coupons[code], **changes)


@pytest.mark.parametrize(
    "basket, m, tender, coupons, error",
    [
        ([L("NOPE")], member(), TenderRequest(), [], UnknownProduct),
        ([L("TEA-500", 0)], member(), TenderRequest(), [], InvalidQuantity),
        ([L("TEA-500", 1000)], member(), TenderRequest(), [], InvalidQuantity),
        ([L("WINE-82")], member("金卡"), TenderRequest(), [], TierReserved),
        ([L("WINE-82", 4)], member("VIP"), TenderRequest(), [], InsufficientBalance),
        ([L("NUTS")], member(points=10), TenderRequest(points=100), [], InsufficientBalance),
        ([L("NUTS")], member(points=5000), TenderRequest(points=2000), [], RedemptionRejected),  # ¥80 > 50%
        ([L("NUTS")], member(points=5000), TenderRequest(points=50), [], RedemptionRejected),  # below minimum
        ([L("NUTS")], member(), TenderRequest(), [replace_coupon("WELCOME10", used=True)], CouponRejected),
        ([L("NUTS")], member(), TenderRequest(), [replace_coupon("WELCOME10", member_id="M2")], CouponRejected),
        ([L("NUTS")], member(), TenderRequest(), [replace_coupon("WELCOME10", valid_until=dt.date(2026, 1, 31))],
         CouponRejected),
        ([L("NUTS")], member(), TenderRequest(), [RULES.coupons["TEA5"]], CouponRejected),  # no tea in basket
        ([L("NUTS")], None, TenderRequest(stored_value=True), [], InsufficientBalance),
    ],
)
def test_specific_errors(pricer, basket, m, tender, coupons, error):
    with pytest.raises(error):
        run(pricer, basket, m, tender, coupons)


def test_guest_pays_list_price_and_earns_nothing(pricer):
    q = run(pricer, [L("NUTS")], None)
    assert q.total("net") == 9999 and q.total("earned") == 0 and q.drafts[0].deltas == {"stock": {"NUTS": -1}}


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 20_000), st.lists(st.sampled_from(["NUTS", "TEA-500", "MILK-1L", "CHIPS"]), min_size=1, max_size=4))
def test_max_points_is_exactly_what_a_quote_accepts(balance, skus):
    from core.pricing import price_basket
    from core.quote import preview

    basket, m = [L(s) for s in dict.fromkeys(skus)], member(points=balance)
    due = preview(basket, m, RULES, CATALOG, [], TenderRequest(), MONDAY).due
    most = RULES.redemption.max_points(balance, due)
    if most:
        assert run(price_basket, basket, m, TenderRequest(points=most)).total("points_used") == most
    more = max(most, RULES.redemption.min_points) + RULES.redemption.step[0]
    with pytest.raises((RedemptionRejected, InsufficientBalance)):
        run(price_basket, basket, m, TenderRequest(points=more))
