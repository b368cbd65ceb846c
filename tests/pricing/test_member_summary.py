"""The member summary a card tap shows, on a real store: one read transaction, the cached rulebook, the right facts."""
from __future__ import annotations

import datetime as dt

import pytest

from core.errors import CardBlocked, NotFound
from core.events import POINTS_ADJUSTED, EventDraft
from core.quote_input import BasketLine as L
from core.quote_input import TenderRequest
from kiosk.services import pricing_data
from kiosk.services.members import Registration
from kiosk.services.summary import Purchase, TierProgress
from tests.pricing.conftest import CATALOG, DEMO

YEAR_MS = 365 * 86_400_000


@pytest.fixture
def member(kiosk) -> str:
    return kiosk.members.register(Registration(phone="13800138000", consent=True, name="张伟", card="04A1B2C3")).member.member_id


def _load_rules(kiosk) -> None:
    kiosk.sales.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
    kiosk.sales.load_catalog(CATALOG)


def test_summary_shows_recent_sales_expiring_points_and_the_next_tier(kiosk, clock, member):
    _load_rules(kiosk)
    clock.advance(-YEAR_MS)  # points earned last year expire at the end of this one
    kiosk.members.commit([EventDraft(POINTS_ADJUSTED, member, {"reason": "test"}, {"points": 1200})])
    clock.advance(YEAR_MS)
    first = kiosk.sales.checkout(member, [L("TEA-500", 2), L("MILK-1L"), L("CHIPS"), L("NUTS")], tender=TenderRequest(cash=50_000))
    second = kiosk.sales.checkout(member, [L("TEA-500")], tender=TenderRequest(cash=1_000))
    kiosk.sales.checkout(None, [L("CHIPS")])  # a guest's sale is nobody's purchase

    s = kiosk.summaries.by_card("04A1B2C3")
    assert s.view == kiosk.members.by_card("04A1B2C3")
    assert s.purchases == (
        Purchase(dt.date(2026, 11, 18), ("绿茶 500ml",), 350),
        Purchase(dt.date(2026, 11, 18), ("绿茶 500ml", "鲜牛奶 1L", "薯片", "每日坚果"), first.quote.spend),
    )
    assert (s.expiring, s.expires_on) == (1200, dt.date(2026, 12, 31))
    assert s.next_tier == TierProgress("银卡", 100_000 - first.quote.spend - second.quote.spend)  # 银卡 at ¥1000
    assert kiosk.summaries.by_phone("138 0013 8000") == kiosk.summaries.by_number(member) == s


def test_one_tap_is_one_read_transaction_with_the_cached_rulebook(kiosk, member, monkeypatch):
    _load_rules(kiosk)
    kiosk.summaries.by_card("04A1B2C3")  # the first tap after a rules load parses the rulebook once

    def no_parse(_source: str) -> None:
        raise AssertionError("the member summary parsed the rulebook again")

    monkeypatch.setattr(pricing_data, "parse_rules", no_parse)
    statements: list[str] = []
    kiosk.db.conn.set_trace_callback(statements.append)
    try:
        kiosk.summaries.by_card("04A1B2C3")
    finally:
        kiosk.db.conn.set_trace_callback(None)
    assert [s for s in statements if s in ("BEGIN", "COMMIT")] == ["BEGIN", "COMMIT"]


def test_without_a_rulebook_the_balances_still_show(kiosk, member):
    s = kiosk.summaries.by_number(member)
    assert s.view.member.name == "张伟" and s.purchases == ()
    assert (s.expiring, s.expires_on, s.next_tier) == (0, None, None)


def test_a_lost_or_unknown_card_says_so(kiosk, member):
    kiosk.members.block_card("04A1B2C3")
    with pytest.raises(CardBlocked, match="reported lost"):
        kiosk.summaries.by_card("04A1B2C3")
    with pytest.raises(NotFound, match="not registered"):
        kiosk.summaries.by_card("04FFFFFF")
    with pytest.raises(NotFound):
        kiosk.summaries.by_number("nobody")
