"""Events the drivers emit on their one callback: what the hardware saw, never what it means for a sale."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Union

HealthState = Literal["ok", "degraded", "gone"]
ScanKind = Literal["product", "member", "coupon", "enrolment"]


@dataclass(frozen=True)
class CardTapped:
    """A card arrived on the reader; `member_no` is set when the card carries our member application."""

    uid: str
    member_no: str | None
    reader: str = ""


@dataclass(frozen=True)
class CardRemoved:
    """The card that was on the reader left it (uid is None when it could not be read)."""

    uid: str | None
    reader: str = ""


@dataclass(frozen=True)
class UnknownCard:
    """A card is on the reader but could not be identified; `code` is for programs, `reason` for people."""

    code: str  # no_uid | bad_status | short_response | bad_member_file | comm_error
    reason: str
    uid: str | None = None
    atr: str = ""
    reader: str = ""


@dataclass(frozen=True)
class Scanned:
    """A complete, validated barcode."""

    code: str
    symbology: str  # ean13 | ean8 | upca | code128 | member_qr | coupon | enrol_qr
    kind: ScanKind
    device: str = ""


@dataclass(frozen=True)
class ScanRejected:
    """A scan that was refused, with the reason a cashier can act on (rescan, type the number)."""

    reason: str
    device: str = ""


@dataclass(frozen=True)
class DeviceHealth:
    """A device's health changed: ok, degraded (works, with a problem) or gone (cannot be used)."""

    device: str
    state: HealthState
    reason: str = ""


DeviceEvent = Union[CardTapped, CardRemoved, UnknownCard, Scanned, ScanRejected, DeviceHealth]
OnEvent = Callable[[DeviceEvent], None]
