"""Member identity rules: phone numbers, card UIDs, birthdays and what a member record holds."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from core.errors import InvalidCardUid, InvalidInput, InvalidPhone
from core.text import check_name, fold_number

# Mainland China mobile numbers: 11 digits starting 13-19; an optional +86 / 86 prefix is accepted.
_PHONE = re.compile(r"^(?:\+?86)?(1[3-9][0-9]{9})$")
_UID = re.compile(r"^[0-9A-F]+$")
_UID_BYTES = (4, 7, 10)  # ISO 14443 single, double and triple size UIDs
GENDERS = ("F", "M")


@dataclass(frozen=True)
class Member:
    """A member's record. Personal fields are None after erasure; member_id and the ledger stay."""

    member_id: str
    phone: str | None
    name: str | None
    birthday: dt.date | None
    gender: str | None
    consent_at: int | None  # ms since epoch when the member agreed to data use
    created_at: int
    erased_at: int | None = None
    marketing_consent_at: int | None = None  # ms when the member agreed to marketing messages (None: not agreed)


def normalize_phone(text: str) -> str:
    """The 11-digit mobile number in `text` (spaces and dashes allowed, full-width folded), or InvalidPhone."""
    digits = re.sub(r"[\s-]", "", fold_number(text, "phone", InvalidPhone))
    match = _PHONE.match(digits)
    if not match:
        raise InvalidPhone(f"'{text}' is not a mainland China mobile number (11 digits starting with 13-19)")
    return match.group(1)


def normalize_name(text: str | None) -> str | None:
    """A member's name checked for control characters and length; blank means no name."""
    return check_name(text, "the member's name") if text and text.strip() else None


def mask_phone(phone: str | None) -> str:
    """Show a phone as 138****8000 so a screen or receipt never reveals it whole."""
    if not phone:
        return "—"
    return phone[:3] + "****" + phone[-4:]


def normalize_uid(text: str) -> str:
    """A card UID as upper-case hex without separators, or InvalidCardUid."""
    uid = re.sub(r"[\s:-]", "", text).upper()
    if not _UID.match(uid) or len(uid) % 2 or len(uid) // 2 not in _UID_BYTES:
        raise InvalidCardUid(f"'{text}' is not a card UID (4, 7 or 10 bytes of hex, for example 04A1B2C3)")
    return uid


def parse_birthday(text: str, today: dt.date) -> dt.date:
    """A YYYY-MM-DD birthday that is not in the future and not more than 130 years ago."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"birthday '{text}' is not a date like 1990-05-17") from None
    if day > today or day.year < today.year - 130:
        raise InvalidInput(f"birthday {day} is not plausible")
    return day


def normalize_gender(text: str) -> str:
    """'F' or 'M' from the common ways of writing it (女/男 included)."""
    value = {"女": "F", "男": "M", "FEMALE": "F", "MALE": "M"}.get(text.strip().upper(), text.strip().upper())
    if value not in GENDERS:
        raise InvalidInput(f"gender '{text}' must be F or M")
    return value
