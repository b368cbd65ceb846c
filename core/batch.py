"""Many baskets at once, as flat integer arrays a kernel can walk: bulk pricing and what-if re-pricing of history.

`compile_rules` turns a rulebook and catalog into tables indexed by integers; a `Batch` holds baskets as
offsets into line arrays. `price_batch` here is the reference (one `price_basket` per basket); native/
holds the kernel that must give the same numbers.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping, Sequence

from core.catalog import Product
from core.errors import CouponRejected, InvalidQuantity, RedemptionRejected
from core.pricing import (
    ABOVE_CAP,
    BAD_QUANTITY,
    COUPON_BELOW_MIN,
    FIXED,
    OK,
    PERCENT,
    SCOPE_CATEGORY,
    SCOPE_ORDER,
    SCOPE_SKU,
    PriceInput,
    combine_multipliers,
    price_basket,
)
from core.rules import Rules

RESERVED = 3  # status: a line reserved to a higher tier
IN_BIRTHDAY, BONUS_DUE = 1, 2  # bits of Batch.flags
NO_DAY = 0  # window bound meaning "open"


@dataclass(frozen=True)
class CompiledRules:
    """A rulebook and catalog as integer tables; every index refers to `skus` or `categories`."""

    skus: tuple[str, ...]
    categories: tuple[str, ...]
    price: Sequence[int]
    cat: Sequence[int]
    rate: Sequence[int]
    min_rank: Sequence[int]
    tier_pay: Sequence[int]
    tier_mult: Sequence[int]
    tier_bonus: Sequence[int]
    cat_disc: Sequence[tuple[int, int, int, int]]  # (category, pay percent, from ordinal, until ordinal)
    thresholds: Sequence[tuple[int, int, int, int, int, int]]  # (min, off, repeat, category or -1, from, until)
    coupons: Sequence[tuple[int, int, int, int, int]]  # (kind, value, min spend, scope, target)
    coupon_codes: tuple[str, ...]
    spend_bonus: Sequence[tuple[int, int]]
    step_points: int
    step_fen: int
    cap_percent: int
    md_weekday: int  # 0 = none
    md_dom: int  # 0 = none
    md_percent: int
    bday_percent: int


@dataclass(frozen=True)
class Batch:
    """Baskets as flat arrays: lines of basket b are offsets[b]:offsets[b+1] of sku/qty; tier -1 is a guest."""

    offsets: Sequence[int]
    sku: Sequence[int]
    qty: Sequence[int]
    tier: Sequence[int]
    coupon: Sequence[int]  # index into CompiledRules.coupons, -1 = none
    points: Sequence[int]
    day: Sequence[int]  # date ordinal
    weekday: Sequence[int]  # ISO 1-7
    dom: Sequence[int]
    flags: Sequence[int]  # IN_BIRTHDAY | BONUS_DUE


@dataclass(frozen=True)
class BatchResult:
    """Per basket: amount due after discounts, all discounts, points paid in fen, points earned, status."""

    net: list[int]
    discount: list[int]
    points_fen: list[int]
    earned: list[int]
    status: list[int]


def _ordinal(day: dt.date | None) -> int:
    return day.toordinal() if day else NO_DAY


def compile_rules(rules: Rules, catalog: Mapping[str, Product]) -> CompiledRules:
    """Integer tables for `rules` over `catalog` (punch cards included as products)."""
    products = dict(catalog)
    for pack in rules.punch_cards.values():
        products.setdefault(pack.id, Product(pack.id, pack.name, pack.price, "punch_card"))
    skus = tuple(products)
    categories = tuple(dict.fromkeys([p.category for p in products.values()] + [
        *(d.category for d in rules.category_discounts), *(t.category for t in rules.thresholds if t.category),
        *(c.target for c in rules.coupons.values() if c.scope == "category")]))
    cat_ix = {c: i for i, c in enumerate(categories)}
    sku_ix = {s: i for i, s in enumerate(skus)}
    levels = rules.tiers.levels
    coupons = list(rules.coupons.values())
    scope = {"order": SCOPE_ORDER, "category": SCOPE_CATEGORY, "sku": SCOPE_SKU}
    md = rules.earning.member_day
    return CompiledRules(
        skus=skus,
        categories=categories,
        price=[p.price for p in products.values()],
        cat=[cat_ix[p.category] for p in products.values()],
        rate=[rules.earning.rate_for(s, p.category, p.points_rate) for s, p in products.items()],
        min_rank=[rules.tiers.min_rank_for(s) for s in skus],
        tier_pay=[t.pay_percent for t in levels],
        tier_mult=[t.points_percent for t in levels],
        tier_bonus=[t.birthday_bonus for t in levels],
        cat_disc=[(cat_ix[d.category], d.pay_percent, _ordinal(d.valid_from), _ordinal(d.valid_until))
                  for d in rules.category_discounts],
        thresholds=[(t.min_spend, t.off, int(t.repeat), cat_ix[t.category] if t.category else -1,
                     _ordinal(t.valid_from), _ordinal(t.valid_until)) for t in rules.thresholds],
        coupons=[(FIXED if c.kind == "fixed" else PERCENT, c.value, c.min_spend, scope[c.scope],
                  (cat_ix if c.scope == "category" else sku_ix).get(c.target or "", -1)) for c in coupons],
        coupon_codes=tuple(c.code for c in coupons),
        spend_bonus=list(rules.earning.spend_bonus),
        step_points=rules.redemption.step[0],
        step_fen=rules.redemption.step[1],
        cap_percent=rules.redemption.max_share_percent,
        md_weekday=(md.weekday or 0) if md else 0,
        md_dom=(md.day_of_month or 0) if md else 0,
        md_percent=md.percent if md else 100,
        bday_percent=rules.earning.birthday_percent,
    )


def _active(low: int, high: int, day: int) -> bool:
    return (low == NO_DAY or day >= low) and (high == NO_DAY or day <= high)


def basket_input(c: CompiledRules, b: Batch, i: int) -> PriceInput:
    """The PriceInput of basket `i` of a batch (no visits: history is re-priced as if paid in money)."""
    lines = range(b.offsets[i], b.offsets[i + 1])
    skus = [b.sku[j] for j in lines]
    tier, day, flags = b.tier[i], b.day[i], b.flags[i]
    cat_pay = [100] * len(c.categories)
    for cat, pay, low, high in c.cat_disc:
        if _active(low, high, day):
            cat_pay[cat] = pay
    member_day = b.weekday[i] == c.md_weekday or b.dom[i] == c.md_dom
    return PriceInput(
        price=[c.price[s] for s in skus],
        qty=[b.qty[j] for j in lines],
        cat=[c.cat[s] for s in skus],
        sku=skus,
        rate=[c.rate[s] for s in skus],
        covered=[0] * len(skus),
        tier_pay=c.tier_pay[tier] if tier >= 0 else 100,
        cat_pay=cat_pay,
        thresholds=[t[:4] for t in c.thresholds if _active(t[4], t[5], day)],
        coupons=[c.coupons[b.coupon[i]]] if b.coupon[i] >= 0 else [],
        points=b.points[i],
        step_points=c.step_points,
        step_fen=c.step_fen,
        cap_percent=c.cap_percent,
        multiplier=combine_multipliers(
            c.tier_mult[tier] if tier >= 0 else 0,
            c.md_percent if member_day else 100,
            c.bday_percent if flags & IN_BIRTHDAY else 100,
        ),
        spend_bonus=c.spend_bonus if tier >= 0 else (),
        extra_points=c.tier_bonus[tier] if tier >= 0 and flags & BONUS_DUE else 0,
    )


def price_batch(c: CompiledRules, b: Batch) -> BatchResult:
    """Reference bulk pricing: totals per basket, and a status instead of an exception for a refused basket."""
    out = BatchResult([], [], [], [], [])
    for i in range(len(b.offsets) - 1):
        status, net, disc, pts, earned = OK, 0, 0, 0, 0
        rank = max(b.tier[i], 0)
        if any(c.min_rank[b.sku[j]] > rank for j in range(b.offsets[i], b.offsets[i + 1])):
            status = RESERVED
        else:
            try:
                r = price_basket(basket_input(c, b, i))
                gross = sum(r.gross)
                net = gross - sum(r.discount) - sum(r.threshold) - sum(r.coupon)
                disc, pts, earned = gross - net, sum(r.points_fen), sum(r.earned)
            except CouponRejected:
                status = COUPON_BELOW_MIN
            except RedemptionRejected:
                status = ABOVE_CAP
            except InvalidQuantity:
                status = BAD_QUANTITY
        for column, value in zip((out.net, out.discount, out.points_fen, out.earned, out.status),
                                 (net, disc, pts, earned, status)):
            column.append(value)
    return out
