"""The member e-card on the screen (issue 9, a dynamic member QR): refreshed each minute, refused by the scanner
path once two minutes old, with words that tell the member what to do."""
from __future__ import annotations

import re

from core.barcodes import WINDOW_MS
from kiosk.demo.seed import DEMO_MEMBERS, seed
from kiosk.ui.main import demo_settings


def test_the_member_screen_refreshes_the_code_and_the_scanner_refuses_a_stale_one(make_ui, kiosk, clock) -> None:
    seed(kiosk)
    _phone, name, _b, card, _pin, _sv = DEMO_MEMBERS[0]
    member = kiosk.members.by_card(card).member.member_id
    ui = make_ui(kiosk, **demo_settings())
    ui.tap_demo(f"{name} 的卡")
    ui.until(lambda: ui.screen.name == "member" and ui.screen.member is not None, "the member screen")
    shown = ui.until(lambda: ui.screen.ecard, "the e-card code")
    assert ui.widget("ecard").data == shown and kiosk.member_codes.member_of(shown) == member
    clock.advance(WINDOW_MS)
    refreshed = ui.until(lambda: ui.screen.ecard != shown and ui.screen.ecard, "the code of the next minute")
    assert ui.widget("ecard").data == refreshed
    ui.shot("1_ecard")

    ui.tap_text("首页")
    ui.settle()
    clock.advance(WINDOW_MS)  # `shown` is now two minutes old, `refreshed` one
    scanner = ui.app.devices.simulator("scanner")
    scanner.scan(shown)
    ui.until(lambda: ui.shows("会员码已过期"), "the expired-code message")
    assert ui.screen.member is None
    ui.shot("2_expired")
    scanner.scan(refreshed)
    ui.until(lambda: ui.screen.name == "member" and ui.screen.member is not None, "the member from a fresh code")
    assert ui.screen.member.member.member_id == member
    assert re.fullmatch(r"MK2:[^:]+:[0-9A-F]{2}:[A-Z2-7]{13}", refreshed)
