"""A rules change takes effect between sales, never inside one: a basket keeps the pricing of its first scan up to
its sale (SalesService.pricing), while stock is read as it is at each step."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from core.errors import InsufficientBalance
from core.quote_input import BasketLine as L
from core.quote_input import TenderRequest
from kiosk.services.members import Registration
from tests.pricing.conftest import CATALOG, DEMO

RULES = (DEMO / "rules.toml").read_text(encoding="utf-8")
NEW_RULES = RULES.replace("points_per_yuan = 1", "points_per_yuan = 3").replace('value = "40"', 'value = "80"')


@pytest.fixture
def shop(kiosk):
    kiosk.sales.load_rules(RULES)
    kiosk.sales.load_catalog(CATALOG)
    view = kiosk.members.register(Registration(phone="13800138000", consent=True, birthday=dt.date(1990, 5, 17)))
    return kiosk.sales, view.member.member_id


def test_a_basket_keeps_its_rules_through_a_rules_change_and_the_next_basket_takes_the_new(kiosk, shop):
    sales, member = shop
    basket = sales.pricing()
    assert sales.preview(member, [L("6901234500059")], pricing=basket).earned == 199  # NUTS: 99.99 x 2 (member day)
    kiosk.sales.load_rules(NEW_RULES)  # as the fleet agent applies head office's rules config: x3 points, 1000 = ¥80

    lines = [L("6901234500059"), L("TEA-500")]  # the second scan, still the first basket
    assert sales.preview(member, lines, pricing=basket).earned == 206  # 103.49 x 2
    assert sales.tender_options(5_000, 10_349, pricing=basket).fen_for(1_000) == 4_000  # the pay screen's slider
    sales.checkout(member, lines, tender=TenderRequest(cash=11_000), pricing=basket)
    assert kiosk.members.get(member).balances.points == 206

    assert sales.tender_options(5_000, 10_349).fen_for(1_000) == 8_000

    assert sales.preview(member, [L("NUTS")]).earned == 599  # the next basket: 99.99 x 3 x 2
    assert sales.pricing().rules != basket.rules


def test_a_kept_catalog_keeps_its_prices_but_stock_is_live(kiosk, shop):
    sales, _member = shop
    basket = sales.pricing()
    sales.load_catalog({**CATALOG, "NUTS": replace(CATALOG["NUTS"], price=8_999, stock=1)})
    assert sales.preview(None, [L("NUTS")], pricing=basket).due == 9_999  # the price the basket started with
    assert sales.preview(None, [L("NUTS")]).due == 8_999
    with pytest.raises(InsufficientBalance, match="only 1 of 每日坚果 left"):
        sales.checkout(None, [L("NUTS", 2)], tender=TenderRequest(cash=20_000), pricing=basket)
    assert sales.checkout(None, [L("NUTS")], tender=TenderRequest(cash=10_000), pricing=basket).quote.total("net") == 9_999
