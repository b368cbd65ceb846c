"""What a quote is asked about (basket, member, tender) and its translation into the flat pricing input."""
from __future__ import annotations

import datetime as dt
from array import array
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from core.catalog import Product
from core.errors import CouponRejected, InsufficientBalance, InvalidQuantity, RedemptionRejected
from core.pricing import FIXED, PERCENT, SCOPE_CATEGORY, SCOPE_ORDER, SCOPE_SKU, PriceInput, combine_multipliers
from core.rules import Coupon, Rules, in_window

MAX_QTY = 999
MAX_LINES = 1000


@dataclass(frozen=True)
class BasketLine:
    """A scanned SKU and how many."""

    sku: str
    qty: int = 1


@dataclass(frozen=True)
class MemberState:
    """The member as the pricing sees them: tier, balances, birthday and whether this year's birthday bonus is given."""

    member_id: str
    tier: str
    points: int = 0
    stored_value: int = 0
    lifetime_spend: int = 0
    rolling_spend: int = 0  # fen spent in the last 12 months, for rolling tiers
    visits: Mapping[str, int] = field(default_factory=dict)
    visits_expire: Mapping[str, dt.date] = field(default_factory=dict)
    birthday: dt.date | None = None
    birthday_bonus_year: int | None = None


@dataclass(frozen=True)
class TenderRequest:
    """How the customer wants to pay: points to redeem, stored value yes/no, cash handed over (None = external)."""

    points: int = 0
    stored_value: bool = False
    cash: int | None = None
    use_visits: bool = True


def check_basket(basket: Sequence[BasketLine]) -> None:
    """Refuse an empty basket, too many lines, or a quantity outside 1 to 999."""
    if not basket:
        raise InvalidQuantity("the basket is empty")
    if len(basket) > MAX_LINES:
        raise InvalidQuantity(f"a sale holds at most {MAX_LINES} lines; split the order")
    for line in basket:
        if type(line.qty) is not int or not 1 <= line.qty <= MAX_QTY:
            raise InvalidQuantity(f"quantity of {line.sku} must be 1 to {MAX_QTY} (got {line.qty})")


def _check_points(points: int, member: MemberState | None, rules: Rules) -> None:
    if points < 0:
        raise RedemptionRejected("points to redeem cannot be negative")
    if points == 0:
        return
    have = member.points if member else 0
    if points > have:
        raise InsufficientBalance(f"not enough points: {points} asked, {have} available")
    red = rules.redemption
    if points < red.min_points:
        raise RedemptionRejected(f"redeem at least {red.min_points} points at a time")
    step = red.step[0]
    if points % step:
        raise RedemptionRejected(f"redeem points in steps of {step} (for example {points - points % step})")


def match_visits(
    basket: Sequence[BasketLine], member: MemberState | None, rules: Rules, today: dt.date, use: bool
) -> list[tuple[str | None, int]]:
    """(pack, units) paid by visits for each line: packs in rules order, unexpired, while visits last."""
    left = dict(member.visits) if member and use else {}
    out: list[tuple[str | None, int]] = [(None, 0)] * len(basket)
    if not any(left.values()):
        return out
    for i, line in enumerate(basket):
        for pack in rules.packs_by_service.get(line.sku, ()):
            expires = member.visits_expire.get(pack.id) if member else None
            if left.get(pack.id, 0) > 0 and (expires is None or today <= expires):
                units = min(line.qty, left[pack.id])
                left[pack.id] -= units
                out[i] = (pack.id, units)
                break
    return out


def _coupon_tuple(c: Coupon, sku_ids: Mapping[str, int], cat_ids: Mapping[str, int]) -> tuple[int, int, int, int, int]:
    scope = {"order": SCOPE_ORDER, "category": SCOPE_CATEGORY, "sku": SCOPE_SKU}[c.scope]
    ids = cat_ids if c.scope == "category" else sku_ids
    return (FIXED if c.kind == "fixed" else PERCENT, c.value, c.min_spend, scope, ids.get(c.target or "", -1))


def pricing_input(
    basket: Sequence[BasketLine],
    products: Sequence[Product],
    member: MemberState | None,
    rules: Rules,
    coupons: Sequence[Coupon],
    tender: TenderRequest,
    today: dt.date,
) -> tuple[PriceInput, list[tuple[str | None, int]], int]:
    """The flat input of price_basket, the visit packs matched per line, and the birthday bonus granted."""
    _check_points(tender.points, member, rules)
    if member is None and tender.stored_value:
        raise InsufficientBalance("stored value needs a member card")
    earning = rules.earning
    sku_ids: dict[str, int] = {}
    cat_ids: dict[str, int] = {}
    # int64 arrays rather than lists: the Cython kernel takes them without a copy, the reference indexes them alike
    price, qty, cat, sku, rate = (array("q") for _ in range(5))
    for line, product in zip(basket, products):
        price.append(product.price)
        qty.append(line.qty)
        cat.append(cat_ids.setdefault(product.category, len(cat_ids)))
        sku.append(sku_ids.setdefault(line.sku, len(sku_ids)))
        rate.append(earning.rate_for(line.sku, product.category, product.points_rate))
    for c in coupons:
        ids = cat_ids if c.scope == "category" else sku_ids
        if c.scope != "order" and c.target not in ids:
            raise CouponRejected(f"coupon {c.code} only applies to {c.target}, which is not in this basket")
    cat_pay = [100] * len(cat_ids)
    for d in rules.category_discounts:
        if d.category in cat_ids and in_window(d, today):
            cat_pay[cat_ids[d.category]] = d.pay_percent
    thresholds = [
        (t.min_spend, t.off, int(t.repeat), cat_ids[t.category] if t.category else -1)
        for t in rules.thresholds
        if in_window(t, today) and (t.category is None or t.category in cat_ids)
    ]
    packs = match_visits(basket, member, rules, today, tender.use_visits)
    tier = rules.tiers.by_name(member.tier) if member else None
    birthday = member is not None and earning.in_birthday_period(member.birthday, today)
    member_day = earning.member_day is not None and earning.member_day.applies(today)
    bonus = tier.birthday_bonus if tier and birthday and member.birthday_bonus_year != today.year else 0
    multiplier = combine_multipliers(
        tier.points_percent if tier else 0,
        earning.member_day.percent if member_day else 100,
        earning.birthday_percent if birthday else 100,
    )
    step_points, step_fen = rules.redemption.step
    inp = PriceInput(
        price=price,
        qty=qty,
        cat=cat,
        sku=sku,
        rate=rate,
        covered=array("q", [units for _, units in packs]),
        tier_pay=tier.pay_percent if tier else 100,
        cat_pay=cat_pay,
        thresholds=thresholds,
        coupons=[_coupon_tuple(c, sku_ids, cat_ids) for c in coupons],
        points=tender.points,
        step_points=step_points,
        step_fen=step_fen,
        cap_percent=rules.redemption.max_share_percent,
        multiplier=multiplier,
        spend_bonus=earning.spend_bonus if member else (),
        extra_points=bonus,
    )
    return inp, packs, bonus
