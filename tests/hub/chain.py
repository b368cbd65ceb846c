"""Two real kiosks of two stores making sales through their services, for the hub's facts and reports tests.

Store s1 (kiosk s1-k1): a guest buys 2 绿茶 (3.50) and a 鲜牛奶 (12.80), ¥19.80, and later gets the two teas
refunded (¥7.00); another guest buys 2 薯片 (7.50), ¥15.00. Net ¥27.80 over 2 sales and 1 refund.
Store s2 (kiosk s2-k1): a member tops up ¥500 (充500送50) and a guest buys 3 鲜牛奶, ¥38.40. Net ¥38.40.
No basket reaches a 满减 threshold or a discounted category, so the sums are the list prices.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from core.events import Event
from core.points import topup_drafts
from core.quote_input import BasketLine as L
from core.quote_input import TenderRequest
from kiosk.app import Kiosk
from kiosk.services.members import Registration
from kiosk.store.ledger import all_events
from tests.conftest import FakeClock
from tests.pricing.conftest import CATALOG, DEMO, RULES

NET = {"s1": 2780, "s2": 3840}  # fen, by hand from the catalog's prices
SALES = {"s1": 2, "s2": 1}
REFUNDS = {"s1": 1, "s2": 0}


def _kiosk(root: Path, store: str, clock: FakeClock) -> Kiosk:
    kiosk = Kiosk.open(root / store, clock=clock, kiosk_id=f"{store}-k1", store_id=store)
    kiosk.sales.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
    kiosk.sales.load_catalog(CATALOG)
    kiosk.staff.add("M01", "陈", "manager", "888888")
    return kiosk


def _events(kiosk: Kiosk) -> list[Event]:
    with kiosk.db.reading() as conn:
        return [event for _pos, event, _crc, _again in all_events(conn)]


def two_stores(root: Path) -> dict[str, list[Event]]:
    """The ledgers of the two kiosks, by store, made now in `root`."""
    out, clock = {}, FakeClock()
    k1 = _kiosk(root, "s1", clock)
    try:
        tea = k1.sales.checkout(None, [L("TEA-500", 2), L("MILK-1L")], tender=TenderRequest(cash=2000))
        clock.advance(60_000)
        k1.sales.checkout(None, [L("CHIPS", 2)], tender=TenderRequest(cash=1500))
        clock.advance(60_000)
        k1.sales.refund(tea.sale_id, [0], operator="M01")
        out["s1"] = _events(k1)
    finally:
        k1.close()
    k2 = _kiosk(root, "s2", clock)
    try:
        member = k2.members.register(Registration(phone="13800138000", consent=True, birthday=dt.date(1990, 5, 17),
                                                  pin="123456")).member.member_id
        k2.members.commit(topup_drafts(member, 50_000, RULES))
        clock.advance(60_000)
        k2.sales.checkout(None, [L("MILK-1L", 3)], tender=TenderRequest(cash=5000))
        out["s2"] = _events(k2)
    finally:
        k2.close()
    return out
