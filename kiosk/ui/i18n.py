"""Message catalogs (zh_CN, en) switchable at run time; screens never hold literal user-facing text."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from core.errors import Conflict, ConsentRequired, InsufficientBalance, InvalidInput, KioskError, NotFound

LANGS = ("zh_CN", "en")
DEFAULT_LANG = "zh_CN"
_LOCALE = Path(__file__).with_name("locale")

# Error classes a customer can meet, to the catalog key that tells them what to do next (most specific first).
_ERROR_KEYS: list[tuple[str, str]] = [
    ("PinLocked", "error.pin_locked"),
    ("WrongPin", "error.wrong_pin"),
    ("CardBlocked", "error.card_blocked"),
    ("ExpiredMemberCode", "error.member_code_expired"),
    ("InvalidPhone", "error.bad_phone"),
    ("InvalidCardUid", "error.bad_card"),
    ("UnknownProduct", "error.unknown_product"),
    ("TierReserved", "error.tier_reserved"),
    ("CouponRejected", "error.coupon"),
    ("RedemptionRejected", "error.redemption"),
    ("NotAllowed", "error.not_allowed"),
    ("StoreNearlyFull", "error.storage_full"),
]
_ERROR_BASES: list[tuple[type, str]] = [
    (ConsentRequired, "error.consent"),
    (Conflict, "error.conflict"),
    (NotFound, "error.not_found"),
    (InsufficientBalance, "error.insufficient"),
    (InvalidInput, "error.invalid"),
    (KioskError, "error.generic"),
]


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    """The messages of one language, read once from locale/<lang>.json."""
    return json.loads((_LOCALE / f"{lang}.json").read_text(encoding="utf-8"))


def other(lang: str) -> str:
    """The next language in LANGS (the switch button's target)."""
    return LANGS[(LANGS.index(lang) + 1) % len(LANGS)]


def translate(lang: str, key: str, **fmt: object) -> str:
    """The message for `key` in `lang` (English, then the key itself, when missing), formatted with `fmt`."""
    text = catalog(lang).get(key) or catalog("en").get(key) or key
    return text.format(**fmt) if fmt else text


def error_text(lang: str, exc: BaseException) -> str:
    """What to tell a person about a failed action: the specific advice when we have it, and the detail."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    key = next((k for name, k in _ERROR_KEYS if name in names), None)
    if key is None:
        key = next((k for base, k in _ERROR_BASES if isinstance(exc, base)), "error.unexpected")
    detail = str(exc) if isinstance(exc, KioskError) else ""
    return translate(lang, key, detail=detail)
