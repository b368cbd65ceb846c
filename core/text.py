"""What typed text may hold: numbers in 0-9 only (full-width folded), names without control characters.

Numbers (phones, amounts, quantities) go through NFKC first, so a Chinese input method left in full-width mode
(`１３８００１３８０００`, `５０`, `＋８６`, `￥`) gives the same value as the ASCII keys. Digits of other scripts
(Arabic-Indic `٥`, Devanagari `१२`) are refused rather than read: no one at a Chinese till types them, `٥` looks
like a zero, and Python's `int()` and `\\d` would otherwise quietly accept them as 5 and 12.
"""
from __future__ import annotations

import unicodedata

from core.errors import InvalidInput

NAME_MAX = 40  # characters; a 58 mm receipt line holds 16 Chinese characters, so this is already generous
_INVISIBLE = ("Cc", "Cf", "Cs", "Co")  # control, format (bidi overrides, zero-width), surrogate, private use


def fold_number(text: str, what: str, error: type[InvalidInput] = InvalidInput) -> str:
    """`text` in NFKC with every digit in 0-9; other scripts' digits raise `error` naming `what`."""
    folded = unicodedata.normalize("NFKC", text)
    foreign = sorted({c for c in folded if c.isdigit() and not c.isascii()})
    if foreign:
        shown = ", ".join(f"{c} ({unicodedata.name(c, hex(ord(c)))})" for c in foreign)
        raise error(f"{what} '{text}' has digits other than 0-9: {shown}; type it with 0-9")
    return folded


def parse_count(text: str, what: str, error: type[InvalidInput] = InvalidInput) -> int:
    """A whole number of things (a quantity, points) typed as 0-9 or full-width digits."""
    folded = fold_number(text, what, error).strip()
    if not (folded.isascii() and folded.isdigit()):
        raise error(f"{what} '{text}' is not a whole number (for example 2)")
    return int(folded)


def check_name(text: str, what: str, max_len: int = NAME_MAX) -> str:
    """A name stripped and in NFC, refused when empty, longer than `max_len` or holding control characters."""
    name = unicodedata.normalize("NFC", text.strip())
    bad = sorted({c for c in name if unicodedata.category(c) in _INVISIBLE})
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad)
        raise InvalidInput(f"{what} contains control or invisible characters ({shown}); type it again as plain text")
    if not name:
        raise InvalidInput(f"{what} is empty")
    if len(name) > max_len:
        raise InvalidInput(f"{what} is {len(name)} characters long; at most {max_len} are allowed")
    return name
