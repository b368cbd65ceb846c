"""A demo shop with a past: the demo seed as of some weeks ago, then every day's sales, top-ups, a refund and the
staff's clockings up to now, all through the real services, so the reports and charts have something to show.
Deterministic: the same days and seed make the same ledger."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from core.errors import KioskError
from core.quote_input import BasketLine, TenderRequest
from kiosk.app import Kiosk
from kiosk.demo.pricing import seed_pricing
from kiosk.demo.seed import DEMO_MEMBERS, DEMO_STAFF, seed
from kiosk.services.topup import top_up

DAY_MS = 24 * 3600 * 1000
HOUR_MS = 3600 * 1000
# what the demo shop sells day to day (not the wine: VIPs only), with how often
SHELF = (("TEA-500", 6), ("MILK-1L", 4), ("APPLE-1KG", 3), ("CHIPS", 4), ("NUTS", 2), ("CIG-20", 1), ("WASH", 1))
RESTOCK_DAYS = 6
COUPONS = ("WELCOME10", "SNACK20", "TEA5")  # each used once, early on


class DemoTime:
    """The demo's clock while the past is made: it moves only when told."""

    def __init__(self, start_ms: int) -> None:
        self.now = start_ms

    def __call__(self) -> int:
        return self.now


def seed_with_history(data_dir: Path, days: int, now_ms: int, kiosk_id: str, store_id: str, seed_no: int = 12) -> bool:
    """Seed a new demo data directory as of `days` days before `now_ms` and fill those days and today up to now;
    False when the directory already has members (nothing is changed)."""
    time = DemoTime(now_ms - days * DAY_MS)
    with Kiosk.open(data_dir, clock=time, kiosk_id=kiosk_id, store_id=store_id) as kiosk:
        if not seed(kiosk):
            return False
        shop = _Shop(kiosk, time, random.Random(seed_no))
        first = kiosk.clock.local(time.now).date().toordinal()
        for n in range(1, days + 1):
            opening = kiosk.clock.day_bounds(dt.date.fromordinal(first + n))[0]
            shop.day(n, opening + 9 * HOUR_MS, min(now_ms, opening + 21 * HOUR_MS), still_open=n == days)
    return True


class _Shop:
    """The demo members, their PINs and the staff, selling through the kiosk's services as time moves on."""

    def __init__(self, kiosk: Kiosk, time: DemoTime, rng: random.Random) -> None:
        self.kiosk, self.time, self.rng = kiosk, time, rng
        self.members = [kiosk.members.by_card(card).member.member_id for _, _, _, card, _, _ in DEMO_MEMBERS]
        self.pins = {m: pin for m, (_, _, _, _, pin, _) in zip(self.members, DEMO_MEMBERS)}
        by_no = {s.staff_no: s for s in kiosk.staff.list()}
        self.staff = [by_no[no] for no, *_ in DEMO_STAFF]  # the manager, the cashier

    def day(self, n: int, opening: int, closing: int, still_open: bool) -> None:
        """One shop day: a clock-in, sales through the day (more at weekends), a top-up now and then, a clock-out
        (today's shift is still open: the attendance report counts it up to now)."""
        if opening >= closing:
            return
        kiosk, rng, cashier = self.kiosk, self.rng, self.staff[n % 2]
        self.time.now = opening
        if n % RESTOCK_DAYS == 0:  # the delivery: shelves back to the catalog's levels
            seed_pricing(kiosk)
        kiosk.staff.punch(cashier, True)
        weekend = kiosk.clock.local(opening).weekday() >= 5
        sold = []
        for i in range(rng.randint(6, 10) + 4 * weekend):
            self.time.now = min(closing - 1, self.time.now + rng.randint(20, 70) * 60_000)
            coupon = COUPONS[n - 1] if i == 0 and n <= len(COUPONS) else None
            sold.append(self.sale(cashier.staff_no, coupon, pack=n == 1 and i == 0))
        if n % 5 == 2:
            top_up(kiosk.members, rng.choice(self.members), rng.choice((20_000, 50_000, 100_000, 200_000)),
                   kiosk.sales.docs.current().rules, operator=cashier.staff_no)
        if n == 4:
            kiosk.sales.refund(sold[-1], operator=self.staff[0].staff_no)
        self.time.now = closing
        if not still_open:
            kiosk.staff.punch(cashier, False)

    def sale(self, operator: str, coupon: str | None, pack: bool) -> str:
        """One checkout: a member (or a guest) with a basket off the shelf, paid by stored value, points, cash or
        an external payment; returns the sale id."""
        rng = self.rng
        member = self.members[0] if pack else rng.choice(self.members) if rng.random() < 0.7 else None
        skus = dict.fromkeys(rng.sample([s for s, _ in SHELF], k=rng.randint(1, 3), counts=[w for _, w in SHELF]))
        basket = [BasketLine("WASH-10")] if pack else [BasketLine(s, 1 if s == "WASH" else rng.randint(1, 3)) for s in skus]
        stored, points = member is not None and rng.random() < 0.3, 1000 if member and rng.random() < 0.2 else 0
        try:
            return self._checkout(member, basket, (coupon,) if coupon and member else (), stored, points, operator)
        except KioskError:  # a coupon or points that do not apply to this basket: the cashier takes them off
            return self._checkout(member, basket, (), False, 0, operator)

    def _checkout(self, member: str | None, basket: list[BasketLine], coupons: tuple[str, ...], stored: bool,
                  points: int, operator: str) -> str:
        sales = self.kiosk.sales
        rest = sales.price(member, basket, coupons, TenderRequest(points, stored, None)).total("external")
        cash = -(-rest // 1000) * 1000 if rest and self.rng.random() < 0.5 else None  # cash, rounded up to ¥10
        return sales.checkout(member, basket, coupons, TenderRequest(points, stored, cash),
                              pin=self.pins.get(member or ""), operator=operator).sale_id
