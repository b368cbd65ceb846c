"""Staff on the same device: card login (a manager's card + PIN), top-up with its bracket bonus, refund of one line,
clock-in, status."""
from __future__ import annotations

import pytest

from core.events import SALE_REFUNDED
from core.quote_input import BasketLine, TenderRequest
from kiosk.demo.seed import DEMO_MEMBERS, DEMO_STAFF, seed
from kiosk.ui.main import demo_settings

MANAGER_CARD = f"{DEMO_STAFF[0][1]} 员工卡"
CASHIER_CARD = f"{DEMO_STAFF[1][1]} 员工卡"
ZHANG, WANG = DEMO_MEMBERS[0], DEMO_MEMBERS[1]


@pytest.fixture
def shop(kiosk):
    seed(kiosk)
    return kiosk


def manager_logs_in(ui, shot: str | None = None) -> None:
    """The manager taps their card, then types their PIN: a card alone never opens the manager's staff mode."""
    ui.tap_demo(MANAGER_CARD)
    ui.until(lambda: ui.screen.name == "staff_login" and ui.screen.card_uid, "the PIN prompt after the card")
    assert ui.shows(f"{DEMO_STAFF[0][1]}：店长需刷卡并输入密码，请输入6位密码")
    if shot:
        ui.shot(shot)
    ui.type_digits("pin_pad", DEMO_STAFF[0][3])
    ui.tap("log_in")
    ui.until(lambda: ui.screen.name == "staff_home", "the staff home")


def test_manager_tops_up_refunds_a_line_and_clocks_in(make_ui, shop):
    zhang = shop.members.by_card(ZHANG[3]).member.member_id
    sale = shop.sales.checkout(
        zhang, [BasketLine("TEA-500"), BasketLine("MILK-1L"), BasketLine("APPLE-1KG")],
        tender=TenderRequest(stored_value=True), pin=ZHANG[4],
    )
    ui = make_ui(shop, **demo_settings())
    manager_logs_in(ui, "0_manager_card_asks_pin")
    assert ui.shows("店长 陈（店长）")
    ui.shot("1_staff_home")

    ui.tap("topup")
    ui.tap_demo(f"{WANG[1]} 的卡")
    ui.settle()
    ui.type_digits("pad", "1000")
    assert ui.shows("¥1000.00") and ui.shows("赠送储值 ¥200.00")
    ui.shot("2_topup_bonus")
    ui.tap("next")
    ui.settle()
    assert shop.members.by_card(WANG[3]).balances.stored_value == 120_000 + 120_000
    assert ui.shows("储值余额 ¥2400.00")
    ui.shot("3_topup_done")

    ui.tap_text("返回")
    ui.tap("refund")
    ui.tap_demo(f"{ZHANG[1]} 的卡")
    ui.settle()
    ui.tap(ui.widget("choices").children[-1])  # the newest sale
    ui.settle()
    ui.tap_text("鲜牛奶 1L × 1  ¥12.80")
    ui.settle()  # the preview comes from the sales service
    assert ui.shows("商品金额 ¥12.80") and ui.shows("退回储值 ¥12.80")
    assert ui.shows(f"单号 {sale.events[0].kiosk_id}-{sale.events[0].seq}：")  # the number printed on the receipt
    ui.shot("4_refund_preview")
    ui.tap("confirm")
    ui.settle()
    refunds = [e for e in shop.members.history(zhang) if e.type == SALE_REFUNDED]
    assert len(refunds) == 1 and ui.shows("已退款 1 行")
    ui.shot("5_refunded")

    ui.tap_text("返回")
    ui.tap("clock")
    ui.tap("clock_in")
    ui.settle()
    assert ui.shows("店长 陈  上班")
    ui.shot("6_clock_in")

    ui.tap_text("返回")
    ui.tap("status")
    ui.settle()
    assert ui.shows("1982 红酒  3")
    ui.shot("7_status")
    assert sale.sale_id


def test_cashier_cannot_refund_and_is_logged_out_when_idle(make_ui, shop):
    ui = make_ui(shop, staff_idle_seconds=2, **demo_settings())
    ui.tap_demo(CASHIER_CARD)
    ui.until(lambda: ui.screen.name == "staff_home", "the staff home")
    assert ui.widget("refund").disabled and ui.widget("close_kiosk").disabled
    ui.tap("refund")
    assert ui.screen.name == "staff_home"
    ui.until(lambda: ui.screen.name == "attract", "the staff auto-logout", bound=8)
    assert ui.app.staff is None


def test_staff_pin_login(make_ui, shop):
    ui = make_ui(shop, **demo_settings())
    ui.tap("staff")
    ui.settle()
    ui.tap_text(f"{DEMO_STAFF[1][1]} ({DEMO_STAFF[1][0]})")
    ui.type_digits("pin_pad", "999999")
    ui.tap("log_in")
    ui.settle()
    assert ui.screen.name == "staff_login" and ui.screen.message
    ui.shot("wrong_pin")
    ui.tap_text(f"{DEMO_STAFF[1][1]} ({DEMO_STAFF[1][0]})")
    ui.tap_text(f"{DEMO_STAFF[1][1]} ({DEMO_STAFF[1][0]})")
    ui.type_digits("pin_pad", DEMO_STAFF[1][3])
    ui.tap("log_in")
    ui.settle()
    assert ui.screen.name == "staff_home" and ui.app.staff.role == "cashier"


def test_a_managers_card_alone_or_pin_alone_is_no_manager(make_ui, shop):
    ui = make_ui(shop, **demo_settings())
    ui.tap_demo(MANAGER_CARD)
    ui.until(lambda: ui.screen.name == "staff_login" and ui.screen.card_uid, "the PIN prompt after the card")
    ui.type_digits("pin_pad", "111111")
    ui.tap("log_in")
    ui.settle()
    assert ui.screen.name == "staff_login" and ui.screen.message and ui.app.staff is None
    ui.shot("manager_card_wrong_pin")
    manager = f"{DEMO_STAFF[0][1]} ({DEMO_STAFF[0][0]})"
    ui.tap_text(manager)  # picked by name instead: the card is forgotten, the PIN alone makes a cashier
    ui.type_digits("pin_pad", DEMO_STAFF[0][3])
    ui.tap("log_in")
    ui.settle()
    assert ui.screen.name == "staff_home" and ui.app.staff.role == "cashier"
    assert ui.widget("refund").disabled and ui.widget("close_kiosk").disabled


def test_assisted_checkout_with_manual_entry_quantity_and_cash(make_ui, shop):
    ui = make_ui(shop, **demo_settings())
    ui.tap_demo(CASHIER_CARD)
    ui.until(lambda: ui.screen.name == "staff_home", "the staff home")
    ui.tap("checkout")
    ui.settle()
    ui.tap_text("洗车服务")  # picked by touch: no barcode
    ui.settle()
    ui.tap_text("绿茶 500ml")
    ui.settle()
    ui.tap_text("+", within=ui.widget("lines").children[0])  # the tea line: two bottles
    ui.settle()
    assert ui.shows("绿茶 500ml × 2") and ui.shows("应付 ¥42.00"), ui.texts()
    ui.shot("1_assisted_basket")
    ui.tap("pay")
    ui.tap("cash")
    ui.type_digits("pin_pad", "50")
    ui.shot("2_cash")
    ui.tap("confirm")
    ui.settle()
    assert ui.screen.name == "receipt", ui.screen.message
    assert ui.shows("找零 ¥8.00")
    ui.shot("3_change")


def test_only_a_manager_can_close_the_kiosk(make_ui, shop, monkeypatch):
    from kivy.core.window import Window

    ui = make_ui(shop, **demo_settings())
    stopped = []
    monkeypatch.setattr(ui.app, "stop", lambda *a: stopped.append(True))
    assert Window.dispatch("on_request_close") is True  # no one logged in: the window stays
    manager_logs_in(ui)
    ui.tap("close_kiosk")
    assert stopped and not Window.dispatch("on_request_close")  # now the window may close


def test_cashier_sells_a_punch_card_and_the_member_uses_a_visit(make_ui, shop):
    ui = make_ui(shop, **demo_settings())
    ui.tap_demo(CASHIER_CARD)
    ui.until(lambda: ui.screen.name == "staff_home", "the staff home")
    ui.tap("checkout")
    ui.tap_demo(f"{ZHANG[1]} 的卡")  # identifies the buyer
    ui.settle()
    ui.tap_text("洗车10次卡")
    ui.settle()
    assert ui.shows("洗车10次卡 × 1") and ui.shows("应付 ¥270.00"), "|".join(ui.texts())  # 9折 in the demo rules
    ui.tap("pay")
    ui.tap("cash")
    ui.type_digits("pin_pad", "300")
    ui.tap("confirm")
    ui.settle()
    assert ui.screen.name == "receipt", ui.screen.message
    assert ui.shows("找零 ¥30.00")
    assert shop.members.by_card(ZHANG[3]).balances.visits == {"WASH-10": 10}

    ui.tap("done")  # logs the cashier out; now the member checks out a wash alone
    ui.tap_demo(f"{ZHANG[1]} 的卡")
    ui.until(lambda: ui.screen.name == "member" and ui.screen.member is not None, "the member screen")
    assert ui.shows("WASH-10 × 10")
    ui.tap("checkout")
    ui.settle()
    ui.tap_text("洗车服务")
    ui.settle()
    assert ui.shows("应付 ¥0.00"), "|".join(ui.texts())
    ui.tap("pay")
    ui.settle()
    ui.tap("confirm")
    ui.settle()
    assert ui.screen.name == "receipt", ui.screen.message
    assert ui.shows("计次卡  ¥35.00")
    assert shop.members.by_card(ZHANG[3]).balances.visits == {"WASH-10": 9}
    ui.shot("visit_used")


def test_guest_sale_is_found_by_the_number_on_its_receipt_and_refunded(make_ui, shop):
    sale = shop.sales.checkout(None, [BasketLine("TEA-500"), BasketLine("CHIPS")], tender=TenderRequest(cash=2000))
    number = sale.events[0].seq
    ui = make_ui(shop, **demo_settings())
    manager_logs_in(ui)
    ui.tap("refund")
    ui.settle()
    assert ui.shows(f"单号 {shop.who.kiosk_id}-")
    [pad] = ui.widgets_of("Keypad")
    for digit in "999":
        ui.tap(pad.ids[f"k{digit}"])
    ui.shot("0_typed_999")
    ui.tap_text("查找单号")
    ui.settle()
    assert ui.screen.message and "999" in ui.screen.message  # a number that is no sale says so
    ui.tap(pad.ids["kclear"])
    for digit in str(number):
        ui.tap(pad.ids[f"k{digit}"])
    ui.shot("1_number_typed")
    ui.tap_text("查找单号")
    ui.settle()
    assert ui.shows(f"单号 {shop.who.kiosk_id}-{number}：")
    ui.tap_text("薯片 × 1  ¥7.50")
    ui.settle()
    ui.tap("confirm")
    ui.settle()
    ui.shot("2_refunded")
    assert ui.shows("已退款 1 行")
    assert shop.sales.find(sale.sale_id)[2] == {1}
