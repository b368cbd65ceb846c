"""The manager's reports screen (today's sales, the at-risk list, the liability, with charts) and the suggestions a
card tap shows: one app for both flows, because starting it is the slow part."""
from __future__ import annotations

import pytest

from core.members import mask_phone
from core.money import format_fen
from core.quote_input import BasketLine
from kiosk.demo.seed import DEMO_MEMBERS, seed
from kiosk.ui.main import demo_settings
from tests.conftest import T0, FakeClock
from tests.ui.test_staff import CASHIER_CARD, manager_logs_in

DAY_MS = 86_400_000
HISTORY_DAYS = 40  # the shop's sales start this many days before the test's today (T0)
ZHANG, WANG, LI = DEMO_MEMBERS[0], DEMO_MEMBERS[1], DEMO_MEMBERS[2]
LI_EVERY_DAYS, LI_VISITS = 3, 5  # Li Na came every 3 days from the first day, then stopped: well beyond her rhythm
LI_AWAY_DAYS = HISTORY_DAYS - LI_EVERY_DAYS * (LI_VISITS - 1)


@pytest.fixture
def clock() -> FakeClock:
    """Time starts at the beginning of the shop's history; the shop fixture brings it to today."""
    return FakeClock(T0 - HISTORY_DAYS * DAY_MS)


@pytest.fixture
def shop(kiosk, clock):
    """Li Na's rhythm broken; Wang Fang buying tea with nuts and apples, three times (too few for a rhythm); Zhang Wei
    buying tea and chips. Today has no sale yet."""
    seed(kiosk)
    ids = {m[0]: kiosk.members.by_card(m[3]).member.member_id for m in (ZHANG, WANG, LI)}
    for _ in range(LI_VISITS):
        kiosk.sales.checkout(ids[LI[0]], [BasketLine("MILK-1L")])
        clock.advance(LI_EVERY_DAYS * DAY_MS)
    for _ in range(3):
        kiosk.sales.checkout(ids[WANG[0]], [BasketLine("TEA-500"), BasketLine("NUTS"), BasketLine("APPLE-1KG")])
        kiosk.sales.checkout(ids[ZHANG[0]], [BasketLine("TEA-500"), BasketLine("CHIPS")])
        clock.advance(5 * DAY_MS)
    clock.now = T0
    kiosk.ids = ids  # the test's own note of who is who
    return kiosk


def test_manager_reads_todays_reports_and_a_card_tap_suggests_products(shop, make_ui):  # the app stops first
    ui = make_ui(shop, **demo_settings())

    ui.tap_demo(CASHIER_CARD)  # a cashier neither sees nor opens the reports
    ui.until(lambda: ui.screen.name == "staff_home", "the cashier's staff home")
    assert ui.widget("reports").disabled and not ui.widget("reports").opacity
    ui.app.go("reports")  # and the screen itself refuses a cashier
    ui.settle()
    assert ui.screen.message and ui.screen.today is None and not ui.app.tasks.busy
    ui.tap("back")
    ui.tap("log_out")

    manager_logs_in(ui)
    assert not ui.widget("reports").disabled and ui.widget("reports").opacity
    ui.tap("reports")
    ui.settle()
    assert ui.shows("今天还没有销售"), ui.texts()
    ui.shot("1_no_sales_yet")
    ui.tap("back")

    sales = [shop.sales.checkout(shop.ids[ZHANG[0]], [BasketLine("TEA-500"), BasketLine("MILK-1L")]),
             shop.sales.checkout(None, [BasketLine("CHIPS", 2)])]
    ui.tap("reports")
    ui.settle()
    net = sum(s.quote.spend for s in sales)  # what the tenders paid
    assert "单数  2" in ui.texts() and f"实收  {format_fen(net)}" in ui.texts(), ui.texts()
    assert ui.screen.shown_charts  # the chart by hour
    ui.shot("2_todays_sales")
    ui.tap_text("English")
    assert "Sales  2" in ui.texts() and f"Net  {format_fen(net)}" in ui.texts(), ui.texts()
    ui.tap_text("中文")

    ui.tap("tab_at_risk")
    ui.settle()
    assert f"{LI[1]}  {mask_phone(LI[0])}\n已 {LI_AWAY_DAYS} 天未到店（平时约 {LI_EVERY_DAYS} 天一次）" in ui.texts()
    assert not ui.shows(mask_phone(WANG[0])) and not ui.shows(mask_phone(ZHANG[0])), ui.texts()
    assert ui.screen.shown_charts
    ui.shot("3_at_risk")

    ui.tap("tab_liability")
    ui.settle()
    balances = [shop.members.by_card(m[3]).balances for m in DEMO_MEMBERS]
    texts = "\n".join(ui.texts())
    assert f"未兑积分  {sum(b.points for b in balances)}  " in texts, texts
    assert f"储值余额  {format_fen(sum(b.stored_value for b in balances))}" in texts, texts
    assert len(ui.screen.shown_charts) == 2  # points and stored value
    ui.shot("4_liability")
    ui.assert_fits()
    ui.tap_text("A+")  # large type: the tabs and the way back still fit, here and on the staff home
    ui.assert_fits()
    ui.tap("back")
    ui.assert_fits()

    ui.tap("log_out")
    ui.tap_demo(f"{ZHANG[1]} 的卡")
    ui.until(lambda: ui.screen.name == "member" and ui.screen.recommended, "the suggestions after the card tap")
    shown = ui.widget("recommended").text
    assert "每日坚果" in shown and "绿茶" not in shown and "鲜牛奶" not in shown, shown  # never what was just bought
    ui.shot("5_member_suggestions")

    ui.tap("done")
    ui.tap_demo(f"{DEMO_MEMBERS[3][1]} 的卡")  # 刘洋 never bought anything: nothing to suggest, no line
    ui.until(lambda: ui.screen.name == "member" and ui.screen.member is not None, "刘洋 on the member screen")
    ui.settle()
    assert not ui.screen.recommended and ui.widget("recommended").height == 0
