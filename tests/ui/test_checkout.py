"""Self-checkout end to end: card, three scans, points + stored value with PIN, receipt to the printer."""
from __future__ import annotations

from core.events import POINTS_ADJUSTED, SALE_COMPLETED, EventDraft
from kiosk.demo.seed import DEMO_MEMBERS, seed
from kiosk.ui.main import demo_settings


def test_scan_three_items_pay_with_points_and_stored_value(make_ui, kiosk, tmp_path):
    seed(kiosk)
    _phone, name, _b, card, pin, _sv = DEMO_MEMBERS[0]
    member = kiosk.members.by_card(card).member.member_id
    kiosk.members.commit([EventDraft(POINTS_ADJUSTED, member, {"reason": "test"}, {"points": 5000})])
    receipts = tmp_path / "receipts"
    ui = make_ui(kiosk, **demo_settings(receipt_dir=receipts))

    ui.tap_demo(f"{name} 的卡")
    ui.until(lambda: ui.screen.name == "member" and ui.screen.member is not None, "the member screen")
    ui.tap("checkout")
    ui.settle()
    for product in ("绿茶 500ml", "鲜牛奶 1L", "苹果 1kg"):
        ui.tap_demo(product)
        ui.settle()
    assert ui.screen.name == "checkout", ui.screen.message
    assert ui.shows("绿茶 500ml × 1") and ui.shows("鲜牛奶 1L × 1") and ui.shows("苹果 1kg × 1")
    assert ui.shows("省 ¥1.59") and ui.shows("应付 ¥30.61")  # fruit 9折 in the demo rulebook
    ui.shot("1_basket")
    assert ui.app.metrics.samples["scan_to_line"], "scan to line shown was not measured"

    ui.tap("pay")
    ui.settle()
    assert ui.screen.max_points > 0
    slider = ui.widget("points")
    ui.tap_at(slider.to_window(slider.right - 2, slider.center_y))
    points = ui.screen.points
    assert points == ui.screen.max_points
    ui.tap("stored_value")
    ui.type_digits("pin_pad", pin)
    ui.shot("2_pay")
    ui.tap("confirm")
    ui.settle()
    assert ui.screen.name == "receipt", ui.screen.message
    ui.shot("3_receipt")

    sale = next(e for e in kiosk.members.history(member) if e.type == SALE_COMPLETED)
    lines = sale.data["lines"]
    assert sum(line["points_used"] for line in lines) == points
    assert sum(line["stored_value"] for line in lines) + sum(line["points_fen"] for line in lines) == 3061
    assert ui.shows("积分抵扣") and ui.shows("储值")
    printer = ui.app.devices.devices["printer"]
    ui.until(lambda: printer.jobs, "the receipt to reach the printer")
    assert "绿茶".encode("gb18030") in printer.jobs[0]
    assert (receipts / f"{sale.id}.png").is_file()


def test_coupon_and_unknown_barcode_say_what_to_do(make_ui, kiosk):
    seed(kiosk)
    ui = make_ui(kiosk, **demo_settings())
    ui.tap_demo("绿茶 500ml")
    ui.until(lambda: ui.screen.name == "checkout" and ui.screen.quote is not None, "the checkout screen")
    ui.tap_demo("代金券 ¥10")
    ui.settle()
    assert ui.shows("此代金券不能用于本单") and ui.shows("应付 ¥3.50")  # below its ¥50 minimum: basket unchanged
    ui.shot("1_coupon_refused")
    ui.tap_demo("每日坚果")
    ui.settle()
    ui.tap_demo("代金券 ¥10")
    ui.settle()
    assert not ui.screen.message and ui.shows("应付 ¥93.49"), ui.texts()  # 3.50 + 99.99 - 10
    ui.shot("2_coupon_applied")
    scanner = ui.app.devices.simulator("scanner")
    scanner.scan("6901234599992")  # a valid EAN-13 that is not in the catalog
    ui.settle()
    assert ui.shows("无法识别此商品") and ui.shows("应付 ¥93.49"), (ui.screen.message, ui.texts())
    ui.shot("3_unknown_barcode")
    scanner.scan("6901234599999")  # a misread: wrong check digit, refused by the scanner driver
    ui.settle()
    assert ui.shows("设备提示")
    ui.shot("4_misread")
    scanner.scan(kiosk.member_codes.current(kiosk.members.by_card(DEMO_MEMBERS[1][3]).member.member_id))  # e-card QR
    ui.settle()
    assert ui.shows(f"会员：{DEMO_MEMBERS[1][1]}"), ui.texts()
    ui.shot("5_ecard_identifies")


def test_pay_at_the_counter_parks_the_basket_for_the_cashier(make_ui, kiosk):
    from kiosk.demo.seed import DEMO_STAFF

    seed(kiosk)
    _phone, name, _b, card, _pin, _sv = DEMO_MEMBERS[1]
    member = kiosk.members.by_card(card).member.member_id
    ui = make_ui(kiosk, **demo_settings())
    ui.tap_demo(f"{name} 的卡")
    ui.until(lambda: ui.screen.name == "member" and ui.screen.member is not None, "the member screen")
    ui.tap("checkout")
    ui.settle()
    for product in ("绿茶 500ml", "薯片"):
        ui.tap_demo(product)
        ui.settle()
    ui.tap("pay")
    ui.settle()
    ui.tap("at_counter")
    ui.settle()
    [parked] = kiosk.parking.waiting()
    assert ui.screen.name == "receipt" and ui.shows(f"取单号 {parked.number}") and ui.shows("请到收银台付款")
    assert not ui.shows("支付成功")  # nothing was paid yet
    assert parked.member_id == member and parked.basket == {"TEA-500": 1, "CHIPS": 1}
    ui.shot("1_take_to_counter")

    ui.tap_text("首页")
    ui.tap_demo(f"{DEMO_STAFF[1][1]} 员工卡")
    ui.until(lambda: ui.screen.name == "staff_home", "the staff home")
    ui.tap("checkout")
    ui.settle()
    ui.tap_text(f"柜台取单 {parked.number}  ¥{parked.due // 100}.{parked.due % 100:02d}")
    ui.settle()
    assert ui.shows("绿茶 500ml × 1") and ui.shows("薯片 × 1") and ui.screen.member.member.member_id == member
    ui.shot("2_called_up")
    ui.tap("pay")
    ui.tap("cash")
    ui.type_digits("pin_pad", "20")
    ui.tap("confirm")
    ui.settle()
    assert ui.screen.name == "receipt", ui.screen.message
    assert any(e.type == SALE_COMPLETED for e in kiosk.members.history(member))
    assert kiosk.parking.waiting() == []
