"""Checkout and refund use cases: quote inside the write transaction, commit the drafts as ONE ledger batch.

Balances, stock and coupon use are read in the same IMMEDIATE transaction that appends the sale, so two
checkouts can never spend the same points, stored value, visits, stock or coupon.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import native
from core.catalog import Product, index, to_document
from core.events import STOCK_ADJUSTED, Event, EventDraft
from core.quote import Preview, Quote, preview, quote
from core.quote_input import BasketLine, TenderRequest
from core.refunds import refund_drafts
from core.rules_toml import parse_rules
from kiosk.services import pricing_data as data
from kiosk.store import ledger
from kiosk.store.documents import DOCS_FILE, replace_table


@dataclass(frozen=True)
class Sale:
    """A committed checkout: its id (the sale event's id), the quote it committed and the events written."""

    sale_id: str
    quote: Quote
    events: list[Event]


class SalesService:
    """Checkout, refund, and loading the rulebook and catalog the checkout prices with."""

    def __init__(self, kiosk: Any) -> None:
        self.kiosk = kiosk
        self.docs = data.PricingDocs(kiosk.docs, kiosk.data_dir / DOCS_FILE)

    def _quote(self, conn: Any, member_id: str | None, basket: Sequence[BasketLine], coupons: Sequence[str],
               tender: TenderRequest, now_ms: int, how: Callable[..., Any] = quote) -> Any:
        rules, products, barcodes = self.docs.current()
        basket = [BasketLine(barcodes.get(line.sku, line.sku), line.qty) for line in basket]  # scanned or typed
        member = data.member_state(conn, member_id, rules, now_ms) if member_id else None
        catalog = data.with_stock(conn, products, {line.sku for line in basket})
        return how(basket, member, rules, catalog, data.coupons_for(conn, coupons, rules.coupons), tender,
                   data.local_time(now_ms), pricer=native.price_basket)

    def preview(self, member_id: str | None, basket: Sequence[BasketLine], coupons: Sequence[str] = (),
                tender: TenderRequest = TenderRequest()) -> Preview:
        """What the screen shows after a scan: line prices, amount due, points to earn; nothing is written."""
        with self.kiosk.db.reading() as conn:
            return self._quote(conn, member_id, basket, coupons, tender, self.kiosk.clock(), preview)

    def price(self, member_id: str | None, basket: Sequence[BasketLine], coupons: Sequence[str] = (),
              tender: TenderRequest = TenderRequest()) -> Quote:
        """The full quote (tenders, change, drafts) the sale would commit now, without committing anything."""
        with self.kiosk.db.reading() as conn:
            return self._quote(conn, member_id, basket, coupons, tender, self.kiosk.clock())

    def checkout(self, member_id: str | None, basket: Sequence[BasketLine], coupons: Sequence[str] = (),
                 tender: TenderRequest = TenderRequest()) -> Sale:
        """Price and commit a sale as one durable transaction (sale, coupon use, stock, tier change)."""
        now = self.kiosk.clock()
        with self.kiosk.db.transaction() as conn:
            q = self._quote(conn, member_id, basket, coupons, tender, now)
            events = ledger.append(conn, self.kiosk.who, q.drafts, now)
        return Sale(events[0].id, q, events)

    def refund(self, sale_id: str, lines: Sequence[int] | None = None) -> list[Event]:
        """Refund a whole sale or some of its lines (0-based) as one durable transaction."""
        now = self.kiosk.clock()
        with self.kiosk.db.transaction() as conn:
            sale_id = ledger.resolve_txn(conn, sale_id, self.kiosk.who.kiosk_id)
            member_id, sale, refunded = data.sale(conn, sale_id)
            rules = self.docs.current()[0]
            member = data.member_state(conn, member_id, rules, now) if member_id else None
            drafts = refund_drafts(sale_id, sale, member, refunded, lines, rules.coupons, data.local_time(now).date())
            return ledger.append(conn, self.kiosk.who, drafts, now)

    def load_rules(self, source: str) -> None:
        """Validate a rules file and make it the rulebook (a bad file changes nothing)."""
        parse_rules(source)
        replace_table(self.kiosk.docs, data.RULES_TABLE, [{"source": source, "loaded_at": self.kiosk.clock()}])

    def load_catalog(self, products: dict[str, Product]) -> list[Event]:
        """Make `products` the catalog; counted stock is set to the file's levels by ledger adjustments."""
        index(products.values())
        now = self.kiosk.clock()
        with self.kiosk.db.transaction() as conn:
            stock = {sku: p.stock - ledger.load_stock(conn, sku) for sku, p in products.items() if p.stock is not None}
            drafts = [EventDraft(STOCK_ADJUSTED, None, {"reason": "catalog load"}, {"stock": stock})] if any(
                stock.values()) else []
            events = ledger.append(conn, self.kiosk.who, drafts, now)
            replace_table(self.kiosk.docs, data.CATALOG_TABLE, to_document(products))
        return events

    def catalog(self) -> dict[str, Product]:
        """The catalog with current stock."""
        with self.kiosk.db.reading() as conn:
            return data.load_catalog(self.kiosk.docs, conn)

    def find(self, sale_id: str) -> tuple[str | None, dict[str, Any], set[int]]:
        """(member, sale data, refunded lines) of a committed sale."""
        with self.kiosk.db.reading() as conn:
            return data.sale(conn, ledger.resolve_txn(conn, sale_id, self.kiosk.who.kiosk_id))

