"""What a scanned code is: a product (EAN-13/EAN-8/UPC-A/Code 128), our member e-card QR, our coupon, or a
fleet enrolment token (a long signed QR that only a kiosk's enrol screen reads: mqtt/fleet/enrol.py checks it).

Pure validation shared by every scanner driver, so a keyboard-wedge and a serial scanner refuse the same
bad scans with the same words. The coupon QR carries a 4-hex-digit CRC so a misread is caught; it is not a
secret. The member e-card QR is a short-lived signed code, as WeChat's and Alipay's member codes are: an HMAC
over the member number and the minute it was shown, accepted that minute and the next, so a photo of it stops
working within two minutes. The key and the time are passed in (the kiosk's `qr` key, its clock).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import zlib
from dataclasses import dataclass

from core.errors import InvalidInput

CODE128_MAX = 48  # longest free-text code we accept; longer is a misread or an attack
MEMBER_PREFIX = "MK2"  # the signed, minute-fresh member code
LEGACY_MEMBER_PREFIX = "MK1"  # the static member code of old screens and receipts: identified anyone forever
COUPON_PREFIX = "MKC1"
ENROL_PREFIX = "MKE1"  # a fleet enrolment token: "MKE1:" + base64url of its compressed, signed JSON
ENROL_MAX = 2953  # the most bytes one QR code holds (version 40, level L): the longest scan a scanner buffers
WINDOW_MS = 60_000  # a member code is made for one minute and accepted in that minute and the next
_TAG = 256  # the code names its minute modulo this, enough to tell "expired" from "forged" for four hours
# Member ids are "<kiosk id>-<counter>" and kiosk ids are host names, so ids may hold a-z, '.', '_' (<= 64).
_IDENT = r"[0-9A-Za-z._-]{1,64}"
_ENROL = re.compile(rf"^{ENROL_PREFIX}:[A-Za-z0-9_-]{{16,{ENROL_MAX - len(ENROL_PREFIX) - 1}}}$")
_COUPON = re.compile(rf"^({COUPON_PREFIX}):({_IDENT}):([0-9A-F]{{4}})$")
_MEMBER = re.compile(rf"^{MEMBER_PREFIX}:({_IDENT}):([0-9A-F]{{2}}):([A-Z2-7]{{13}})$")
_EAN_LENGTHS = {13: "ean13", 8: "ean8", 12: "upca"}
_NAMES = {"ean13": "EAN-13", "ean8": "EAN-8", "upca": "UPC-A"}


class InvalidBarcode(InvalidInput):
    """A scan that must not be used; the message tells the cashier what to do."""


class ExpiredMemberCode(InvalidBarcode):
    """A genuine member e-card code shown more than a minute ago (or a photo of one)."""


@dataclass(frozen=True)
class Barcode:
    """A validated scan: the code, its symbology and what it identifies."""

    code: str
    symbology: str  # ean13 | ean8 | upca | code128 | member_qr | coupon | enrol_qr
    kind: str  # product | member | coupon | enrolment

    @property
    def payload_id(self) -> str:
        """The coupon code inside our coupon QR (the code itself otherwise). A member code gives up its member
        only to member_of_code, which checks that it is fresh and signed."""
        match = _COUPON.match(self.code)
        return match.group(2) if match else self.code


def too_long(max_len: int) -> str:
    """The one wording for an over-long scan, whichever scanner saw it."""
    return f"scan refused: longer than {max_len} characters; scan again"


def line_limit(start: str, max_len: int = CODE128_MAX) -> int:
    """How long a scan that begins with `start` may grow before a scanner refuses it: an enrolment token is long."""
    return ENROL_MAX if start.startswith(f"{ENROL_PREFIX}:") else max_len


def ean_check_digit(body: str) -> int:
    """GS1 check digit for the digits before it (12 for EAN-13, 7 for EAN-8, 11 for UPC-A)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def _check(prefix: str, ident: str) -> str:
    return f"{zlib.crc32(f'{prefix}:{ident}'.encode()) & 0xFFFF:04X}"


def _mac(key: bytes, member_no: str, window: int) -> str:
    digest = hmac.new(key, f"{MEMBER_PREFIX}:{member_no}:{window}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:8]).decode().rstrip("=")  # 64 bits: guesses can only be tried at the scanner


def member_code(member_no: str, key: bytes, now_ms: int) -> str:
    """The member e-card QR text for the minute of `now_ms`, e.g. 'MK2:k1-000123:7A:MFRGGZDFMZTWQ'."""
    window = now_ms // WINDOW_MS
    text = f"{MEMBER_PREFIX}:{member_no}:{window % _TAG:02X}:{_mac(key, member_no, window)}"
    if not _MEMBER.match(text):
        raise InvalidInput(f"'{member_no}' cannot go into a QR code: use 1-64 letters, digits, '.', '_' or '-'")
    return text


def member_of_code(code: str, key: bytes, now_ms: int) -> str:
    """The member number in a member code signed with `key` this minute or the last; ExpiredMemberCode for an
    older genuine one, InvalidBarcode for a forged or damaged one."""
    match = _MEMBER.match(code)
    if not match:
        raise InvalidBarcode("this member code is malformed; refresh it on the member screen")
    member_no, tag, mac = match.groups()
    now_window = now_ms // WINDOW_MS
    window = now_window - (now_window - int(tag, 16)) % _TAG  # the latest minute with this tag, not after now
    if not hmac.compare_digest(_mac(key, member_no, window), mac):
        raise InvalidBarcode("this member code is not genuine (or long expired); ask for the member's card")
    if now_window - window > 1:
        raise ExpiredMemberCode("this member code has expired, refresh it on the member screen")
    return member_no


def coupon_payload(coupon_code: str) -> str:
    """The coupon QR text, e.g. 'MKC1:C2026-88:09B1'."""
    text = f"{COUPON_PREFIX}:{coupon_code}:{_check(COUPON_PREFIX, coupon_code)}"
    if not _COUPON.match(text):
        raise InvalidInput(f"'{coupon_code}' cannot go into a QR code: use 1-64 letters, digits, '.', '_' or '-'")
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
    if code.startswith(f"{MEMBER_PREFIX}:"):
        if not _MEMBER.match(code):
            raise InvalidBarcode("this member code is malformed; refresh it on the member screen")
        return Barcode(code, "member_qr", "member")
    if code.startswith(f"{LEGACY_MEMBER_PREFIX}:"):
        raise InvalidBarcode("this is an old member code that no longer works; show the e-card on the member screen "
                             "or tap the member card")
    if code.startswith(f"{COUPON_PREFIX}:"):
        return _coupon(code)
    if code.startswith(f"{ENROL_PREFIX}:"):
        if not _ENROL.match(code):
            raise InvalidBarcode("this enrolment QR code is damaged or cut short; scan it again, or print a new one")
        return Barcode(code, "enrol_qr", "enrolment")
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


def _coupon(code: str) -> Barcode:
    match = _COUPON.match(code)
    if not match:
        raise InvalidBarcode("this memberkiosk coupon QR code is malformed; ask for the coupon again")
    prefix, ident, check = match.groups()
    if _check(prefix, ident) != check:
        raise InvalidBarcode("this memberkiosk QR code failed its check; scan again or ask for the card")
    return Barcode(code, "coupon", "coupon")
