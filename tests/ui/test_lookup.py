"""Points lookup by card tap and by phone + PIN; the inactivity timeout wipes the member off the screen."""
from __future__ import annotations

import pytest

from kiosk.services.members import Registration
from kiosk.services.topup import top_up
from tests.ui.harness import _walk

SIM_CARD = {"card": {"type": "sim"}}  # the demo panel taps cards on the simulated reader

CARD = "04A1B2C3"


@pytest.fixture
def member(kiosk):
    view = kiosk.members.register(
        Registration(phone="13800138000", consent=True, name="张伟", card=CARD, pin="123456")
    )
    top_up(kiosk.members, view.member.member_id, 50_000)
    return view


def test_card_tap_shows_points_and_stored_value(make_ui, kiosk, member):
    ui = make_ui(kiosk, store_name="鲜果超市", demo=True, devices=SIM_CARD, demo_cards=(("张伟的卡", CARD),))
    ui.tap_demo("张伟的卡")
    ui.until(lambda: ui.screen.name == "member" and ui.screen.member is not None, "the member screen")
    ui.settle()
    assert ui.shows("张伟，您好") and ui.shows("138****8000") and ui.shows("¥500.00")
    assert not any("13800138000" in text for text in ui.texts())
    ui.shot("member_zh")
    ui.tap_text("English")
    assert ui.shows("Hello, 张伟") and ui.shows("Stored value")
    ui.shot("member_en")
    assert ui.app.metrics.samples["tap_to_member"], "tap to member screen was not measured"


def test_phone_and_pin_lookup_and_wrong_pin(make_ui, kiosk, member):
    ui = make_ui(kiosk, store_name="鲜果超市")
    ui.tap("lookup")
    ui.type_digits("pad", "13800138000")
    ui.tap("next")
    ui.type_digits("pad", "000000")
    assert ui.shows("●●●●●●")
    ui.tap("next")
    ui.settle()
    assert ui.screen.name == "phone_lookup" and ui.shows("密码错误")
    ui.shot("wrong_pin")
    ui.type_digits("pad", "123456")
    ui.tap("next")
    ui.settle()
    assert ui.screen.name == "member" and ui.shows("张伟，您好")
    ui.shot("member")


def test_unknown_card_says_so(make_ui, kiosk):
    ui = make_ui(kiosk, store_name="鲜果超市", demo=True, devices=SIM_CARD, demo_cards=(("陌生卡", "04000001"),))
    ui.tap_demo("陌生卡")
    ui.settle()
    assert ui.screen.name == "member" and ui.shows("未找到")
    ui.shot("unknown_card")


def test_timeout_clears_every_trace_of_the_customer(make_ui, kiosk, member):
    # 5 s of idle leaves room for slow frames on a loaded CI machine between the taps below and the assertion
    ui = make_ui(kiosk, store_name="鲜果超市", idle_seconds=5, demo=True, devices=SIM_CARD, demo_cards=(("张伟的卡", CARD),))
    ui.tap_demo("张伟的卡")
    ui.until(lambda: ui.screen.name == "member" and ui.screen.member is not None, "the member screen")
    ui.settle()
    assert ui.shows("138****8000")
    ui.tap_text("English")
    ui.tap_text("A+")
    assert ui.screen.name == "member" and ui.app.large_type  # both set while the customer was there
    shown = ui.screen
    ui.until(lambda: ui.screen.name == "attract", "the inactivity timeout", bound=15)
    ui.step(2)
    everything = [getattr(w, "text", "") for w in _walk(ui.app.root)]
    assert not any("138****8000" in t or "张伟" in t or "¥500.00" in t for t in everything if t != "张伟的卡")
    member_screen = ui.app.root.ids.screens.get_screen("member")
    assert ui.app.lang == "zh_CN" and not ui.app.large_type  # the next customer starts from the defaults
    assert member_screen is not shown and member_screen.member is None and not member_screen.purchases  # a fresh, empty copy
    ui.shot("after_timeout")


def test_lookup_shows_tier_progress_and_expiring_points(make_ui, kiosk, clock):
    from core.events import POINTS_ADJUSTED, EventDraft
    from kiosk.demo.seed import DEMO_MEMBERS, seed
    from kiosk.ui.main import demo_settings

    seed(kiosk)
    _phone, name, _b, card, _pin, _sv = DEMO_MEMBERS[0]
    member = kiosk.members.by_card(card).member.member_id
    clock.advance(-365 * 86_400_000)  # points earned last year expire at the end of this one
    kiosk.members.commit([EventDraft(POINTS_ADJUSTED, member, {"reason": "test"}, {"points": 1200})])
    clock.advance(365 * 86_400_000)
    ui = make_ui(kiosk, **demo_settings())
    ui.tap_demo(f"{name} 的卡")
    ui.until(lambda: ui.screen.name == "member" and ui.screen.member is not None, "the member screen")
    ui.settle()
    assert ui.shows("普通（再消费 ¥1000.00 升级银卡）")
    assert ui.shows("1,200（1200 分将于 2026-12-31 过期）"), ui.texts()
    ui.shot("tier_and_expiry")
