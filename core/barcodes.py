"""What a scanned code is: a product (EAN-13/EAN-8/UPC-A/Code 128), our member e-card QR, or our coupon.

Pure validation shared by every scanner driver, so a keyboard-wedge and a serial scanner refuse the same
bad scans with the same words. Our QR payloads carry a 4-hex-digit CRC so a misread is caught; it is not a
secret (spending still needs the member's PIN or card).
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from core.errors import InvalidInput

CODE128_MAX = 48  # longest free-text code we accept; longer is a misread or an attack
MEMBER_PREFIX = "MK1"
COUPON_PREFIX = "MKC1"
# Member ids are "<kiosk id>-<counter>" and kiosk ids are host names, so ids may hold a-z, '.', '_' (<= 64).
_PAYLOAD = re.compile(r"^(MK1|MKC1):([0-9A-Za-z._-]{1,64}):([0-9A-F]{4})$")
_EAN_LENGTHS = {13: "ean13", 8: "ean8", 12: "upca"}
_NAMES = {"ean13": "EAN-13", "ean8": "EAN-8", "upca": "UPC-A"}


class InvalidBarcode(InvalidInput):
    """A scan that must not be used; the message tells the cashier what to do."""


@dataclass(frozen=True)
class Barcode:
    """A validated scan: the code, its symbology and what it identifies."""

    code: str
    symbology: str  # ean13 | ean8 | upca | code128 | member_qr | coupon
    kind: str  # product | member | coupon

    @property
    def payload_id(self) -> str:
        """The member number or coupon code inside one of our QR payloads (the code itself otherwise)."""
        match = _PAYLOAD.match(self.code)
        return match.group(2) if match else self.code


def too_long(max_len: int) -> str:
    """The one wording for an over-long scan, whichever scanner saw it."""
    return f"scan refused: longer than {max_len} characters; scan again"


def ean_check_digit(body: str) -> int:
    """GS1 check digit for the digits before it (12 for EAN-13, 7 for EAN-8, 11 for UPC-A)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def _check(prefix: str, ident: str) -> str:
    return f"{zlib.crc32(f'{prefix}:{ident}'.encode()) & 0xFFFF:04X}"


def member_payload(member_no: str) -> str:
    """The member e-card QR text, e.g. 'MK1:k1-000123:4F2A'."""
    return _payload(MEMBER_PREFIX, member_no)


def coupon_payload(coupon_code: str) -> str:
    """The coupon QR text, e.g. 'MKC1:C2026-88:09B1'."""
    return _payload(COUPON_PREFIX, coupon_code)


def _payload(prefix: str, ident: str) -> str:
    text = f"{prefix}:{ident}:{_check(prefix, ident)}"
    if not _PAYLOAD.match(text):
        raise InvalidInput(f"'{ident}' cannot go into a QR code: use 1-64 letters, digits, '.', '_' or '-'")
    return text


def classify(code: str, max_len: int = CODE128_MAX) -> Barcode:
    """Validate one complete scan and say what it is; raises InvalidBarcode with an actionable reason."""
    if not code:
        raise InvalidBarcode("empty scan; scan again")
    bad = sorted({f"0x{ord(c):02X}" for c in code if ord(c) < 0x20 or ord(c) == 0x7F})
    if bad:
        raise InvalidBarcode(f"scan refused: it contains control characters ({', '.join(bad)}); "
                             "this barcode may be crafted, do not use it")
    if not code.isascii() or not code.isprintable():
        raise InvalidBarcode("scan refused: it contains characters no product barcode has; scan again")
    if code.startswith(f"{MEMBER_PREFIX}:") or code.startswith(f"{COUPON_PREFIX}:"):
        return _ours(code)
    if code.isdigit() and len(code) in _EAN_LENGTHS:
        symbology = _EAN_LENGTHS[len(code)]
        want = ean_check_digit(code[:-1])
        if int(code[-1]) != want:
            raise InvalidBarcode(f"{_NAMES[symbology]} {code} has a wrong check digit (expected {want}); "
                                 "scan again or type the number")
        return Barcode(code, symbology, "product")
    if len(code) > max_len:
        raise InvalidBarcode(too_long(max_len))
    return Barcode(code, "code128", "product")


def _ours(code: str) -> Barcode:
    match = _PAYLOAD.match(code)
    if not match:
        raise InvalidBarcode("this memberkiosk QR code is malformed; ask the member to refresh their e-card")
    prefix, ident, check = match.groups()
    if _check(prefix, ident) != check:
        raise InvalidBarcode("this memberkiosk QR code failed its check; scan again or ask for the card")
    if prefix == MEMBER_PREFIX:
        return Barcode(code, "member_qr", "member")
    return Barcode(code, "coupon", "coupon")
