"""Checkout and refund use cases: quote inside the write transaction, commit the drafts as ONE ledger batch.

Balances, stock and coupon use are read in the same IMMEDIATE transaction that appends the sale, so two
checkouts can never spend the same points, stored value, visits, stock or coupon. The rulebook and catalog are a
value (`pricing()`) a basket may keep from its first scan to its sale, so a rules change that arrives meanwhile
(head office's fleet agent) takes effect between sales, never inside one; stock is read live all the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from tinydb import TinyDB

import native
from core.catalog import Product, index, to_document
from core.events import Event, EventDraft
from core.errors import NotAllowed
from core.payloads import CatalogLoaded, Override, RulesLoaded, StockAdjusted
from core.quote import Preview, Quote, preview, quote
from core.quote_input import BasketLine, TenderRequest
from core.refunds import RefundPreview, refund_drafts, refund_preview
from core.rules import TenderOptions, tender_options
from core.rules_toml import parse_rules
from kiosk.clock import Clock
from kiosk.services import pricing_data as data
from kiosk.services.audit import fingerprint
from kiosk.services.pins import PinGuard, WrongPin
from kiosk.services.gateway import Gateway
from kiosk.services.pricing_data import Pricing
from kiosk.store import ledger, members as member_rows, staff as staff_rows
from kiosk.store.db import Database
from kiosk.store.documents import replace_table


@dataclass(frozen=True)
class Sale:
    """A committed checkout: its id (the sale event's id), the quote it committed and the events written."""

    sale_id: str
    quote: Quote
    events: list[Event]


class SalesService:
    """Checkout, refund, and loading the rulebook and catalog the checkout prices with."""

    def __init__(self, db: Database, gateway: Gateway, docs: TinyDB, docs_path: Path, clock: Clock,
                 operator: Callable[[], str], guard: PinGuard) -> None:
        self.db, self.gateway, self.docs_db, self.clock, self._operator = db, gateway, docs, clock, operator
        self.guard = guard
        self.docs = data.PricingDocs(docs, docs_path)

    def pricing(self) -> Pricing:
        """The rulebook and catalog as they are now, for a basket to keep from its first scan to its sale."""
        return self.docs.current()

    def _quote(self, conn: Any, member_id: str | None, basket: Sequence[BasketLine], coupons: Sequence[str],
               tender: TenderRequest, now_ms: int, pricing: Pricing | None, how: Callable[..., Any] = quote) -> Any:
        pricing = pricing or self.docs.current()
        rules = pricing.rules
        basket = [BasketLine(pricing.sku(line.sku), line.qty) for line in basket]  # scanned or typed
        member = data.member_state(conn, member_id, rules, now_ms, self.clock) if member_id else None
        catalog = data.with_stock(conn, pricing.products, {line.sku for line in basket})  # stock as it is now
        return how(basket, member, rules, catalog, data.coupons_for(conn, coupons, rules.coupons), tender,
                   self.clock.local(now_ms), pricer=native.price_basket)

    def preview(self, member_id: str | None, basket: Sequence[BasketLine], coupons: Sequence[str] = (),
                tender: TenderRequest = TenderRequest(), *, pricing: Pricing | None = None) -> Preview:
        """What the screen shows after a scan: line prices, amount due, points to earn; nothing is written.
        `pricing` (the basket's, from `pricing()`) instead of the rulebook and catalog of now."""
        with self.db.reading() as conn:
            return self._quote(conn, member_id, basket, coupons, tender, self.clock.now_ms(), pricing, preview)

    def price(self, member_id: str | None, basket: Sequence[BasketLine], coupons: Sequence[str] = (),
              tender: TenderRequest = TenderRequest(), *, pricing: Pricing | None = None) -> Quote:
        """The full quote (tenders, change, drafts) the sale would commit now, without committing anything."""
        with self.db.reading() as conn:
            return self._quote(conn, member_id, basket, coupons, tender, self.clock.now_ms(), pricing)

    def checkout(self, member_id: str | None, basket: Sequence[BasketLine], coupons: Sequence[str] = (),
                 tender: TenderRequest = TenderRequest(), *, pin: str | None = None, card: str | None = None,
                 operator: str | None = None, override: bool = False, pricing: Pricing | None = None) -> Sale:
        """Price and commit a sale as one durable transaction (sale, coupon use, stock, tier change), under the
        basket's `pricing` when given, else the rulebook and catalog of now.

        A member's stored value is spent only with their PIN (`pin`), checked here so no screen or command can
        skip it, whoever operates; or when the operator, a manager, overrides it, which the sale's batch records
        as an Override event. A sale started by a card tap names the card, and a card blocked in the meantime is
        refused at commit."""
        operator = operator or self._operator()
        spends = bool(tender.stored_value and member_id)
        if spends and not override:
            if pin is None:
                raise WrongPin("enter the member's 6-digit PIN to pay with stored value")
            self.guard.check("members", member_id, pin, f"member {member_id}")
        with self.gateway.unit(operator, card) as unit:
            if spends and override:
                _require_manager(unit.conn, operator)
            q = self._quote(unit.conn, member_id, basket, coupons, tender, unit.now, pricing)
            overridden = [EventDraft.of(Override("stored_value_pin"), member_id)] if spends and override else []
            events = unit.append([*q.drafts, *overridden])
        return Sale(events[0].id, q, events)

    def refund(self, sale_id: str, lines: Sequence[int] | None = None, operator: str | None = None) -> list[Event]:
        """Refund a whole sale or some of its lines (0-based) as one durable transaction."""
        with self.gateway.unit(operator or self._operator()) as unit:
            return unit.append(self._refund_drafts(unit.conn, sale_id, lines, unit.now))

    def refund_preview(self, sale_id: str, lines: Sequence[int] | None = None) -> RefundPreview:
        """What refunding these lines now gives back and takes back: read off the drafts `refund` would commit."""
        with self.db.reading() as conn:
            drafts = self._refund_drafts(conn, sale_id, lines, self.clock.now_ms())
            sale = data.sale(conn, drafts[0].data["sale"])[1]
        return refund_preview(sale, drafts)

    def tender_options(self, member_points: int, due: int, *, pricing: Pricing | None = None) -> TenderOptions:
        """The points a member holding `member_points` may pay with on an order with `due` fen left (under the
        basket's `pricing` when given)."""
        return tender_options(member_points, due, (pricing or self.docs.current()).rules.redemption)

    def _refund_drafts(self, conn: Any, sale_id: str, lines: Sequence[int] | None, now: int) -> list[EventDraft]:
        sale_id = ledger.resolve_txn(conn, sale_id, self.gateway.who.kiosk_id)
        member_id, sale, refunded = data.sale(conn, sale_id)
        rules = self.docs.current()[0]
        member = data.member_state(conn, member_id, rules, now, self.clock) if member_id else None
        record = member_rows.get(conn, member_id) if member_id else None
        return refund_drafts(sale_id, sale, member, refunded, lines, rules.coupons, self.clock.local(now).date(),
                             closed=record is not None and record.erased_at is not None)

    def load_rules(self, source: str, operator: str | None = None) -> list[Event]:
        """Validate a rules file and make it the rulebook (a bad file changes nothing); the ledger records who did."""
        parse_rules(source)
        with self.gateway.unit(operator or self._operator()) as unit:
            events = unit.append([EventDraft.of(RulesLoaded(fingerprint(source)))])
            replace_table(self.docs_db, data.RULES_TABLE, [{"source": source, "loaded_at": unit.now}])
        return events

    def load_catalog(self, products: dict[str, Product], operator: str | None = None) -> list[Event]:
        """Make `products` the catalog; counted stock is set to the file's levels by ledger adjustments."""
        index(products.values())
        document = to_document(products)
        with self.gateway.unit(operator or self._operator()) as unit:
            stock = {sku: p.stock - ledger.load_stock(unit.conn, sku) for sku, p in products.items() if p.stock is not None}
            drafts = [EventDraft.of(StockAdjusted("catalog load"), None, {"stock": stock})] if any(
                stock.values()) else []
            events = unit.append([*drafts, EventDraft.of(CatalogLoaded(fingerprint(document), len(products)))])
            replace_table(self.docs_db, data.CATALOG_TABLE, document)
        return events

    def catalog(self) -> dict[str, Product]:
        """The catalog with current stock."""
        with self.db.reading() as conn:
            return data.load_catalog(self.docs_db, conn)

    def find(self, sale_id: str) -> tuple[str | None, dict[str, Any], set[int]]:
        """(member, sale data, refunded lines) of a committed sale."""
        with self.db.reading() as conn:
            return data.sale(conn, ledger.resolve_txn(conn, sale_id, self.gateway.who.kiosk_id))


def _require_manager(conn: Any, operator: str) -> None:
    """NotAllowed unless `operator` is an active manager: only a manager may override a member's PIN."""
    row = staff_rows.get(conn, operator)
    if row is None or row[2] != "manager":
        raise NotAllowed(f"only a manager can pay with a member's stored value without their PIN ({operator} cannot)")
