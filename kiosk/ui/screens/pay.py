"""Choose how to pay: points (a slider within the per-order cap), stored value with the PIN, or at the counter."""
from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty

from core.money import format_fen
from core.quote import MAX_CHANGE
from core.quote_input import BasketLine, TenderRequest
from core.rules import NO_POINTS, TenderOptions
from kiosk.services.members import MemberView
from kiosk.services.pricing_data import Pricing
from kiosk.ui.screens.base import KioskScreen


class PayScreen(KioskScreen):
    """Nothing is written until Confirm; then the sale commits as one transaction and its receipt is queued."""

    member = ObjectProperty(None, allownone=True)
    due = NumericProperty(0)  # fen left after discounts and coupons, before points
    points = NumericProperty(0)  # chosen on the slider
    max_points = NumericProperty(0)
    points_step = NumericProperty(100)
    use_stored_value = BooleanProperty(False)
    use_cash = BooleanProperty(False)  # staff-assisted only: the keypad takes the cash handed over
    _options = NO_POINTS  # the points slider core works out from the rulebook; guests redeem nothing

    def enter(self, member: MemberView | None = None, basket: dict[str, int] | None = None,
              coupons: list[str] | None = None, quote: Any = None, pricing: Pricing | None = None, **_: Any) -> None:
        """The basket priced on the checkout screen, with the pricing it keeps to its sale; the sales service says
        how many points it may take."""
        super().enter()
        self.member, self.basket, self.coupons, self.pricing = member, basket or {}, coupons or [], pricing
        self.due = quote.due if quote else 0
        self.app.say("pay")
        self.points, self.use_stored_value, self.use_cash = 0, False, False
        self.ids.pin_pad.value = ""
        self._set_cap(NO_POINTS)
        if member is not None:
            balance, due = member.balances.points, self.due
            self.call(lambda: self.app.sales.tender_options(balance, due, pricing=pricing), self._set_cap)

    def _set_cap(self, options: TenderOptions) -> None:
        self._options, self.max_points, self.points_step = options, options.max_points, options.step

    def points_fen(self, points: float) -> int:
        """What the chosen points pay, in fen."""
        return self._options.fen_for(int(points))

    def left_to_pay(self, due: int, points: float) -> int:
        """What stored value (or the counter) must still cover."""
        return due - self.points_fen(points)

    def can_confirm(self, member: Any, due: int, points: float, use_stored_value: bool, use_cash: bool, typed: str) -> bool:
        """Confirm only when the tenders cover everything; the PIN has 6 digits; cash covers the rest, within the
        change a till gives (core.quote.MAX_CHANGE)."""
        left = self.left_to_pay(due, points)
        if left < 0 or (member is None and not use_cash):
            return False
        if use_cash:
            return bool(typed) and left <= int(typed) * 100 <= left + MAX_CHANGE
        if use_stored_value:
            return len(typed) == 6 and member.balances.stored_value >= left
        return left == 0

    def choose(self, stored_value: bool, cash: bool) -> None:
        """Stored value and cash share the keypad (PIN or cash given), so one is chosen at a time."""
        self.use_stored_value, self.use_cash = stored_value, cash
        self.ids.pin_pad.value = ""

    def summary(self, due: int, points: float, use_stored_value: bool, _lang: str) -> str:
        """The tender split in words, updated as the slider moves."""
        t, left = self.app.t, self.left_to_pay(due, points)
        text = t("pay.summary", due=format_fen(due), points=int(points), points_fen=format_fen(self.points_fen(points)))
        if use_stored_value and self.member is not None:
            text += "\n" + t("pay.stored_value", amount=format_fen(left), balance=format_fen(self.member.balances.stored_value))
        elif left:
            text += "\n" + t("pay.left", amount=format_fen(left))
        return text

    def confirm(self) -> None:
        """Commit the sale (the sales service checks the PIN for stored value) and show its receipt; it prints by itself."""
        member_id = self.member.member.member_id if self.member else None
        typed = self.ids.pin_pad.value
        pin = typed if self.use_stored_value else None
        cash = int(typed) * 100 if self.use_cash else None
        tender = TenderRequest(points=int(self.points), stored_value=self.use_stored_value, cash=cash)
        lines = [BasketLine(sku, qty) for sku, qty in self.basket.items()]
        coupons, operator, pricing = list(self.coupons), self.operator, self.pricing
        self.ids.pin_pad.value = ""

        def work() -> Any:
            sale = self.app.sales.checkout(member_id, lines, coupons, tender, pin=pin, operator=operator,
                                           pricing=pricing)
            return self.app.receipts.for_sale(sale.sale_id)

        self.call(work, lambda receipt: self.app.go("receipt", receipt=receipt))

    def pay_at_counter(self) -> None:
        """Nothing is charged here: the basket is parked under a number the cashier calls up at the counter."""
        member_id = self.member.member.member_id if self.member else None
        basket, coupons, due = dict(self.basket), list(self.coupons), self.due
        self.call(lambda: self.kiosk.parking.park(member_id, basket, coupons, due),
                  lambda number: self.app.go("receipt", at_counter=due, parked=number))


SCREEN = PayScreen
