"""Points lookup: who the card belongs to, tier, points, stored value, visit packs and the last purchases."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, NamedTuple

from kivy.properties import ListProperty, ObjectProperty

from core import events as ev
from core.barcodes import member_payload
from core.errors import KioskError
from core.members import mask_phone
from core.money import format_fen
from core.rules import LIFETIME
from kiosk.services.members import MemberView
from kiosk.services.points import expiring
from kiosk.ui.screens.base import KioskScreen

RECENT_SALES = 5


class Loaded(NamedTuple):
    """Everything the member screen shows, read in one trip off the UI thread."""

    view: MemberView
    purchases: list[tuple[str, str, int]]  # (day, items, amount) of the last sales, newest first
    expiring: tuple[int, dt.date | None]  # points that expire, and when
    next_tier: tuple[str, int] | None  # the next tier and the spend still needed, None at the top or on rolling spend


class MemberScreen(KioskScreen):
    """Shows one member; entered with a card UID (tap), a member number, or a MemberView already loaded."""

    member = ObjectProperty(None, allownone=True)
    purchases = ListProperty([])  # (date, items, amount) of the last sales, newest first
    _loaded: Loaded | None = None

    def enter(self, loaded: tuple | None = None, member: MemberView | None = None, error: BaseException | None = None,
              arrived: float | None = None, **_: Any) -> None:
        """Show a member already loaded (card tap), reload one (fresh balances), or say why the card found nobody."""
        super().enter()
        self.member, self.purchases, self._loaded = None, [], None
        if error is not None:
            self.show_error(error)
        elif loaded is not None:
            self._show(loaded, arrived)
        elif member is not None:
            member_id = member.member.member_id
            self.call(lambda: load_member(self.kiosk, self.app.sales, lambda: self.kiosk.members.get(member_id)), self._show)

    def _show(self, loaded: Loaded, arrived: float | None = None) -> None:
        self._loaded = loaded
        self.member, self.purchases = loaded.view, loaded.purchases
        if arrived is not None:
            self.app.metrics.after_next_frame("tap_to_member", arrived)

    def on_kv_post(self, _base: Any) -> None:
        """Redraw the rows whenever the member, their purchases or the language change."""
        self.bind(member=self._render, purchases=self._render)
        self.app.bind(lang=self._render)

    def _render(self, *_args: Any) -> None:
        from kivy.factory import Factory

        self.ids.facts.clear_widgets()
        for label, value in self.facts(self.member):
            row = Factory.FactRow()  # kv-declared properties cannot be passed to the constructor
            row.label, row.value = label, value
            self.ids.facts.add_widget(row)
        self.ids.facts.add_widget(Factory.Widget())  # keeps the rows at the top of the panel
        self.ids.purchases.clear_widgets()
        for day, items, amount in self.purchases:
            self.ids.purchases.add_widget(Factory.KNote(text=f"{day}  {items}  {format_fen(amount)}"))
        if not self.purchases and self.member is not None:
            self.ids.purchases.add_widget(Factory.KNote(text=self.app.t("member.no_purchases")))

    # -- formatting ---------------------------------------------------------------------------------
    def greeting(self, view: MemberView | None, _lang: str) -> str:
        """'王先生，您好' or the masked phone when no name is known."""
        if view is None:
            return self.app.t("member.loading")
        return self.app.t("member.hello", name=view.member.name or mask_phone(view.member.phone))

    def facts(self, view: MemberView | None) -> list[tuple[str, str]]:
        """(label, value) rows: phone, number, tier, points, stored value, visit packs."""
        if view is None:
            return []
        b, t = view.balances, self.app.t
        visits = "，".join(f"{pack} × {left}" for pack, left in sorted(b.visits.items()) if left) or t("member.none")
        return [
            (t("member.phone"), mask_phone(view.member.phone)),
            (t("member.number"), view.member.member_id),
            (t("member.tier"), self._tier_text(b.tier)),
            (t("member.points"), self._points_text(b.points)),
            (t("member.stored_value"), format_fen(b.stored_value)),
            (t("member.visits"), visits),
            (t("member.lifetime"), format_fen(b.lifetime_spend)),
        ]

    def _tier_text(self, tier: str) -> str:
        nxt = self._loaded.next_tier if self._loaded else None
        return self.app.t("member.tier_next", tier=tier, next=nxt[0], spend=format_fen(nxt[1])) if nxt else tier

    def _points_text(self, points: int) -> str:
        soon, when = self._loaded.expiring if self._loaded else (0, None)
        return self.app.t("member.points_expiring", points=f"{points:,}", soon=soon, day=when) if soon else f"{points:,}"

    @staticmethod
    def ecard(view: MemberView | None) -> str:
        """The member's e-card QR payload: scanned at checkout it identifies them like their card."""
        return member_payload(view.member.member_id) if view else ""

    def checkout(self) -> None:
        """Start a checkout already identified as this member."""
        self.app.go("checkout", member=self.member)


def load_member(kiosk: Any, sales: Any, find: Callable[[], MemberView]) -> Loaded:
    """Worker thread: the member `find` returns, recent sales, expiring points and the way to the next tier."""
    view = find()
    member_id, spend = view.member.member_id, view.balances.lifetime_spend
    sales_events = [e for e in kiosk.members.history(member_id, limit=50) if e.type == ev.SALE_COMPLETED]
    purchases = [_purchase(e) for e in sales_events[:RECENT_SALES]]
    try:
        rules = sales.docs.current()[0]
        soon = expiring(kiosk, member_id)
    except (KioskError, OSError):  # no rulebook loaded yet: the balances still show, without expiry or progress
        return Loaded(view, purchases, (0, None), None)
    above = [t for t in rules.tiers.levels if t.threshold > spend]
    next_tier = (above[0].name, above[0].threshold - spend) if above and rules.tiers.basis == LIFETIME else None
    return Loaded(view, purchases, soon, next_tier)


def _purchase(event: ev.Event) -> tuple[str, str, int]:
    """A sale shown as (day, first items, amount paid)."""
    lines = event.data.get("lines", [])
    names = "、".join(str(line.get("name", line.get("sku", ""))) for line in lines[:3]) + ("…" if len(lines) > 3 else "")
    day = event.data.get("day") or dt.datetime.fromtimestamp(event.ts / 1000).date().isoformat()
    return day, names, int(event.deltas.get("lifetime_spend", 0))


SCREEN = MemberScreen
