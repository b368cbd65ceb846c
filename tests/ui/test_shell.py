"""The shell without services: attract screen, languages, looks, lock-down, touch sizes, portrait."""
from __future__ import annotations

from kivy.core.window import Window
from kivy.uix.button import Button

from kiosk.ui.boot import MIN_TOUCH_PX
from tests.ui.harness import _walk


def buttons(ui):
    return [w for w in _walk(ui.app.root) if isinstance(w, Button)]


def test_attract_screen_in_chinese_then_english(make_ui, kiosk):
    ui = make_ui(kiosk, store_name="鲜果超市 Fresh Mart")
    assert ui.screen.name == "attract"
    assert ui.shows("请刷卡") and ui.shows("Tap your card") and ui.shows("鲜果超市 Fresh Mart")
    ui.shot("attract_zh")
    ui.tap_text("English")
    assert ui.shows("Tap your card") and ui.shows("Join") and not ui.shows("注册会员")
    ui.shot("attract_en")
    ui.tap_text("中文")
    assert ui.shows("请刷卡")


def test_every_touch_target_is_at_least_9mm(make_ui, kiosk):
    ui = make_ui(kiosk, store_name="鲜果超市")
    for button in buttons(ui):
        assert button.height >= MIN_TOUCH_PX and button.width >= MIN_TOUCH_PX, (button.text, button.size)


def test_large_type_and_high_contrast(make_ui, kiosk):
    ui = make_ui(kiosk, store_name="鲜果超市")
    prompt = ui.widget("prompt")
    normal_size, normal_colour = prompt.font_size, list(prompt.color)
    ui.tap_text("A+")
    ui.tap_text("高对比")
    assert prompt.font_size > normal_size and list(prompt.color) != normal_colour
    ui.shot("attract_large_contrast")


def test_portrait(make_ui, kiosk):
    ui = make_ui(kiosk, store_name="鲜果超市", size=(600, 1024))
    assert ui.shows("请刷卡")
    for button in buttons(ui):
        x, y = button.to_window(*button.pos)
        assert 0 <= x and x + button.width <= 600 and 0 <= y and y + button.height <= 1024, button.text
        assert button.height >= MIN_TOUCH_PX
    ui.shot("attract_portrait")


def test_no_key_or_close_request_leaves_the_kiosk(make_ui, kiosk):
    ui = make_ui(kiosk, store_name="鲜果超市")
    assert Window.dispatch("on_keyboard", 27, 41, None, []) is True  # Esc
    assert Window.dispatch("on_keyboard", 285, 61, None, ["alt"]) is True  # Alt+F4
    assert Window.dispatch("on_keyboard", 9, 43, None, ["alt"]) is True  # Alt+Tab
    assert Window.dispatch("on_request_close") is True  # the window manager's close
    ui.step(2)
    assert ui.app.root.get_root_window() is Window and ui.screen.name == "attract"

