"""`memberkiosk demo` wiring: the seeded members' cards on the demo panel open their screens."""
from __future__ import annotations

from kiosk.demo.seed import DEMO_MEMBERS, seed
from kiosk.ui.main import demo_settings


def test_demo_panel_taps_a_seeded_card(make_ui, kiosk):
    seed(kiosk)
    ui = make_ui(kiosk, **demo_settings())
    ui.shot("1_attract")
    phone, name, *_ = DEMO_MEMBERS[1]
    ui.tap_demo(f"{name} 的卡")
    ui.until(lambda: ui.screen.name == "member" and ui.screen.member is not None, "the member screen")
    ui.settle()
    assert ui.shows(f"{name}，您好") and ui.shows(phone[:3] + "****" + phone[-4:])
    ui.shot("2_member")
