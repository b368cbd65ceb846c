"""The end of a checkout: what was paid and earned, the new balances, and that the receipt is printing."""
from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from core.money import format_fen
from kiosk.ui.screens.base import KioskScreen


class ReceiptScreen(KioskScreen):
    """Shows the committed sale (from the receipt built from the ledger), or the amount to pay at the counter."""

    text = StringProperty("")
    title = StringProperty("")

    def enter(self, receipt: Any = None, at_counter: int | None = None, parked: int | None = None, **_: Any) -> None:
        """Fill the summary once; the language switch re-renders it."""
        super().enter()
        self._receipt, self._at_counter, self._parked = receipt, at_counter, parked
        if receipt is not None:  # a basket parked for the counter has no receipt yet
            self.app.say("take_receipt")
        self.render()

    def on_kv_post(self, _base: Any) -> None:
        """Follow the language switch."""
        self.app.bind(lang=self.render)

    def render(self, *_args: Any) -> None:
        """The summary in the current language."""
        t, r = self.app.t, self._receipt
        self.title = t("receipt.title_counter" if r is None else "receipt.title")
        if r is None:
            self.text = t("receipt.at_counter", amount=format_fen(self._at_counter or 0), number=self._parked)
            return
        rows = [t("receipt.paid", total=format_fen(r.total), saved=format_fen(r.discount_total))]
        rows += [f"{tender.name}  {format_fen(tender.amount)}" for tender in r.tenders]
        if r.change:
            rows.append(t("receipt.change", change=format_fen(r.change)))
        if r.member_no:
            rows.append(t("receipt.balances", earned=r.points_earned, points=r.points_balance,
                          stored_value=format_fen(r.stored_value_balance or 0), tier=r.tier))
        rows.append(t("receipt.printing", sale=r.sale_no))
        self.text = "\n".join(rows)


SCREEN = ReceiptScreen
