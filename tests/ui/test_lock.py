"""The lock screen: head office's `lock` command (as the fleet agent records it) puts the reason on screen at once,
nothing a customer taps, swipes or scans gets past it, it survives a restart, and `unlock` brings the kiosk back."""
from __future__ import annotations

import uuid

from mqtt.fleet import protocol

SIMS = {"card": {"type": "sim"}, "scanner": {"type": "sim"}}
REASON = "盘点中 stocktaking until 15:00"


def command(kiosk, cmd: str, **change) -> None:
    """Record `cmd` as the fleet agent does once a signed command checked out."""
    now = kiosk.clock.now_ms()
    item = str(uuid.uuid4())
    kiosk.fleet.record_command(item, cmd, now + 60_000, protocol.outcome("command", cmd, True, now, item_id=item),
                               **change)


def test_lock_screen_says_why_and_unlock_brings_the_kiosk_back(make_ui, kiosk) -> None:
    ui = make_ui(kiosk, store_name="鲜果超市", devices=SIMS)
    assert ui.screen.name == "attract"
    command(kiosk, "lock", lock=REASON)
    ui.until(lambda: ui.screen.name == "lock", "the lock screen")
    assert ui.shows("本机已锁定") and ui.shows(REASON)
    ui.shot("1_locked_zh")
    ui.tap_text("English")
    assert ui.shows("This kiosk is locked") and ui.shows(f"Reason: {REASON}")
    ui.shot("2_locked_en")

    ui.app.devices.simulator("scanner").scan("96385074")  # a product
    ui.settle()
    ui.tap_text("Home")
    ui.app.reset()  # as the inactivity timeout does
    ui.settle()
    assert ui.screen.name == "lock" and ui.shows(REASON)

    command(kiosk, "unlock", unlock=True)
    ui.until(lambda: ui.screen.name == "attract", "the attract screen")
    ui.shot("3_unlocked")
    ui.tap("checkout")
    assert ui.screen.name == "checkout"


def test_a_kiosk_locked_before_it_starts_opens_on_the_lock_screen(make_ui, kiosk) -> None:
    command(kiosk, "lock", lock=REASON)
    ui = make_ui(kiosk, store_name="鲜果超市", devices=SIMS)
    assert ui.screen.name == "lock" and ui.shows(REASON)
    ui.assert_fits()
