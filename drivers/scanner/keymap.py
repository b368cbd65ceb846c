"""US-layout key codes to characters, as keyboard-wedge barcode scanners type them."""
from __future__ import annotations

from evdev import ecodes as e

_ROWS = [
    ("1234567890", [e.KEY_1, e.KEY_2, e.KEY_3, e.KEY_4, e.KEY_5, e.KEY_6, e.KEY_7, e.KEY_8, e.KEY_9, e.KEY_0],
     "!@#$%^&*()"),
    ("-=[];'`\\,./ ", [e.KEY_MINUS, e.KEY_EQUAL, e.KEY_LEFTBRACE, e.KEY_RIGHTBRACE, e.KEY_SEMICOLON,
                      e.KEY_APOSTROPHE, e.KEY_GRAVE, e.KEY_BACKSLASH, e.KEY_COMMA, e.KEY_DOT, e.KEY_SLASH,
                      e.KEY_SPACE], "_+{}:\"~|<>? "),
]

# key code -> (plain, shifted)
KEYMAP: dict[int, tuple[str, str]] = {}
for _plain, _codes, _shifted in _ROWS:
    KEYMAP.update({code: (p, s) for p, code, s in zip(_plain, _codes, _shifted)})
for _letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    KEYMAP[getattr(e, f"KEY_{_letter}")] = (_letter.lower(), _letter)
for _digit in "0123456789":
    KEYMAP[getattr(e, f"KEY_KP{_digit}")] = (_digit, _digit)
KEYMAP.update({e.KEY_KPMINUS: ("-", "-"), e.KEY_KPPLUS: ("+", "+"), e.KEY_KPASTERISK: ("*", "*"),
               e.KEY_KPSLASH: ("/", "/"), e.KEY_KPDOT: (".", ".")})

SHIFT = frozenset({e.KEY_LEFTSHIFT, e.KEY_RIGHTSHIFT})
# Held while a character key is pressed, these turn a scan into a shortcut: a crafted barcode's attack.
MODIFIERS = frozenset({e.KEY_LEFTCTRL, e.KEY_RIGHTCTRL, e.KEY_LEFTALT, e.KEY_RIGHTALT,
                       e.KEY_LEFTMETA, e.KEY_RIGHTMETA})
ENTER = frozenset({e.KEY_ENTER, e.KEY_KPENTER})
