"""Self-registration end to end with touches, then the new card opens the member's screen."""
from __future__ import annotations

import datetime as dt

SIM_CARD = {"card": {"type": "sim"}}  # the demo panel taps cards on the simulated reader

NEW_CARD = "04BEEF01"


def test_register_then_tap_the_new_card(make_ui, kiosk):
    ui = make_ui(kiosk, store_name="鲜果超市", demo=True, devices=SIM_CARD, demo_cards=(("新卡", NEW_CARD),))
    ui.tap("register")
    assert ui.shows("隐私说明") and ui.shows("生日祝福")
    ui.tap("marketing")  # the optional second consent: birthday wishes and offers by SMS
    ui.shot("1_consent")
    ui.tap("agree")

    ui.type_digits("phone_pad", "13700001111")
    assert ui.shows("13700001111")
    ui.shot("2_phone")
    ui.tap("phone_next")
    ui.settle()
    assert ui.screen.step == "name", ui.screen.message

    ui.tap_text("王")
    ui.tap_text("先生")
    ui.shot("3_name")
    ui.tap("name_next")
    ui.tap(ui.widget("year_down10"))
    ui.shot("4_birthday")
    ui.tap("birthday_next")

    ui.type_digits("pin_pad", "246810")
    assert ui.shows("●●●●●●") and not ui.shows("246810")
    ui.shot("5_pin")
    ui.tap("pin_next")
    ui.type_digits("pin_again_pad", "246810")
    ui.tap("pin_again_next")
    ui.settle()
    assert ui.screen.step == "card", ui.screen.message
    ui.shot("6_tap_new_card")

    ui.tap_demo("新卡")
    ui.settle()
    ui.until(lambda: ui.screen.name == "member" and ui.screen.member is not None, "the member screen")
    ui.step(2)
    assert ui.shows("王先生，您好") and ui.shows("137****1111") and not ui.shows("13700001111")
    ui.shot("7_member")

    stored = kiosk.members.by_card(NEW_CARD)
    assert stored.member.phone == "13700001111" and stored.member.name == "王先生"
    assert stored.member.birthday == dt.date(1980, 1, 1) and stored.member.consent_at is not None
    assert stored.member.marketing_consent_at == stored.member.consent_at
    kiosk.members.check_pin(stored.member.member_id, "246810")


def test_registered_phone_offers_lookup(make_ui, kiosk):
    from kiosk.services.members import Registration

    kiosk.members.register(Registration(phone="13800138000", consent=True))
    ui = make_ui(kiosk, store_name="鲜果超市")
    ui.tap("register")
    ui.tap("agree")
    ui.type_digits("phone_pad", "13800138000")
    ui.tap("phone_next")
    ui.settle()
    assert ui.screen.step == "phone" and ui.shows("138****8000") and ui.shows("已注册")
    ui.shot("phone_taken")
    ui.tap("lookup_instead")
    assert ui.screen.name == "phone_lookup"


def test_bad_phone_and_pin_mismatch_say_what_to_do(make_ui, kiosk):
    ui = make_ui(kiosk, store_name="鲜果超市")
    ui.tap("register")
    ui.tap("agree")
    ui.type_digits("phone_pad", "12345")
    ui.tap("phone_next")
    assert ui.shows("请输入11位手机号")
    ui.tap(ui.widget("phone_pad").ids.kclear)
    ui.type_digits("phone_pad", "13600000000")
    ui.tap("phone_next")
    ui.settle()
    ui.tap("name_skip")
    ui.tap("birthday_skip")
    ui.type_digits("pin_pad", "111111")
    ui.tap("pin_next")
    ui.type_digits("pin_again_pad", "222222")
    ui.tap("pin_again_next")
    assert ui.screen.step == "pin" and ui.shows("两次输入的密码不一致")
    ui.shot("pin_mismatch")
