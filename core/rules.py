"""The shop's rulebook as immutable values: tiers, earning, redemption, top-ups, punch cards, coupons, discounts.

Ratios (discounts, multipliers, earning rates) are integers too: percents, and earning rates in hundredths of a
point per yuan, so no float ever reaches a money or points computation. Parsing and validation live in
core/rules_toml.py; this module only describes the rules and answers questions about them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from math import gcd
from typing import Mapping

from core.analytics.settings import AnalyticsSettings

LIFETIME = "lifetime"
ROLLING_12_MONTHS = "rolling_12_months"
BIRTHDAY_MONTH = "month"
BIRTHDAY_DAY = "day"


@dataclass(frozen=True)
class Tier:
    """A membership level: qualifying spend, price paid in percent (金卡 8折 = 80), points multiplier in percent."""

    name: str
    rank: int
    threshold: int  # fen of qualifying spend
    pay_percent: int = 100
    points_percent: int = 100
    birthday_bonus: int = 0  # points, once a year on the first purchase in the birthday period
    reserved: tuple[str, ...] = ()  # SKUs only this tier and higher may buy


@dataclass(frozen=True)
class Tiers:
    """Tier levels in ascending threshold order and how qualifying spend is counted."""

    levels: tuple[Tier, ...]
    basis: str = LIFETIME
    yearly_review: bool = False

    def by_name(self, name: str) -> Tier:
        """The tier called `name`; an unknown name (e.g. a tier removed from the rules) is the lowest tier."""
        return next((t for t in self.levels if t.name == name), self.levels[0])

    def for_spend(self, spend: int) -> Tier:
        """The highest tier whose threshold `spend` reaches."""
        return [t for t in self.levels if t.threshold <= spend][-1]

    def next_above(self, lifetime_spend: int) -> Tier | None:
        """The lowest tier `lifetime_spend` has not reached; None at the top, or when tiers follow rolling spend."""
        if self.basis != LIFETIME:
            return None
        return next((t for t in self.levels if t.threshold > lifetime_spend), None)

    @cached_property
    def reserved(self) -> dict[str, int]:
        """{SKU: lowest tier rank allowed to buy it}, for the SKUs that are reserved."""
        ranks: dict[str, int] = {}
        for tier in self.levels:
            for sku in tier.reserved:
                ranks.setdefault(sku, tier.rank)
        return ranks

    def min_rank_for(self, sku: str) -> int:
        """The lowest tier rank allowed to buy `sku` (0 when it is not reserved)."""
        return self.reserved.get(sku, 0)


@dataclass(frozen=True)
class MemberDay:
    """A weekday (1 = Monday … 7 = Sunday) or a day of the month on which points are multiplied."""

    percent: int
    weekday: int | None = None
    day_of_month: int | None = None

    def applies(self, day: dt.date) -> bool:
        """Whether `day` is a member day."""
        return day.isoweekday() == self.weekday or day.day == self.day_of_month


@dataclass(frozen=True)
class Earning:
    """Points per yuan paid (in hundredths), overrides per SKU and category (0 = earns nothing), multipliers, bonuses."""

    centi_per_yuan: int = 100
    sku_rates: Mapping[str, int] = field(default_factory=dict)
    category_rates: Mapping[str, int] = field(default_factory=dict)
    member_day: MemberDay | None = None
    birthday_period: str = BIRTHDAY_MONTH
    birthday_percent: int = 100
    spend_bonus: tuple[tuple[int, int], ...] = ()  # (min paid fen, bonus points), ascending

    def rate_for(self, sku: str, category: str, product_rate: int | None) -> int:
        """Hundredths of a point per yuan for one product: SKU rule, then catalog rate, then category, then default."""
        if sku in self.sku_rates:
            return self.sku_rates[sku]
        if product_rate is not None:
            return product_rate
        return self.category_rates.get(category, self.centi_per_yuan)

    def in_birthday_period(self, birthday: dt.date | None, day: dt.date) -> bool:
        """Whether `day` falls in the member's birthday month (or on the birthday itself)."""
        if birthday is None:
            return False
        if self.birthday_period == BIRTHDAY_DAY:
            return (birthday.month, birthday.day) == (day.month, day.day)
        return birthday.month == day.month

    def spend_bonus_for(self, paid: int) -> int:
        """Bonus points of the highest spend bracket that `paid` reaches (满额赠积分)."""
        return max((points for low, points in self.spend_bonus if paid >= low), default=0)


@dataclass(frozen=True)
class Redemption:
    """`points` points pay `value` fen; at least `min_points` at a time, at most `max_share_percent` of the order."""

    points: int = 1000
    value: int = 4000
    min_points: int = 0
    max_share_percent: int = 100

    @property
    def step(self) -> tuple[int, int]:
        """The smallest exact exchange: (points, fen), e.g. 1000 pts = ¥40 gives (1, 4)."""
        g = gcd(self.points, self.value)
        return self.points // g, self.value // g

    def max_points(self, balance: int, due: int) -> int:
        """The most points a member holding `balance` may redeem on an order with `due` fen left (0 if under the minimum)."""
        step_points, step_fen = self.step
        most = min(balance // step_points, due * self.max_share_percent // 100 // step_fen) * step_points
        return most if most >= self.min_points else 0


@dataclass(frozen=True)
class TenderOptions:
    """The points a member may pay with on one order: up to `max_points` in steps of `step`; `points` pay `value_fen`."""

    max_points: int = 0
    step: int = 100
    points: int = 1
    value_fen: int = 0

    def fen_for(self, points: int) -> int:
        """What `points` pay, in fen (for a multiple of `step`, exactly what pricing charges)."""
        return points * self.value_fen // self.points


NO_POINTS = TenderOptions()  # a guest, or a member with nothing to redeem


def tender_options(member_points: int, due: int, redemption: Redemption) -> TenderOptions:
    """The points slider for a member holding `member_points` on an order with `due` fen left.

    The step is the most points up to 100 that are a whole number of the rulebook's smallest exchanges (that
    exchange itself when larger), so a finger can hit every stop; the cap is the rulebook's cap rounded down to a
    step, and 0 under the minimum."""
    exact = redemption.step[0]
    step = exact * max(1, 100 // exact)
    most = redemption.max_points(member_points, due) // step * step
    return TenderOptions(most if most >= redemption.min_points else 0, step, redemption.points, redemption.value)


@dataclass(frozen=True)
class TopupBracket:
    """充500送50: topping up at least `min_amount` fen adds `bonus_value` fen or `bonus_points` points."""

    min_amount: int
    bonus_value: int = 0
    bonus_points: int = 0


@dataclass(frozen=True)
class PunchCard:
    """A visit pack (计次卡) sold as SKU `id`: `visits` visits of `service_sku` for `price` fen, valid `valid_days`."""

    id: str
    name: str
    service_sku: str
    visits: int
    price: int
    valid_days: int | None = None


@dataclass(frozen=True)
class Coupon:
    """A single-use voucher (代金券): fixed fen off or percent off, on the order, a category or one SKU."""

    code: str
    kind: str  # "fixed" or "percent"
    value: int  # fen for fixed, percent off for percent
    min_spend: int = 0
    scope: str = "order"  # "order", "category" or "sku"
    target: str | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    member_id: str | None = None  # None: any member may use it
    used: bool = False

    def valid_on(self, day: dt.date) -> bool:
        """Whether `day` is inside the validity window (both ends included)."""
        return (self.valid_from is None or day >= self.valid_from) and (
            self.valid_until is None or day <= self.valid_until
        )


@dataclass(frozen=True)
class CategoryDiscount:
    """Every product of `category` at `pay_percent` of its price, inside an optional date window."""

    category: str
    pay_percent: int
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


@dataclass(frozen=True)
class ThresholdDiscount:
    """满减: spend `min_spend` (in `category`, or anything) and get `off` fen off, once or per multiple (每满)."""

    min_spend: int
    off: int
    repeat: bool = False
    category: str | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


def in_window(item: CategoryDiscount | ThresholdDiscount, day: dt.date) -> bool:
    """Whether a dated promotion runs on `day`."""
    return (item.valid_from is None or day >= item.valid_from) and (item.valid_until is None or day <= item.valid_until)


@dataclass(frozen=True)
class Rules:
    """Everything a shop configures about prices, points and balances."""

    tiers: Tiers
    earning: Earning = Earning()
    redemption: Redemption = Redemption()
    points_expire: bool = True  # points earned in a year expire at the end of the next year
    topup: tuple[TopupBracket, ...] = ()
    punch_cards: Mapping[str, PunchCard] = field(default_factory=dict)
    coupons: Mapping[str, Coupon] = field(default_factory=dict)
    category_discounts: tuple[CategoryDiscount, ...] = ()
    thresholds: tuple[ThresholdDiscount, ...] = ()
    analytics: AnalyticsSettings = AnalyticsSettings()  # RFM window, class floors, churn days ([analytics])

    @cached_property
    def packs_by_service(self) -> dict[str, list[PunchCard]]:
        """{service SKU: the punch cards whose visits can pay for it}, in rules order."""
        packs: dict[str, list[PunchCard]] = {}
        for pack in self.punch_cards.values():
            packs.setdefault(pack.service_sku, []).append(pack)
        return packs
