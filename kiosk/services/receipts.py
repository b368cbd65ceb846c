"""The receipt of a committed sale, built from its ledger events only (never from unsaved checkout state)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from tinydb import TinyDB

from core.errors import NotFound
from core.events import SALE_COMPLETED, TIER_CHANGED, Event
from core.ledger import Balances
from core.members import mask_phone
from core.receipt import Receipt, ReceiptLine, Tender
from kiosk import config
from kiosk.clock import Clock
from kiosk.store import ledger, lookups
from kiosk.store import members as member_rows
from kiosk.store.db import Database
from kiosk.store.ledger import Identity

SETTINGS_TABLE = "settings"
# Tender names as printed, in the fixed tender order of core.quote.
TENDERS = (("visits_fen", "计次卡"), ("points_fen", "积分抵扣"), ("stored_value", "储值"), ("external", "其他支付"))


class Receipts:
    """Receipts of committed sales, for the screen after checkout, the printer and `receipt reprint|preview`."""

    def __init__(self, db: Database, who: Identity, docs: TinyDB, clock: Clock) -> None:
        self.db, self.who, self.docs, self.clock = db, who, docs, clock

    def sale_id(self, ref: str) -> str:
        """The sale's id for what a cashier typed: its id, the 单号 on the receipt, or the number alone on this kiosk."""
        with self.db.reading() as conn:
            return ledger.resolve_txn(conn, ref, self.who.kiosk_id)

    def for_sale(self, ref: str) -> Receipt:
        """Everything the printer needs about sale `ref`, with the member's balances as they were right after it.

        A receipt printed later (the printer was out of paper) or reprinted still shows the balances of its sale:
        what moved them since is taken back off the balances now."""
        with self.db.reading() as conn:
            events = ledger.txn_events(conn, ledger.resolve_txn(conn, ref, self.who.kiosk_id))
            if not events or events[0].type != SALE_COMPLETED:
                raise NotFound(f"no sale numbered {ref}; use the 单号 printed on the receipt")
            sale = events[0]
            member = member_rows.get(conn, sale.member_id) if sale.member_id else None
            balances = None
            if sale.member_id:
                now = ledger.load_balances(conn, sale.member_id)
                points, stored_value = lookups.moved_after(conn, sale.member_id, sale.txn)
                balances = replace(now, points=now.points - points, stored_value=now.stored_value - stored_value)
        shop = config.load(docs=self.docs)["ui.store_name"] or self.who.store_id
        return _receipt(sale, events, member, balances, shop, self.clock)


def _receipt(sale: Event, events: list[Event], member: Any, balances: Balances | None, shop: str, clock: Clock) -> Receipt:
    lines = sale.data["lines"]
    tier = next((e.data["tier"] for e in events if e.type == TIER_CHANGED), sale.data.get("tier"))
    tenders = [Tender(name, sum(line[key] for line in lines)) for key, name in TENDERS]
    cash = sum(line["cash"] for line in lines)
    if cash:
        tenders.append(Tender("现金", sale.data["cash_given"]))
    return Receipt(
        store_name=shop,
        sale_no=ledger.txn_number(sale),
        time=clock.local(sale.ts),
        lines=tuple(ReceiptLine(line["name"], line["qty"], line["price"], line["net"], discount=line["gross"] - line["net"])
                    for line in lines),
        subtotal=sum(line["gross"] for line in lines),
        discount_total=sum(line["gross"] - line["net"] for line in lines),
        total=sum(line["net"] for line in lines),
        tenders=tuple(t for t in tenders if t.amount),
        change=sale.data["change"],
        member_no=sale.member_id,
        tier=tier if sale.member_id else None,
        phone_masked=mask_phone(member.phone) if member and member.phone else None,
        points_earned=sum(line["earned"] for line in lines) if sale.member_id else None,
        points_balance=balances.points if balances else None,
        stored_value_balance=balances.stored_value if balances else None,
    )

