"""Self-checkout: scan items (or pick a favourite), see member prices and savings per line, scan coupons.

A basket keeps the rulebook and catalog of its first scan (SalesService.pricing) until its sale: a rules change from
head office takes effect with the next basket. An emptied basket is a new one."""
from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.properties import ListProperty, ObjectProperty

from core.barcodes import classify
from core.money import format_fen
from core.quote_input import BasketLine
from drivers.events import CardTapped, Scanned
from kiosk.services.members import MemberView
from kiosk.services.pricing_data import Pricing
from kiosk.services.sales import SalesService
from kiosk.ui.screens.base import KioskScreen

FAVOURITES = 4  # no-barcode products offered as buttons
Priced = tuple[dict[str, int], Any, Pricing | None]  # (basket, its preview, the pricing it keeps), None when empty


class CheckoutScreen(KioskScreen):
    """Keeps the basket (sku -> qty), its pricing and latest quote; every change is re-priced by the sales service."""

    member = ObjectProperty(None, allownone=True)
    quote = ObjectProperty(None, allownone=True)
    favourites = ListProperty([])  # (sku, name) of products picked by touch (manual entry)
    parked = ListProperty([])  # baskets customers took to the counter (staff only)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.basket: dict[str, int] = {}
        self.coupons: list[str] = []
        self.pricing: Pricing | None = None  # taken by the basket's first scan

    def enter(self, member: MemberView | None = None, code: str | None = None, arrived: float | None = None, **_: Any) -> None:
        """A new basket, for `member` if known; `code` is the scan that opened the screen."""
        super().enter()
        self.member, self.quote, self.basket, self.coupons, self.pricing = member, None, {}, [], None
        self.app.say("scan_items")
        staff = self.app.staff is not None
        self.parked = []
        self.call(lambda: self._load_catalog(staff), lambda favs: setattr(self, "favourites", favs))
        if staff:
            self.call(self.kiosk.parking.waiting, lambda waiting: setattr(self, "parked", waiting))
        if code:
            self.scan(code, arrived)

    @property
    def sales(self) -> SalesService:
        """The checkout use cases."""
        return self.app.sales

    def _load_catalog(self, staff: bool) -> list[tuple[str, str]]:
        """Worker thread: products to pick by touch; customers get the few without a barcode, staff every one
        and the punch cards (计次卡) they sell."""
        products = self.sales.catalog().values()
        if not staff:
            return [(p.sku, p.name) for p in products if not p.barcode][:FAVOURITES]
        packs = self.rules().punch_cards.values()
        return [(p.sku, p.name) for p in products] + [(pack.id, pack.name) for pack in packs]

    def scan(self, code: str, arrived: float | None = None) -> None:
        """A product barcode: one more of that product, re-priced (an unknown code is refused, basket unchanged)."""
        def work() -> Priced:
            pricing = self.pricing or self.sales.pricing()
            sku = pricing.sku(code)
            return self._priced({**self.basket, sku: self.basket.get(sku, 0) + 1}, self.coupons, pricing=pricing)

        self.call(work, lambda priced: self._show(*priced, arrived=arrived))

    def add_sku(self, sku: str) -> None:
        """A favourite tapped (products without a barcode, such as a car wash)."""
        self.change(sku, self.basket.get(sku, 0) + 1)

    def change(self, sku: str, qty: int) -> None:
        """Set a line's quantity; 0 removes it."""
        self._reprice({k: v for k, v in {**self.basket, sku: qty}.items() if v > 0}, self.coupons)

    def add_coupon(self, code: str) -> None:
        """A scanned coupon; refused coupons (expired, minimum spend) leave the basket as it was."""
        self._reprice(self.basket, [*self.coupons, code] if code not in self.coupons else self.coupons)

    def _reprice(self, basket: dict[str, int], coupons: list[str]) -> None:
        pricing = self.pricing
        self.call(lambda: self._priced(basket, coupons, pricing=pricing),
                  lambda priced: self._show(*priced, coupons=coupons))

    def _priced(self, basket: dict[str, int], coupons: list[str], member_id: str | None = None,
                pricing: Pricing | None = None) -> Priced:
        """Worker thread: the preview of a basket (None when empty) for the screen's member or `member_id`, under
        `pricing`, or the pricing of now when the basket has none yet."""
        member_id = member_id or (self.member.member.member_id if self.member else None)
        lines = [BasketLine(sku, qty) for sku, qty in basket.items()]
        if not lines:
            return basket, None, None
        pricing = pricing or self.sales.pricing()
        return basket, self.sales.preview(member_id, lines, coupons, pricing=pricing), pricing

    def _show(self, basket: dict[str, int], quote: Any, pricing: Pricing | None, coupons: list[str] | None = None,
              arrived: float | None = None) -> None:
        self.basket, self.quote, self.pricing = basket, quote, pricing
        if coupons is not None:
            self.coupons = coupons
        if arrived is not None:
            self.app.metrics.after_next_frame("scan_to_line", arrived)

    def on_device(self, event: Any, arrived: float) -> bool:
        """Scans add products or coupons; a member card or e-card QR re-prices the basket at member prices."""
        match event:
            case Scanned(kind="coupon", code=code):
                self.add_coupon(classify(code).payload_id)
            case Scanned(kind="member", code=code):
                self.call(lambda: self.kiosk.members.get(self.kiosk.member_codes.member_of(code)), self._identified)
            case Scanned(code=code):
                self.scan(code, arrived)
            case CardTapped(uid=uid):
                self.call(lambda: self.kiosk.members.by_card(uid), self._identified)
            case _:
                return False
        return True

    def _identified(self, view: MemberView) -> None:
        self.member = view
        self._reprice(self.basket, self.coupons)

    # -- drawing ----------------------------------------------------------------------------------------------
    def on_kv_post(self, _base: Any) -> None:
        """Redraw the lines when the quote or the language change, the favourites when they are loaded."""
        self.bind(quote=self._render_lines, favourites=self._render_favourites, parked=self._render_favourites)
        self.app.bind(lang=self._render_lines)

    def _render_lines(self, *_args: Any) -> None:
        # Rows are reused and only changed texts are set, so a scan re-renders one line, not the basket.
        t, box = self.app.t, self.ids.lines
        shown = _lines(self.basket, self.quote)
        while len(box.children) > len(shown):
            box.remove_widget(box.children[0])
        while len(box.children) < len(shown):
            box.add_widget(Factory.CheckoutLine(), index=0)
        for row, ((sku, qty), product, gross, net) in zip(reversed(box.children), shown):
            row.sku, row.qty = sku, qty
            row.name = f"{product.name} × {qty}"
            row.price = format_fen(net)
            row.saving = t("checkout.saving", amount=format_fen(gross - net)) if gross > net else ""

    def take_parked(self, number: int) -> None:
        """Call up a basket parked by a customer who chose to pay at the counter: their items, coupons and member."""
        operator = self.operator

        def work() -> tuple[MemberView | None, Priced, list[str]]:
            parked = self.kiosk.parking.take(number, operator=operator)
            member = self.kiosk.members.get(parked.member_id) if parked.member_id else None
            return member, self._priced(parked.basket, parked.coupons, parked.member_id), parked.coupons  # a new basket

        def show(result: tuple[MemberView | None, Priced, list[str]]) -> None:
            member, priced, coupons = result
            self.member, self.parked = member, [p for p in self.parked if p.number != number]
            self._show(*priced, coupons=coupons)

        self.call(work, show)

    def _render_favourites(self, *_args: Any) -> None:
        self.ids.favourites.clear_widgets()
        for parked in self.parked:
            button = Factory.KButton(text=self.app.t("checkout.parked", number=parked.number, amount=format_fen(parked.due)))
            button.bind(on_release=lambda _b, number=parked.number: self.take_parked(number))
            self.ids.favourites.add_widget(button)
        for sku, name in self.favourites:
            button = Factory.KQuiet(text=name)
            button.bind(on_release=lambda _b, sku=sku: self.add_sku(sku))
            self.ids.favourites.add_widget(button)

    def totals(self, quote: Any, _lang: str) -> str:
        """'Total ¥x, saved ¥y' for the footer."""
        if quote is None:
            return self.app.t("checkout.scan_prompt")
        gross = sum(quote.result.gross)
        return self.app.t("checkout.totals", total=format_fen(quote.due), saved=format_fen(gross - quote.due),
                          points=quote.earned)

    def pay(self) -> None:
        """On to choosing how to pay."""
        self.app.go("pay", member=self.member, basket=dict(self.basket), coupons=list(self.coupons), quote=self.quote,
                    pricing=self.pricing)


def _lines(basket: dict[str, int], preview: Any) -> list[tuple[tuple[str, int], Any, int, int]]:
    """((sku, qty), product, gross, net after discounts and coupons) per basket line, in scan order."""
    if preview is None:
        return []
    r = preview.result
    nets = [g - d - th - c for g, d, th, c in zip(r.gross, r.discount, r.threshold, r.coupon)]
    return list(zip(basket.items(), preview.products, r.gross, nets))


SCREEN = CheckoutScreen
