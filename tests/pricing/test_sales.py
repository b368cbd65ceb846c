"""Checkout and refund against the real store: one transaction each, coupons single-use in the ledger, verify clean."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from core.catalog import Product
from core.errors import AlreadyRefunded, CouponRejected, InsufficientBalance, NotFound, TierReserved
from core.events import COUPON_REDEEMED, COUPON_REINSTATED, SALE_COMPLETED, TIER_CHANGED
from core.points import topup_drafts
from core.receipt import layout
from core.quote_input import BasketLine as L
from core.quote_input import TenderRequest
from kiosk.services.members import Registration
from kiosk.services.receipts import Receipts
from kiosk.services.sales import SalesService
from kiosk.services.simulate import OLD_CACHE
from kiosk.store.verify import verify_ledger
from tests.pricing.conftest import CATALOG, DEMO, RULES


PIN = "123456"  # the member's: stored value is spent only with it


@pytest.fixture
def shop(kiosk):
    sales = kiosk.sales
    sales.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
    sales.load_catalog(CATALOG)
    view = kiosk.members.register(Registration(phone="13800138000", consent=True, birthday=dt.date(1990, 5, 17),
                                                  pin=PIN))
    return sales, view.member.member_id


def _event_count(kiosk) -> int:
    with kiosk.db.reading() as conn:
        return conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def _clean(kiosk) -> None:
    with kiosk.db.reading() as conn:
        assert verify_ledger(conn) == []


def test_checkout_commits_sale_stock_points_and_coupon_use_in_one_transaction(kiosk, shop):
    sales, member = shop
    sale = sales.checkout(member, [L("TEA-500", 20)], ["WELCOME10"], TenderRequest(cash=10_000))
    assert [e.type for e in sale.events] == [SALE_COMPLETED, COUPON_REDEEMED]
    assert len({e.txn for e in sale.events}) == 1 and sale.sale_id == sale.events[0].txn
    # 2026-11-18 is a Wednesday, the demo member day: 60.00 paid x 1 point x 2
    assert kiosk.members.get(member).balances.points == 120
    assert sales.catalog()["TEA-500"].stock == 180
    assert sale.quote.change == 4_000
    _clean(kiosk)


def test_a_used_coupon_is_refused_and_nothing_is_written(kiosk, shop):
    sales, member = shop
    sales.checkout(member, [L("TEA-500", 20)], ["WELCOME10"])
    before = _event_count(kiosk)
    with pytest.raises(CouponRejected, match="already been used"):
        sales.checkout(member, [L("TEA-500", 20)], ["WELCOME10"])
    with pytest.raises(CouponRejected, match="not a coupon"):
        sales.checkout(member, [L("TEA-500", 20)], ["NOPE"])
    with pytest.raises(InsufficientBalance, match="only 40 of 每日坚果 left"):
        sales.checkout(member, [L("NUTS", 30), L("NUTS", 11)], [])
    with pytest.raises(TierReserved):
        sales.checkout(member, [L("WINE-82")], [])
    assert _event_count(kiosk) == before


def test_refund_by_line_then_the_rest_restores_everything_and_reinstates_the_coupon(kiosk, shop):
    sales, member = shop
    sale = sales.checkout(member, [L("NUTS"), L("MILK-1L", 2), L("CHIPS", 3)], ["WELCOME10"])
    after_sale = kiosk.members.get(member).balances
    [first] = sales.refund(sale.sale_id, [1])
    assert first.deltas["stock"] == {"MILK-1L": 2}
    with pytest.raises(AlreadyRefunded):
        sales.refund(sale.sale_id, [1])
    rest = sales.refund(sale.sale_id)
    assert [e.type for e in rest] == ["sale.refunded", COUPON_REINSTATED]
    b = kiosk.members.get(member).balances
    assert (b.points, b.stored_value, b.lifetime_spend) == (0, 0, 0) and after_sale.points > 0
    assert sales.catalog()["MILK-1L"].stock == 60
    sales.checkout(member, [L("TEA-500", 20)], ["WELCOME10"])  # usable again
    with pytest.raises(NotFound):
        sales.refund("no-such-sale")
    _clean(kiosk)


def test_stored_value_points_and_upgrade(kiosk, shop, clock):
    sales, member = shop
    kiosk.members.commit(topup_drafts(member, 100_000, RULES))
    sale = sales.checkout(member, [L("NUTS", 13)], [], TenderRequest(stored_value=True), pin=PIN)  # 1299.87 - 每满200减30 x6
    assert sale.quote.total("stored_value") == 120_000 - kiosk.members.get(member).balances.stored_value
    assert sale.events[-1].type == TIER_CHANGED and kiosk.members.get(member).balances.tier == "银卡"
    _clean(kiosk)


def test_catalog_reload_moves_stock_through_the_ledger(kiosk, shop):
    sales, _ = shop
    sales.load_catalog({**CATALOG, "TEA-500": Product("TEA-500", "绿茶", 350, "drinks", stock=50)})
    assert sales.catalog()["TEA-500"].stock == 50
    _clean(kiosk)


def test_simulate_reports_the_cost_of_a_candidate_rulebook(kiosk, shop):
    sales, member = shop
    sales.checkout(member, [L("TEA-500", 20)], [])
    sales.checkout(None, [L("NUTS")], [])
    richer = replace(RULES, earning=replace(RULES.earning, centi_per_yuan=300))
    w = kiosk.whatif.simulate(richer)
    assert w.sales == 2 and w.current.discount == w.candidate.discount
    assert w.candidate.points == 3 * w.current.points == 3 * 140  # 70 yuan x member day x2; the guest earns none


def test_receipt_is_built_from_the_committed_sale(kiosk, shop):
    sales, member = shop
    kiosk.members.commit(topup_drafts(member, 5_000, RULES))
    sale = sales.checkout(member, [L("NUTS"), L("TEA-500", 2)], ["WELCOME10"], TenderRequest(stored_value=True, cash=10_000), pin=PIN)
    receipts = Receipts(kiosk.db, kiosk.who, kiosk.docs, kiosk.clock)
    r = receipts.for_sale(sale.sale_id)
    assert r.total == sale.quote.total("net") == r.subtotal - r.discount_total
    assert [(t.name, t.amount) for t in r.tenders] == [("储值", 5_000), ("现金", 10_000)]
    assert r.change == 10_000 - (r.total - 5_000) and r.phone_masked == "138****8000"
    assert r.points_balance == kiosk.members.get(member).balances.points and r.stored_value_balance == 0
    assert any("每日坚果" in row for row in layout(r))
    with pytest.raises(NotFound):
        receipts.for_sale("nope")
    # printed late (the printer was out of paper) or reprinted: still the balances right after this sale
    kiosk.members.commit(topup_drafts(member, 20_000, RULES))
    sales.checkout(member, [L("NUTS")], tender=TenderRequest(stored_value=True), pin=PIN)
    assert (receipts.for_sale(sale.sale_id).points_balance, receipts.for_sale(sale.sale_id).stored_value_balance) == (
        r.points_balance, 0)


def test_preview_by_barcode_and_cached_rules_follow_a_reload(kiosk, shop):
    sales, member = shop
    first = sales.preview(member, [L("6901234500059")])  # NUTS by barcode
    assert first.due == 9999 and first.products[0].sku == "NUTS"
    assert sales.price(member, [L("NUTS")]).drafts  # a full quote, nothing committed
    # e.g. the CLI in another process loading new rules
    other = SalesService(kiosk.db, kiosk.gateway, kiosk.docs, kiosk.data_dir / "documents.json", kiosk.clock, kiosk.acting,
                         kiosk.pins)
    other.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8").replace("points_per_yuan = 1", "points_per_yuan = 3"))
    assert (first.earned, sales.preview(member, [L("NUTS")]).earned) == (199, 599)  # 99.99 x 2 (member day), x 3 x 2
    # the registration, the catalog stock, and the loads of rules, catalog and rules again: previews write nothing
    assert _event_count(kiosk) == 5


def test_simulation_follows_new_sales_and_removes_the_old_history_file(kiosk, shop):
    sales, member = shop
    sales.checkout(member, [L("TEA-500", 20)], [])
    leftover = kiosk.data_dir / OLD_CACHE
    leftover.write_bytes(b"MKSH0001 an earlier version's array file")
    first = kiosk.whatif.simulate(RULES)
    assert first.sales == 1 and not leftover.exists()  # the fact tables replaced it
    sales.checkout(None, [L("NUTS"), L("CHIPS", 2)], [])
    again = kiosk.whatif.simulate(RULES)
    assert again.sales == 2 and again.current.discount > first.current.discount
    assert kiosk.whatif.simulate(RULES) == again


def test_birthday_bonus_once_a_year_and_visit_packs_expire(kiosk, clock):
    sales = kiosk.sales
    sales.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
    sales.load_catalog(CATALOG)
    m = kiosk.members.register(Registration(phone="13900000000", consent=True, birthday=dt.date(1990, 11, 2)))
    member = m.member.member_id
    assert sales.checkout(member, [L("WASH", 175)]).quote.tier_after == "金卡"  # 6125 - 每满200减30 x30 = 5225
    first = sales.checkout(member, [L("TEA-500")]).quote
    second = sales.checkout(member, [L("TEA-500")]).quote
    assert (first.birthday_bonus, second.birthday_bonus) == (200, 0)
    sales.checkout(member, [L("WASH-10")])
    assert sales.preview(member, [L("WASH")]).packs == [("WASH-10", 1)]
    clock.advance(366 * 24 * 3600 * 1000)
    assert sales.preview(member, [L("WASH")]).packs == [(None, 0)]  # valid 365 days
    _clean(kiosk)
