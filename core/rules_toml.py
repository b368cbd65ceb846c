"""Rules from TOML text, validated so that every mistake names its key (tiers.levels[2].pay_percent …)."""
from __future__ import annotations

import tomllib

from core.analytics.settings import parse_analytics
from core.errors import RulesError
from core.fields import (
    MAX_RATE,
    Table,
    boolean,
    choice,
    hundredths,
    integer,
    rate_table,
    string_list,
    text,
    window,
    yuan,
)
from core.rules import (
    BIRTHDAY_DAY,
    BIRTHDAY_MONTH,
    LIFETIME,
    ROLLING_12_MONTHS,
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
    TopupBracket,
)

PERCENT = integer(0, 100)
POINTS = integer(0, 10_000_000)
MULTIPLIER = hundredths(1000)  # up to 10x; three of them combined stay inside 64-bit kernel sums


def parse_rules(source: str) -> Rules:
    """Rules from the text of a rules file; RulesError names the first bad key."""
    try:
        raw = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"rules file is not valid TOML: {exc}") from None
    root = Table(raw, "")
    root.only("tiers", "earning", "redemption", "points_expiry", "topup", "punch_cards", "coupons",
              "category_discounts", "threshold_discounts", "analytics")
    rules = Rules(
        tiers=_tiers(root.table("tiers")),
        earning=_earning(root.table("earning")),
        redemption=_redemption(root.table("redemption")),
        points_expire=root.get("points_expiry", choice("end_of_next_year", "never"), "end_of_next_year")
        == "end_of_next_year",
        topup=tuple(_topup(t) for t in root.tables("topup")),
        punch_cards=_keyed(root, "punch_cards", _punch_card, "id"),
        coupons=_keyed(root, "coupons", _coupon, "code"),
        category_discounts=tuple(_category_discount(t) for t in root.tables("category_discounts")),
        thresholds=tuple(_threshold(t) for t in root.tables("threshold_discounts")),
        analytics=parse_analytics(root.table("analytics")),
    )
    _cross_check(rules)
    return rules


def _tiers(t: Table) -> Tiers:
    t.only("basis", "yearly_review", "levels")
    levels = []
    for rank, lt in enumerate(t.tables("levels")):
        lt.only("name", "threshold", "pay_percent", "points_multiplier", "birthday_bonus", "reserved")
        levels.append(Tier(
            name=lt.need("name", text),
            rank=rank,
            threshold=lt.get("threshold", yuan, 0),
            pay_percent=lt.get("pay_percent", integer(1, 100), 100),
            points_percent=lt.get("points_multiplier", MULTIPLIER, 100),
            birthday_bonus=lt.get("birthday_bonus", POINTS, 0),
            reserved=lt.get("reserved", string_list, ()),
        ))
    if not levels:
        levels.append(Tier(name="普通", rank=0, threshold=0))
    if levels[0].threshold != 0:
        raise RulesError(f"{t.key('levels[0].threshold')}: the first tier must start at 0")
    for prev, cur in zip(levels, levels[1:]):
        if cur.threshold <= prev.threshold:
            raise RulesError(f"{t.key(f'levels[{cur.rank}].threshold')}: must be above the tier before it")
    if len({lv.name for lv in levels}) != len(levels):
        raise RulesError(f"{t.key('levels')}: tier names must be unique")
    return Tiers(
        levels=tuple(levels),
        basis=t.get("basis", choice(LIFETIME, ROLLING_12_MONTHS), LIFETIME),
        yearly_review=t.get("yearly_review", boolean, False),
    )


def _earning(t: Table) -> Earning:
    t.only("points_per_yuan", "rounding", "skus", "categories", "member_day", "birthday", "spend_bonus")
    t.get("rounding", choice("floor"), "floor")
    md = t.table("member_day")
    member_day = None
    if md.raw:
        md.only("weekday", "day_of_month", "multiplier")
        member_day = MemberDay(
            percent=md.need("multiplier", MULTIPLIER),
            weekday=md.get("weekday", integer(1, 7), None),
            day_of_month=md.get("day_of_month", integer(1, 31), None),
        )
        if (member_day.weekday is None) == (member_day.day_of_month is None):
            raise RulesError(f"{md.key('weekday')}: give either weekday (1-7) or day_of_month (1-31)")
    bd = t.table("birthday")
    bd.only("period", "multiplier")
    bonus = []
    for b in t.tables("spend_bonus"):
        b.only("min_spend", "points")
        bonus.append((b.need("min_spend", yuan), b.need("points", POINTS)))
    return Earning(
        centi_per_yuan=t.get("points_per_yuan", hundredths(MAX_RATE), 100),
        sku_rates=rate_table(t.table("skus")),
        category_rates=rate_table(t.table("categories")),
        member_day=member_day,
        birthday_period=bd.get("period", choice(BIRTHDAY_MONTH, BIRTHDAY_DAY), BIRTHDAY_MONTH),
        birthday_percent=bd.get("multiplier", MULTIPLIER, 100),
        spend_bonus=tuple(sorted(bonus)),
    )


def _redemption(t: Table) -> Redemption:
    t.only("points", "value", "min_points", "max_share_percent")
    return Redemption(
        points=t.get("points", integer(1, 1_000_000), 1000),
        value=t.get("value", yuan, 4000),
        min_points=t.get("min_points", POINTS, 0),
        max_share_percent=t.get("max_share_percent", PERCENT, 100),
    )


def _topup(t: Table) -> TopupBracket:
    t.only("min_amount", "bonus_value", "bonus_points")
    return TopupBracket(
        min_amount=t.need("min_amount", yuan),
        bonus_value=t.get("bonus_value", yuan, 0),
        bonus_points=t.get("bonus_points", POINTS, 0),
    )


def _punch_card(t: Table) -> PunchCard:
    t.only("id", "name", "service_sku", "visits", "price", "valid_days")
    return PunchCard(
        id=t.need("id", text),
        name=t.get("name", text, t.raw.get("id", "")),
        service_sku=t.need("service_sku", text),
        visits=t.need("visits", integer(1, 1000)),
        price=t.need("price", yuan),
        valid_days=t.get("valid_days", integer(1, 3660), None),
    )


def _coupon(t: Table) -> Coupon:
    t.only("code", "kind", "value", "min_spend", "scope", "target", "valid_from", "valid_until", "member")
    kind = t.need("kind", choice("fixed", "percent"))
    scope = t.get("scope", choice("order", "category", "sku"), "order")
    target = t.get("target", text, None)
    if (scope == "order") != (target is None):
        raise RulesError(f"{t.key('target')}: a {scope} coupon {'takes no' if scope == 'order' else 'needs a'} target")
    return Coupon(
        code=t.need("code", text),
        kind=kind,
        value=t.need("value", yuan if kind == "fixed" else integer(1, 100)),
        min_spend=t.get("min_spend", yuan, 0),
        scope=scope,
        target=target,
        member_id=t.get("member", text, None),
        **window(t),
    )


def _category_discount(t: Table) -> CategoryDiscount:
    t.only("category", "pay_percent", "valid_from", "valid_until")
    return CategoryDiscount(t.need("category", text), t.need("pay_percent", integer(1, 100)), **window(t))


def _threshold(t: Table) -> ThresholdDiscount:
    t.only("min_spend", "off", "repeat", "category", "valid_from", "valid_until")
    low, off = t.need("min_spend", yuan), t.need("off", yuan)
    if not 0 < off <= low:
        raise RulesError(f"{t.key('off')}: must be more than 0 and at most min_spend")
    return ThresholdDiscount(low, off, t.get("repeat", boolean, False), t.get("category", text, None), **window(t))


def _keyed(root: Table, name: str, parse, id_key: str) -> dict:
    items = {}
    for t in root.tables(name):
        item = parse(t)
        ident = getattr(item, id_key)
        if ident in items:
            raise RulesError(f"{t.key(id_key)}: {ident!r} appears twice")
        items[ident] = item
    return items


def _cross_check(rules: Rules) -> None:
    for pack in rules.punch_cards.values():
        if pack.id == pack.service_sku:
            raise RulesError(f"punch_cards: {pack.id!r} cannot be its own service_sku")
