"""Staff top-up of stored value: identify the member, type the amount, see the bracket bonus, then confirm."""
from __future__ import annotations

from typing import Any

from kivy.properties import NumericProperty, ObjectProperty, StringProperty

from core.money import format_fen
from core.points import topup_bracket
from drivers.events import CardTapped
from kiosk.services.members import MemberView
from kiosk.services.topup import top_up
from kiosk.ui.screens.base import KioskScreen


class TopupScreen(KioskScreen):
    """The member comes from a card tap or their phone; the bonus (充1000送200) is shown before anything is written."""

    member = ObjectProperty(None, allownone=True)
    amount = NumericProperty(0)  # fen
    done = StringProperty("")

    def enter(self, **_: Any) -> None:
        """Start with no member and no amount; the rulebook is read once, off the UI thread."""
        super().enter()
        self.member, self.amount, self.done, self.ids.pad.value = None, 0, "", ""
        self._rules: Any = None
        self.call(self.rules, lambda rules: setattr(self, "_rules", rules))

    def on_device(self, event: Any, arrived: float) -> bool:
        """The member's card identifies them."""
        if not isinstance(event, CardTapped):
            return False
        self.call(lambda: self.kiosk.members.by_card(event.uid), self._found)
        return True

    def next(self) -> None:
        """Before a member: the keypad holds their phone. After: it holds the amount in yuan."""
        typed = self.ids.pad.value
        if self.member is None:
            self.call(lambda: self.kiosk.members.by_phone(typed), self._found)
        else:
            self.confirm()

    def _found(self, view: MemberView) -> None:
        self.member, self.done, self.ids.pad.value = view, "", ""

    def on_amount_typed(self, typed: str) -> None:
        """Keypad changed: while a member is chosen, it is the amount in whole yuan."""
        self.amount = int(typed) * 100 if self.member is not None and typed else 0

    def bonus(self, amount: int, _lang: str) -> str:
        """The bracket this amount reaches, in words, or how far the next bracket is."""
        if not amount or self._rules is None:
            return ""
        bracket = topup_bracket(amount, self._rules)
        if bracket is None:
            return self.app.t("topup.no_bonus")
        if bracket.bonus_points:
            return self.app.t("topup.bonus_points", points=bracket.bonus_points)
        return self.app.t("topup.bonus_value", value=format_fen(bracket.bonus_value))

    def confirm(self) -> None:
        """Credit the amount and its bonus as one ledger transaction."""
        member_id, amount, rules, operator = self.member.member.member_id, self.amount, self._rules, self.operator
        self.call(lambda: self._commit(member_id, amount, rules, operator), self._committed)

    def _commit(self, member_id: str, amount: int, rules: Any, operator: str) -> MemberView:
        """Worker thread: the top-up and its bracket bonus in one commit, with the service's limits."""
        top_up(self.kiosk.members, member_id, amount, rules, operator=operator)
        return self.kiosk.members.get(member_id)

    def _committed(self, view: MemberView) -> None:
        self.done = self.app.t("topup.done", amount=format_fen(self.amount), balance=format_fen(view.balances.stored_value),
                               points=view.balances.points)
        self.member, self.ids.pad.value = view, ""


SCREEN = TopupScreen
