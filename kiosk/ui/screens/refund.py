"""Refunds by line, managers only: find the sale from the member's card, pick lines, see what reverses, confirm."""
from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.properties import ListProperty, ObjectProperty, StringProperty

from core import events as ev
from core.errors import KioskError
from core.money import format_fen
from core.refunds import RefundPreview
from drivers.events import CardTapped
from kiosk.store.ledger import txn_number
from kiosk.ui.screens.base import KioskScreen

SALES_SHOWN = 5


class RefundScreen(KioskScreen):
    """The sales service previews and commits the refund from the same core drafts; this screen only shows them."""

    sales_list = ListProperty([])  # committed sale events of the member, newest first
    sale = ObjectProperty(None, allownone=True)  # (sale_id, data, refunded lines)
    sale_no = StringProperty("")  # the 单号 printed on its receipt
    chosen = ListProperty([])  # line indexes to refund
    preview = ObjectProperty(None, allownone=True)  # RefundPreview of the chosen lines, None while it loads
    done = StringProperty("")

    def enter(self, **_: Any) -> None:
        """Managers only; start by asking for the member's card."""
        super().enter()
        self.sales_list, self.sale, self.chosen, self.preview, self.done = [], None, [], None, ""
        self._render()
        try:
            self.app.staff.require("manager")
        except KioskError as exc:
            self.show_error(exc)

    def on_device(self, event: Any, arrived: float) -> bool:
        """The customer's card finds their recent sales."""
        if not isinstance(event, CardTapped) or self.message:
            return isinstance(event, CardTapped)

        def work() -> list[Any]:
            member = self.kiosk.members.by_card(event.uid).member.member_id
            return [e for e in self.kiosk.members.history(member, limit=50) if e.type == ev.SALE_COMPLETED][:SALES_SHOWN]

        self.call(work, lambda found: setattr(self, "sales_list", found))
        return True

    def pick_sale(self, sale_id: str, sale_no: str | None = None) -> None:
        """Load the sale with the lines already refunded."""
        self.sale_no = sale_no or self.sale_no
        self.call(lambda: (sale_id, *self.app.sales.find(sale_id)[1:]), self._picked)

    def _picked(self, sale: tuple[str, dict, set]) -> None:
        self.sale, self.chosen, self.preview = sale, [], None

    def toggle_line(self, index: int, on: bool) -> None:
        """Add or remove a line from the refund, and ask what refunding the chosen lines would move now."""
        self.chosen = sorted({*self.chosen, index} if on else set(self.chosen) - {index})
        self.preview = None
        if self.chosen:
            sale_id, lines = self.sale[0], list(self.chosen)
            self.call(lambda: self.app.sales.refund_preview(sale_id, lines), lambda p: self._previewed(sale_id, p))

    def _previewed(self, sale_id: str, preview: RefundPreview) -> None:
        if self.sale and self.sale[0] == sale_id and list(preview.lines) == self.chosen:  # not an answer overtaken by a tap
            self.preview = preview

    def reversal(self, preview: RefundPreview | None, _lang: str) -> str:
        """What the refund gives back and takes back, exactly as it will commit, shown before confirming."""
        if preview is None:
            return self.app.t("refund.pick_lines")
        t = self.app.t
        text = t("refund.preview", net=format_fen(preview.net), stored_value=format_fen(preview.stored_value),
                 points_back=preview.points_back, points_out=preview.points_clawed,
                 other=format_fen(preview.cash + preview.external))
        return text + ("\n" + t("refund.points_short", points=preview.points_short) if preview.points_short else "")

    def confirm(self) -> None:
        """Refund the chosen lines as one transaction."""
        sale_id, lines = self.sale[0], list(self.chosen)
        operator = self.operator
        self.call(lambda: self.app.sales.refund(sale_id, lines, operator=operator), lambda _events: self._refunded(sale_id, len(lines)))

    def _refunded(self, sale_id: str, count: int) -> None:
        self.done = self.app.t("refund.done", lines=count)
        self.pick_sale(sale_id)

    # -- drawing ----------------------------------------------------------------------------------------------
    def on_kv_post(self, _base: Any) -> None:
        """Redraw the lists when the sales or the chosen sale change."""
        self.bind(sales_list=self._render, sale=self._render)

    def _render(self, *_args: Any) -> None:
        box = self.ids.choices
        box.clear_widgets()
        if self.sale is None:
            for event in self.sales_list:
                button = Factory.KQuiet(text=f"{txn_number(event)}  {event.data.get('day', '')}  {len(event.data['lines'])} × "
                                        f"{format_fen(int(event.deltas.get('lifetime_spend', 0)))}")
                button.bind(on_release=lambda _b, e=event: self.pick_sale(e.id, txn_number(e)))
                box.add_widget(button)
            self._number_entry(box)
            return
        _sale_id, data, refunded = self.sale
        for index, line in enumerate(data["lines"]):
            toggle = Factory.KToggle(text=f"{line['name']} × {line['qty']}  {format_fen(line['net'])}", disabled=index in refunded)
            toggle.bind(on_release=lambda b, i=index: self.toggle_line(i, b.state == "down"))
            box.add_widget(toggle)


    def _number_entry(self, box: Any) -> None:
        """A guest sale has no card to find it by: the staff type the number printed on the receipt."""
        kiosk_id = self.kiosk.who.kiosk_id
        prompt = lambda typed: self.app.t("refund.by_number", kiosk=kiosk_id) + typed  # noqa: E731
        row = Factory.BoxLayout(size_hint_y=None, height=self.app.touch(self.app.large_type), spacing=8)
        shown = Factory.KLabel(text=prompt(""))
        find = Factory.KButton(text=self.app.t("refund.find"), disabled=True, size_hint_x=0.45)
        pad = Factory.Keypad(max_length=9)
        pad.bind(value=lambda _p, typed: (setattr(shown, "text", prompt(typed)), setattr(find, "disabled", not typed)))
        find.bind(on_release=lambda _b: self.pick_sale(pad.value, f"{kiosk_id}-{pad.value}"))
        row.add_widget(shown)
        row.add_widget(find)
        box.add_widget(row)
        box.add_widget(pad)


SCREEN = RefundScreen
