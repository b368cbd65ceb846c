"""Our member card's APDU dialogue, pure: commands, status words, and the member file layout.

A member card answers PC/SC GET DATA (FF CA 00 00 00) with its UID. A card issued by us also carries the
memberkiosk application, selected by MEMBER_AID; its current file holds the member number:

    offset 0      format version, 0x01
    offset 1      n, the member number's length (1..MEMBER_NO_MAX)
    offset 2..    the member number, n ASCII characters from [0-9A-Za-z._-]
    offset 2+n    CRC-16/CCITT-FALSE over bytes 0..2+n, big-endian (2 bytes)

Cards without our application (6A82 on SELECT) are identified by UID alone.
"""
from __future__ import annotations

import re
from typing import Callable

# Proprietary AID (first nibble F: not registered with ISO), "MKIOSK" and the application version.
MEMBER_AID = bytes.fromhex("F04D4B494F534B01")
MEMBER_FILE_VERSION = 1
MEMBER_NO_MAX = 64  # member ids are "<kiosk id>-<counter>", kiosk ids are host names
_MEMBER_NO = re.compile(r"^[0-9A-Za-z._-]{1,%d}$" % MEMBER_NO_MAX)

GET_UID = bytes.fromhex("FFCA000000")
SELECT_MEMBER_APP = bytes([0x00, 0xA4, 0x04, 0x00, len(MEMBER_AID)]) + MEMBER_AID + b"\x00"
READ_MEMBER_FILE = bytes.fromhex("00B0000000")
SW_OK = 0x9000
SW_NOT_FOUND = (0x6A82, 0x6A81, 0x6D00, 0x6E00)  # no such application / function / instruction / class

Transmit = Callable[[bytes], bytes]

_SW_TEXT = {
    0x6281: "data may be corrupted",
    0x6700: "wrong length",
    0x6982: "security status not satisfied",
    0x6985: "conditions of use not satisfied",
    0x6A81: "function not supported",
    0x6A82: "file or application not found",
    0x6A86: "wrong parameters",
    0x6D00: "instruction not supported",
    0x6E00: "class not supported",
    0x6F00: "card error, no precise diagnosis",
}


class CardReadError(Exception):
    """A card answered in a way we cannot use; `code` classifies it for the UnknownCard event."""

    def __init__(self, code: str, reason: str, sw: int | None = None):
        super().__init__(reason)
        self.code = code
        self.sw = sw


def describe_sw(sw: int) -> str:
    """'6982 security status not satisfied' for logs and people."""
    return f"{sw:04X} {_SW_TEXT.get(sw, 'unexpected status')}".strip()


def split_response(resp: bytes, what: str) -> tuple[bytes, int]:
    """Data and status word of a response; fewer than two bytes is a specific error."""
    if not resp:  # what a reader reports when the card left the field mid-command
        raise CardReadError("comm_error", f"{what}: no answer from the card; hold it still and tap again")
    if len(resp) < 2:
        raise CardReadError("short_response", f"{what}: the card answered {len(resp)} byte(s), too short for a status word")
    return resp[:-2], int.from_bytes(resp[-2:], "big")


def exchange(transmit: Transmit, apdu: bytes, what: str) -> tuple[bytes, int]:
    """Send one command, following 61xx (more data: GET RESPONSE) and 6Cxx (wrong Le: resend with Le=xx)."""
    data, sw = split_response(transmit(apdu), what)
    for _ in range(8):  # bounded: a card that keeps asking is broken
        if sw >> 8 == 0x6C:
            data, sw = split_response(transmit(apdu[:-1] + bytes([sw & 0xFF])), what)
        elif sw >> 8 == 0x61:
            more, sw = split_response(transmit(bytes([apdu[0] & 0x03, 0xC0, 0, 0, sw & 0xFF])), what)
            data += more
        else:
            return data, sw
    raise CardReadError("bad_status", f"{what}: the card kept asking to resend ({describe_sw(sw)})", sw)


def read_uid(transmit: Transmit) -> str:
    """The card's UID as upper-case hex; a card that will not tell gives CardReadError('no_uid')."""
    data, sw = exchange(transmit, GET_UID, "GET DATA (UID)")
    if sw != SW_OK:
        code = "no_uid" if sw in SW_NOT_FOUND else "bad_status"
        raise CardReadError(code, f"the card gave no UID: {describe_sw(sw)}", sw)
    if len(data) not in (4, 7, 10):
        raise CardReadError("short_response", f"the card's UID has {len(data)} bytes; expected 4, 7 or 10")
    return data.hex().upper()


def read_member_no(transmit: Transmit) -> str | None:
    """The member number from our application, or None when the card does not carry it."""
    _, sw = exchange(transmit, SELECT_MEMBER_APP, "SELECT member application")
    if sw in SW_NOT_FOUND:
        return None
    if sw != SW_OK:
        raise CardReadError("bad_status", f"selecting the member application failed: {describe_sw(sw)}", sw)
    data, sw = exchange(transmit, READ_MEMBER_FILE, "READ BINARY member file")
    if sw != SW_OK:
        raise CardReadError("bad_status", f"reading the member file failed: {describe_sw(sw)}", sw)
    return decode_member_file(data)


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), as card personalisation tools compute it."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = (crc << 1 ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def encode_member_file(member_no: str) -> bytes:
    """The member file to write on a card we issue."""
    if not _MEMBER_NO.match(member_no):
        raise ValueError(f"member number {member_no!r} must be 1-{MEMBER_NO_MAX} letters, digits, '.', '_' or '-'")
    body = bytes([MEMBER_FILE_VERSION, len(member_no)]) + member_no.encode("ascii")
    return body + crc16(body).to_bytes(2, "big")


def decode_member_file(data: bytes) -> str:
    """The member number in a member file; anything malformed is CardReadError('bad_member_file')."""
    def bad(why: str) -> CardReadError:
        return CardReadError("bad_member_file", f"the member file on the card is damaged ({why}); reissue the card")

    if len(data) < 2 or data[0] != MEMBER_FILE_VERSION:
        raise bad("unknown format" if data else "empty")
    n = data[1]
    if len(data) < 4 + n:
        raise bad(f"{len(data)} bytes, expected {4 + n}")
    body, crc = data[: 2 + n], int.from_bytes(data[2 + n: 4 + n], "big")
    if crc16(body) != crc:
        raise bad("checksum mismatch")
    member_no = body[2:].decode("ascii", errors="replace")
    if not _MEMBER_NO.match(member_no):
        raise bad("invalid characters")
    return member_no
