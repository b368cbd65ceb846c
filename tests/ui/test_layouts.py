"""Every main screen in landscape and portrait, normal and large type: buttons fit and stay 9 mm; screenshots."""
from __future__ import annotations

import pytest

from kiosk.demo.seed import DEMO_MEMBERS, seed
from kiosk.ui.main import demo_settings

ZHANG = DEMO_MEMBERS[0]


@pytest.mark.parametrize("size", [(1024, 600), (600, 1024)], ids=["landscape", "portrait"])
@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_screens_fit(make_ui, kiosk, size, large):
    seed(kiosk)
    ui = make_ui(kiosk, size=size, **demo_settings())
    if large:
        ui.tap_text("A+")
    ui.assert_fits()
    ui.shot("attract")
    ui.tap("register")
    ui.tap("agree")
    ui.assert_fits()
    ui.shot("register_phone")
    ui.app.reset()
    ui.tap_demo(f"{ZHANG[1]} 的卡")
    ui.until(lambda: ui.screen.name == "member" and ui.screen.member is not None, "the member screen")
    ui.assert_fits()
    ui.shot("member")
    ui.tap("checkout")
    for product in ("绿茶 500ml", "苹果 1kg"):
        ui.tap_demo(product)
        ui.settle()
    ui.assert_fits()
    ui.shot("checkout")
    ui.tap("pay")
    ui.settle()
    ui.tap("stored_value")
    ui.assert_fits()
    ui.shot("pay")
