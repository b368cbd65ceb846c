"""Points lookup: who the card belongs to, tier, points, stored value, visit packs and the last purchases."""
from __future__ import annotations

import logging
from typing import Any

from kivy.clock import Clock
from kivy.properties import ListProperty, ObjectProperty, StringProperty

from core.members import mask_phone
from core.money import format_fen
from kiosk.services.members import MemberView
from kiosk.services.summary import MemberSummary, Purchase
from kiosk.ui.screens.base import KioskScreen

ITEMS_SHOWN = 3  # item names per purchase row
RECOMMENDED = 3  # products suggested after a card tap
FACTS_BEHIND = 5_000  # ledger positions: further behind, suggestions wait for the background facts follower
log = logging.getLogger(__name__)


class MemberScreen(KioskScreen):
    """Shows one member; entered with a card UID (tap), a member number, or a MemberView already loaded."""

    member = ObjectProperty(None, allownone=True)
    purchases = ListProperty([])  # Purchase rows of the last sales, newest first
    ecard = StringProperty("")  # the e-card QR text: signed for this minute, made again while the member is shown
    recommended = ListProperty([])  # names of products bought together with what the member buys, never just bought
    _loaded: MemberSummary | None = None
    _ecard_ticker: Any = None

    def enter(self, loaded: MemberSummary | None = None, member: MemberView | None = None, error: BaseException | None = None,
              arrived: float | None = None, **_: Any) -> None:
        """Show a member already loaded (card tap), reload one (fresh balances), or say why the card found nobody."""
        super().enter()
        self.member, self.purchases, self.recommended, self._loaded = None, [], [], None
        if self._ecard_ticker is None:
            self._ecard_ticker = Clock.schedule_interval(self._refresh_ecard, 1)  # flips within a second of the minute
        if error is not None:
            self.show_error(error)
        elif loaded is not None:
            self._show(loaded, arrived)
        elif member is not None:
            member_id = member.member.member_id
            self.call(lambda: self.kiosk.summaries.by_number(member_id), self._show)

    def _show(self, loaded: MemberSummary, arrived: float | None = None) -> None:
        self._loaded = loaded
        self.member, self.purchases = loaded.view, list(loaded.purchases)
        if arrived is not None:
            self.app.metrics.after_next_frame("tap_to_member", arrived)
        self._recommend(loaded.view.member.member_id)

    def _recommend(self, member_id: str) -> None:
        """Suggestions come after the member is on show, off the UI thread: they never hold up the card tap, nor
        (the worker runs one call at a time) the customer's next step behind a long catch-up of the facts."""
        def work() -> list[str]:
            position, end = self.app.reports.backlog()
            if end - position > FACTS_BEHIND:
                return []
            return [product.name for product in self.app.reports.recommendations(member_id, RECOMMENDED)]

        def done(names: list[str]) -> None:
            if self.member is not None and self.member.member.member_id == member_id:  # not a member since gone
                self.recommended = names

        self.app.tasks.run(work, done, lambda exc: log.warning("no recommendations for the member: %s", exc))

    def recommend_text(self, names: list[str], _lang: str) -> str:
        """'猜您喜欢：每日坚果、薯片', or nothing (the line hides) when there is nothing to suggest."""
        return self.app.t("member.recommend", items="、".join(names)) if names else ""

    def on_kv_post(self, _base: Any) -> None:
        """Redraw the rows whenever the member, their purchases or the language change."""
        self.bind(member=self._render, purchases=self._render)
        self.bind(member=self._refresh_ecard)
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
        for purchase in self.purchases:
            self.ids.purchases.add_widget(Factory.KNote(text=self.purchase_text(purchase)))
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
        return self.app.t("member.tier_next", tier=tier, next=nxt.tier, spend=format_fen(nxt.spend)) if nxt else tier

    def _points_text(self, points: int) -> str:
        s = self._loaded
        if s is None or not s.expiring:
            return f"{points:,}"
        return self.app.t("member.points_expiring", points=f"{points:,}", soon=s.expiring, day=s.expires_on)

    @staticmethod
    def purchase_text(purchase: Purchase) -> str:
        """'2026-11-18  绿茶 500ml、薯片  ¥11.00': the day, the first items and what was paid."""
        names = "、".join(purchase.items[:ITEMS_SHOWN]) + ("…" if len(purchase.items) > ITEMS_SHOWN else "")
        return f"{purchase.day.isoformat()}  {names}  {format_fen(purchase.amount)}"

    def _refresh_ecard(self, *_args: Any) -> None:
        """The member's e-card QR for this minute: scanned at checkout within two minutes it identifies them like
        their card; a photo of it is refused after that."""
        self.ecard = self.kiosk.member_codes.current(self.member.member.member_id) if self.member else ""

    def on_pre_leave(self, *_args: Any) -> None:
        """Stop making codes and forget the last one as soon as the screen starts to go (a timeout discards it)."""
        if self._ecard_ticker is not None:
            self._ecard_ticker.cancel()
            self._ecard_ticker = None
        self.ecard = ""

    def checkout(self) -> None:
        """Start a checkout already identified as this member."""
        self.app.go("checkout", member=self.member)


SCREEN = MemberScreen
