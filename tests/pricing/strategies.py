"""Hypothesis strategies: random catalogs, rulebooks, members and baskets at the edges (0 and 1 fen, qty 999)."""
from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from core.catalog import Product
from core.quote_input import BasketLine, MemberState, TenderRequest
from core.rules import (
    CategoryDiscount,
    Coupon,
    Earning,
    MemberDay,
    PunchCard,
    Redemption,
    Rules,
    ThresholdDiscount,
    Tier,
    Tiers,
)

CATEGORIES = ("a", "b", "c")
SKUS = tuple(f"P{i}" for i in range(8))
DAYS = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 12, 31))
prices = st.one_of(st.sampled_from([0, 1, 99, 9999]), st.integers(0, 1_000_000), st.integers(0, 100_000_000))
quantities = st.one_of(st.sampled_from([1, 999]), st.integers(1, 999))
percents = st.integers(1, 100)
rates = st.one_of(st.none(), st.sampled_from([0, 100]), st.integers(0, 10_000))


@st.composite
def catalogs(draw) -> dict[str, Product]:
    return {
        sku: Product(sku=sku, name=sku, price=draw(prices), category=draw(st.sampled_from(CATEGORIES)),
                     points_rate=draw(rates))
        for sku in SKUS
    }


@st.composite
def rulebooks(draw) -> Rules:
    tiers = Tiers((
        Tier("base", 0, 0, draw(percents), draw(st.integers(0, 300))),
        Tier("gold", 1, draw(st.integers(1, 10**7)), draw(percents), draw(st.integers(0, 1000)), draw(st.integers(0, 500))),
    ))
    earning = Earning(
        centi_per_yuan=draw(st.integers(0, 10_000)),
        sku_rates=draw(st.dictionaries(st.sampled_from(SKUS), st.integers(0, 10_000), max_size=3)),
        category_rates=draw(st.dictionaries(st.sampled_from(CATEGORIES), st.integers(0, 10_000), max_size=2)),
        member_day=MemberDay(draw(st.integers(100, 1000)), weekday=draw(st.integers(1, 7))),
        birthday_percent=draw(st.integers(100, 1000)),
        spend_bonus=tuple(sorted(draw(st.lists(st.tuples(st.integers(1, 10**6), st.integers(0, 1000)), max_size=2)))),
    )
    points, value = draw(st.integers(1, 5000)), draw(st.integers(1, 10_000))
    thresholds = draw(st.lists(st.builds(
        lambda low, frac, rep, cat: ThresholdDiscount(low, max(1, low * frac // 100), rep, cat),
        st.integers(1, 10**7), percents, st.booleans(), st.one_of(st.none(), st.sampled_from(CATEGORIES))), max_size=3))
    return Rules(
        tiers=tiers,
        earning=earning,
        redemption=Redemption(points, value, draw(st.integers(0, 2000)), draw(st.integers(0, 100))),
        punch_cards={"PACK": PunchCard("PACK", "pack", SKUS[0], 10, draw(prices))},
        category_discounts=tuple(CategoryDiscount(c, draw(percents)) for c in draw(st.sets(st.sampled_from(CATEGORIES)))),
        thresholds=tuple(thresholds),
    )


coupon_lists = st.lists(
    st.builds(
        lambda i, kind, value, pct, low, scope, cat, sku: Coupon(
            code=f"C{i}", kind=kind, value=value if kind == "fixed" else pct, min_spend=low, scope=scope,
            target={"order": None, "category": cat, "sku": sku}[scope]),
        st.integers(0, 10**6), st.sampled_from(["fixed", "percent"]), st.integers(1, 10**6), percents,
        st.sampled_from([0, 0, 100, 10**6]), st.sampled_from(["order", "category", "sku"]),
        st.sampled_from(CATEGORIES), st.sampled_from(SKUS)),
    max_size=2, unique_by=lambda c: c.code)

baskets = st.lists(st.builds(BasketLine, st.sampled_from(SKUS + ("PACK",)), quantities), min_size=1, max_size=60)


@st.composite
def members(draw) -> MemberState | None:
    if draw(st.integers(0, 9)) == 0:
        return None
    return MemberState(
        member_id="M1",
        tier=draw(st.sampled_from(["base", "gold"])),
        points=draw(st.integers(0, 10**6)),
        stored_value=draw(st.integers(0, 10**8)),
        lifetime_spend=draw(st.integers(0, 10**7)),
        visits={"PACK": draw(st.integers(0, 20))},
        birthday=draw(st.one_of(st.none(), DAYS)),
    )


@st.composite
def tenders(draw, rules: Rules, m: MemberState | None) -> TenderRequest:
    step = rules.redemption.step[0]
    most = min(300, (m.points if m else 0) // step)
    points = draw(st.one_of(st.just(0), st.integers(0, most))) * step
    cash = draw(st.one_of(st.none(), st.integers(0, 10**12)))
    return TenderRequest(points=points, stored_value=draw(st.booleans()) and m is not None, cash=cash)
