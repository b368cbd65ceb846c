"""A rules change takes effect between sales: the basket on screen when head office's rules arrive is priced and
sold under the rules of its first scan; the next basket (after the sale and the inactivity timeout, or once
emptied) takes the new ones."""
from __future__ import annotations

from core.events import SALE_COMPLETED
from kiosk.demo.pricing import HERE
from kiosk.demo.seed import DEMO_MEMBERS, seed
from kiosk.ui.main import demo_settings

RULES = (HERE / "rules.toml").read_text(encoding="utf-8")
FRUIT_HALF_TRIPLE_POINTS = RULES.replace("pay_percent = 90", "pay_percent = 50").replace(
    "points_per_yuan = 1", "points_per_yuan = 3")


def test_a_basket_keeps_its_rules_and_the_next_basket_takes_the_new_ones(make_ui, kiosk):
    seed(kiosk)
    _phone, name, _b, card, pin, _sv = DEMO_MEMBERS[0]
    member = kiosk.members.by_card(card).member.member_id
    points = kiosk.members.get(member).balances.points
    ui = make_ui(kiosk, **demo_settings())

    ui.tap_demo(f"{name} 的卡")
    ui.until(lambda: ui.screen.name == "member" and ui.screen.member is not None, "the member screen")
    ui.tap("checkout")
    ui.settle()
    ui.tap_demo("苹果 1kg")
    ui.settle()
    kiosk.sales.load_rules(FRUIT_HALF_TRIPLE_POINTS)  # as the fleet agent applies head office's rules config
    ui.tap_demo("绿茶 500ml")
    ui.settle()
    assert ui.shows("应付 ¥17.81"), ui.texts()  # 15.90 at 9折 + 3.50: the rules of the first scan
    assert ui.screen.quote.earned == 35  # 14.31 and 3.50 yuan x 1 point x 2 (member day), floored per line
    ui.shot("1_basket_under_its_rules")
    ui.tap("pay")
    ui.settle()
    ui.tap("stored_value")
    ui.type_digits("pin_pad", pin)
    ui.tap("confirm")
    ui.settle()
    assert ui.screen.name == "receipt", ui.screen.message
    sale = next(e for e in kiosk.members.history(member) if e.type == SALE_COMPLETED)
    assert sum(line["stored_value"] for line in sale.data["lines"]) == 1781
    assert kiosk.members.get(member).balances.points == points + 35

    ui.app.reset()  # the inactivity timeout: the next customer's basket
    ui.tap_demo("苹果 1kg")
    ui.settle()
    assert ui.screen.name == "checkout" and ui.shows("应付 ¥7.95"), ui.texts()  # 5折 now
    ui.shot("2_next_basket_under_the_new_rules")

    kiosk.sales.load_rules(RULES)  # head office takes it back while this basket is open
    ui.tap_demo("苹果 1kg")
    ui.settle()
    assert ui.shows("应付 ¥15.90"), ui.texts()
    ui.screen.change("APPLE-1KG", 0)  # emptied: the next scan starts a new basket
    ui.settle()
    ui.tap_demo("苹果 1kg")
    ui.settle()
    assert ui.shows("应付 ¥14.31"), ui.texts()
