"""What-if: re-price the recorded sales history under candidate rules and compare discount cost and points liability.

Both rulebooks price the same history with the same engine, so the difference is the rules' alone. Sales are
priced as recorded (lines, tier at the time, first coupon, points redeemed rounded to the rulebook's step);
visits and later refunds are left out.
"""
from __future__ import annotations

import datetime as dt
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from tinydb import TinyDB

import native
from core.batch import BONUS_DUE, IN_BIRTHDAY, Batch, compile_rules
from core.catalog import Product
from core.rules import BIRTHDAY_DAY, Rules
from kiosk.clock import Clock
from kiosk.services import pricing_data as data
from kiosk.services.history import History, birthdays, load_history
from kiosk.store.db import Database

OLD_CACHE = "sales-history.cache"  # the history file of earlier versions, replaced by the fact tables


@dataclass(frozen=True)
class Outcome:
    """One rulebook over the whole history: discounts given, points earned and what they are worth."""

    discount: int  # fen
    points: int
    liability: int  # fen the points are worth at the rulebook's redemption rate
    refused: int  # sales the rulebook would refuse (coupon minimum, redemption cap, reserved product)


@dataclass(frozen=True)
class WhatIf:
    """The history priced under the current and the candidate rulebook."""

    sales: int
    current: Outcome
    candidate: Outcome
    engine: str


@dataclass(frozen=True)
class Calendar:
    """Per sale facts that no rulebook changes: weekday, day of month, birthday month / day flags."""

    weekday: array
    dom: array
    flags_month: array
    flags_day: array


def calendar(h: History, member_birthdays: list[dt.date | None]) -> Calendar:
    """Weekdays, days of month and birthday flags of every sale, computed once for both rulebooks."""
    days: dict[int, dt.date] = {}
    weekday, dom, by_month, by_day = (array("q") for _ in range(4))
    for ordinal, member, bonus in zip(h.cols["day"], h.cols["member"], h.cols["bonus"]):
        day = days.get(ordinal) or days.setdefault(ordinal, dt.date.fromordinal(ordinal))
        weekday.append(day.isoweekday())
        dom.append(day.day)
        born = member_birthdays[member] if member >= 0 else None
        extra = BONUS_DUE if bonus else 0
        by_month.append((IN_BIRTHDAY if born and born.month == day.month else 0) | extra)
        by_day.append((IN_BIRTHDAY if born and (born.month, born.day) == (day.month, day.day) else 0) | extra)
    return Calendar(weekday, dom, by_month, by_day)


def _catalog(h: History, catalog: Mapping[str, Product], rules: Rules) -> dict[str, Product]:
    """History SKUs first and in the history's order, so compiled SKU i is history SKU i under any rulebook."""
    out: dict[str, Product] = {}
    for i, sku in enumerate(h.skus):
        pack = rules.punch_cards.get(sku)
        fallback = Product(sku, pack.name, pack.price, "punch_card") if pack else Product(sku, h.names[i], h.prices[i])
        out[sku] = catalog.get(sku) or fallback
    for sku, product in catalog.items():
        out.setdefault(sku, product)
    return out


def outcome(h: History, cal: Calendar, rules: Rules, catalog: Mapping[str, Product]) -> Outcome:
    """Price the whole history under `rules` with the selected engine."""
    c = compile_rules(rules, _catalog(h, catalog, rules))
    ranks = [rules.tiers.by_name(t).rank for t in h.tiers]
    coupon_ix = {code: i for i, code in enumerate(c.coupon_codes)}
    coupons = [coupon_ix.get(code, -1) for code in h.coupons]
    step = c.step_points
    batch = Batch(
        offsets=h.cols["offsets"], sku=h.cols["sku"], qty=h.cols["qty"],
        tier=array("q", (ranks[t] if t >= 0 else -1 for t in h.cols["tier"])),
        coupon=array("q", (coupons[k] if k >= 0 else -1 for k in h.cols["coupon"])),
        points=array("q", (p // step * step for p in h.cols["points"])),
        day=h.cols["day"], weekday=cal.weekday, dom=cal.dom,
        flags=cal.flags_day if rules.earning.birthday_period == BIRTHDAY_DAY else cal.flags_month,
    )
    res = native.price_batch(c, batch)
    points = sum(res.earned)
    return Outcome(sum(res.discount), points, points * rules.redemption.value // rules.redemption.points,
                   sum(1 for s in res.status if s))


class WhatIfService:
    """Re-pricing of the recorded sales under a candidate rulebook (`memberkiosk simulate`)."""

    def __init__(self, db: Database, docs: TinyDB, data_dir: Path, clock: Clock) -> None:
        self.db, self.docs, self.data_dir, self.clock = db, docs, data_dir, clock

    def simulate(self, candidate: Rules) -> WhatIf:
        """Price every recorded sale under the loaded rules and under `candidate`, with the same engine and inputs."""
        (self.data_dir / OLD_CACHE).unlink(missing_ok=True)
        rules = data.load_rules(self.docs)
        h = load_history(self.db, self.clock)
        catalog = data.load_products(self.docs)
        cal = calendar(h, birthdays(self.db, h.members))
        return WhatIf(h.count, outcome(h, cal, rules, catalog), outcome(h, cal, candidate, catalog), native.ENGINE)
