"""Voice prompts at the customer's steps: the screens ask for them and the voice thread speaks them, in the language
ui.voice picks (playback is recorded here instead of played: the CI machine has no sound card)."""
from __future__ import annotations

import time

from kiosk.demo.seed import DEMO_MEMBERS, seed
from kiosk.ui.main import demo_settings
from kiosk.ui.voice import Voice


def test_the_four_customer_steps_are_spoken_in_the_configured_language(make_ui, kiosk, monkeypatch):
    spoken: list[tuple[str, str]] = []
    monkeypatch.setattr(Voice, "speak", lambda self, prompt, lang: spoken.append((prompt, lang)))
    seed(kiosk)
    _phone, _name, _b, _card, pin, _sv = DEMO_MEMBERS[0]

    def heard(prompt: str) -> None:
        deadline = time.monotonic() + 5
        while (not spoken or spoken[-1][0] != prompt) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert spoken and spoken[-1] == (prompt, "en"), spoken

    ui = make_ui(kiosk, **demo_settings(), voice="en")  # English though the screen shows Chinese
    heard("tap_card")
    ui.tap_demo(f"{DEMO_MEMBERS[0][1]} 的卡")
    ui.until(lambda: ui.screen.name == "member" and ui.screen.member is not None, "the member screen")
    ui.tap("checkout")
    ui.settle()
    heard("scan_items")
    ui.tap_demo("绿茶 500ml")
    ui.settle()
    ui.tap("pay")
    ui.settle()
    heard("pay")
    ui.tap("stored_value")
    ui.type_digits("pin_pad", pin)
    ui.tap("confirm")
    ui.settle()
    assert ui.screen.name == "receipt", ui.screen.message
    heard("take_receipt")
