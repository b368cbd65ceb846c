"""A shop with the demo rulebook and catalog, and a cash sale through the real sales service, for follower tests."""
from __future__ import annotations

from core.events import SALE_COMPLETED
from core.quote_input import BasketLine, TenderRequest
from kiosk.app import Kiosk
from kiosk.demo.pricing import seed_pricing
from kiosk.services.sales import Sale
from kiosk.store import ledger
from kiosk.store.ledger import Identity


def open_shop(kiosk: Kiosk) -> Kiosk:
    """Load the demo rules and catalog (stock through the ledger)."""
    seed_pricing(kiosk)
    return kiosk


def sell(kiosk: Kiosk, qty: int = 1) -> Sale:
    """A guest's cash sale of green tea, committed by the sales service as at the counter."""
    return kiosk.sales.checkout(None, [BasketLine("TEA-500", qty)], tender=TenderRequest(cash=100_000))


def number(sale: Sale) -> str:
    """The 单号 printed on the sale's receipt."""
    return ledger.txn_number(sale.events[0])


def foreign_sale(kiosk: Kiosk, kiosk_id: str) -> str:
    """A sale made on another kiosk of the store, as ingest puts it in this ledger; returns its id."""
    quote = kiosk.sales.price(None, [BasketLine("TEA-500", 1)], tender=TenderRequest(cash=100_000))
    with kiosk.db.transaction() as conn:
        events = ledger.append(conn, Identity(kiosk_id, kiosk.who.store_id), quote.drafts, kiosk.clock.now_ms(), "C01",
                               kiosk.gateway.chain)
    assert events[0].type == SALE_COMPLETED
    return events[0].id
