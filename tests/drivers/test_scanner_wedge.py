"""Keyboard-wedge decoding from real evdev InputEvent sequences, and the device-opening path with a fake device."""
from __future__ import annotations

import errno
import os
import time
from typing import Any

from evdev import InputEvent
from hypothesis import given
from hypothesis import strategies as st
from evdev import ecodes as e

from core.barcodes import member_code
from drivers.events import DeviceHealth, Scanned, ScanRejected
from drivers.scanner.keymap import KEYMAP
from drivers.scanner.wedge import CRAFTED, INCOMPLETE, Broken, Line, WedgeDecoder, WedgeScanner
from tests.drivers.conftest import wait_until

# character -> (key code, needs shift), from the main keyboard block (keypad keys only where nothing else types it)
_KEY_FOR: dict[str, tuple[int, bool]] = {}
for _code, _pair in sorted(KEYMAP.items(), key=lambda kv: e.KEY[kv[0]].startswith("KEY_KP")):
    for _i, _ch in enumerate(_pair):
        _KEY_FOR.setdefault(_ch, (_code, _i == 1))


def ev(t: float, code: int, value: int, type_: int = e.EV_KEY) -> InputEvent:
    sec = int(t)
    return InputEvent(sec, int(round((t - sec) * 1e6)), type_, code, value)


def typed(text: str, t0: float = 1000.0, gap: float = 0.004, enter: bool = True) -> list[InputEvent]:
    """What a scanner sends for `text`: MSC scan codes, shift around capitals, key down/up, SYN reports."""
    out, t = [], t0
    for ch in text:
        code, shifted = _KEY_FOR[ch]
        if shifted:
            out.append(ev(t, e.KEY_LEFTSHIFT, 1))
        out += [ev(t, 4, 0x70004, e.EV_MSC), ev(t, code, 1), ev(t, 0, 0, e.EV_SYN), ev(t + 0.001, code, 0)]
        if shifted:
            out.append(ev(t + 0.001, e.KEY_LEFTSHIFT, 0))
        t += gap
    if enter:
        out += [ev(t, e.KEY_ENTER, 1), ev(t + 0.001, e.KEY_ENTER, 0)]
    return out


def decode(events: list[InputEvent], dec: WedgeDecoder | None = None) -> list[Any]:
    dec = dec or WedgeDecoder()
    return [r for x in events for r in dec.feed(x)]


def test_digits_letters_and_shifted_symbols():
    assert decode(typed("6901234567892")) == [Line("6901234567892")]
    assert decode(typed("MK1:M000123:6B84")) == [Line("MK1:M000123:6B84")]
    assert decode(typed("Ab-_{}|~?")) == [Line("Ab-_{}|~?")]


def test_keypad_digits_and_keypad_enter():
    events = [ev(1.0 + i * 0.003, code, v) for i, code in enumerate([e.KEY_KP4, e.KEY_KP0, e.KEY_KP1]) for v in (1, 0)]
    events.append(ev(1.02, e.KEY_KPENTER, 1))
    assert decode(events) == [Line("401")]


def test_two_scans_back_to_back():
    events = typed("96385074", t0=10.0) + typed("036000291452", t0=10.5)
    assert decode(events) == [Line("96385074"), Line("036000291452")]


def test_partial_scan_then_a_full_one_refuses_the_partial_and_keeps_the_full():
    events = typed("690123", t0=5.0, enter=False) + typed("4006381333931", t0=6.0)
    assert decode(events) == [Broken(INCOMPLETE), Line("4006381333931")]


def test_partial_scan_is_refused_when_the_device_goes_idle():
    dec = WedgeDecoder()
    assert decode(typed("690123", t0=5.0, enter=False), dec) == []
    assert dec.expire(5.03) == []  # still within a burst
    assert dec.expire(5.2) == [Broken(INCOMPLETE)]
    assert decode(typed("96385074", t0=6.0), dec) == [Line("96385074")]


def test_slow_human_typing_is_dropped_quietly():
    assert decode(typed("12", gap=0.2)) == []


def test_interleaved_noise_events_do_not_disturb_a_scan():
    events = typed("96385074")
    noisy = []
    for i, x in enumerate(events):
        noisy.append(x)
        noisy.append(ev(x.timestamp(), e.LED_NUML, i % 2, e.EV_LED))
        noisy.append(ev(x.timestamp(), e.KEY_A, 2))  # autorepeat is never a new character
    assert decode(noisy) == [Line("96385074")]


def test_ctrl_held_inside_a_scan_refuses_it_whole():
    events = typed("123", t0=1.0, enter=False) + [ev(1.013, e.KEY_LEFTCTRL, 1), ev(1.014, e.KEY_R, 1),
                                                 ev(1.015, e.KEY_R, 0), ev(1.016, e.KEY_LEFTCTRL, 0)]
    events += typed("45", t0=1.02)
    assert decode(events) == [Broken(CRAFTED)]


def test_non_character_key_refuses_the_scan():
    events = typed("12", t0=1.0, enter=False) + [ev(1.009, e.KEY_F4, 1)] + typed("3", t0=1.012)
    [result] = decode(events)
    assert isinstance(result, Broken) and "KEY_F4" in result.reason


def test_too_long_scan_is_refused():
    [result] = decode(typed("A" * 60))
    assert isinstance(result, Broken) and "longer than 48" in result.reason


class FakeDevice:
    """Stands in for evdev.InputDevice: a pipe makes select() work; read() hands out queued events."""

    def __init__(self, name: str = "Honeywell 1900 Scanner"):
        self.name, self.path = name, "/dev/input/event7"
        self._r, self._w = os.pipe()
        self.queue: list[InputEvent] = []
        self.grabbed = self.closed = self.unplugged = False

    def fileno(self) -> int:
        return self._r

    def push(self, events: list[InputEvent]) -> None:
        self.queue += events
        os.write(self._w, b"x")

    def unplug(self) -> None:
        self.unplugged = True
        os.write(self._w, b"x")

    def read(self) -> list[InputEvent]:
        os.read(self._r, 1)
        if self.unplugged:
            raise OSError(errno.ENODEV, "No such device")
        events, self.queue = self.queue, []
        return events

    def grab(self) -> None:
        self.grabbed = True

    def close(self) -> None:
        self.closed = True
        os.close(self._r)
        os.close(self._w)


def test_scanner_opens_grabs_emits_and_reopens_after_unplug(sink):
    devices = [FakeDevice(), FakeDevice()]
    opened: list[str] = []

    def opener(spec: str) -> FakeDevice:
        opened.append(spec)
        if len(opened) == 1:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory")
        return devices[len(opened) - 2]

    beeps: list[int] = []
    scanner = WedgeScanner(sink, "Honeywell", opener=opener, retry_s=0.01, beep=lambda: beeps.append(1))
    scanner.start()
    try:
        sink.wait(DeviceHealth, where=lambda h: h.state == "gone" and "not found" in h.reason)
        wait_until(lambda: scanner.health().state == "ok", 5, "scanner health ok")
        assert devices[0].grabbed
        now = time.time()
        ecard = member_code("M000123", b"k" * 32, 1_795_000_000_000)
        devices[0].push(typed(ecard, t0=now))
        devices[0].push(typed("4006381333930", t0=now + 0.2))  # wrong check digit
        assert sink.wait(Scanned)[0] == Scanned(ecard, "member_qr", "member", "scanner")
        assert "check digit" in sink.wait(ScanRejected)[0].reason and beeps == [1]
        devices[0].unplug()
        sink.wait(DeviceHealth, where=lambda h: h.state == "gone" and "unplugged" in h.reason)
        wait_until(lambda: devices[1].grabbed and scanner.health().state == "ok", 5, "scanner reopened")
        assert devices[0].closed
        devices[1].push(typed("96385074", t0=time.time()))
        assert sink.wait(Scanned, 2)[1].code == "96385074"
    finally:
        scanner.stop()
    assert opened == ["Honeywell"] * 3


@given(st.text(alphabet=sorted(_KEY_FOR), min_size=1, max_size=48),
       st.floats(0.001, 0.04), st.floats(1.0, 1e6))
def test_any_burst_of_typable_text_decodes_exactly(text, gap, t0):
    assert decode(typed(text, t0=t0, gap=gap)) == [Line(text)]
