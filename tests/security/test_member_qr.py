"""Issue 9, "a dynamic member QR": the e-card code is signed for the minute it is shown and refused two minutes on.

The old code was 'MK1:<member>:<crc>': a photo of it identified the member forever. The new one is an HMAC (the
kiosk's `qr` key) over the member number and the minute; the scanner path accepts it that minute and the next.
"""
from __future__ import annotations

import pytest

from core.barcodes import (CODE128_MAX, ExpiredMemberCode, InvalidBarcode, WINDOW_MS, classify, member_code,
                           member_of_code)
from kiosk.demo.seed import DEMO_MEMBERS, seed
from tests.conftest import T0

KEY = bytes(range(32))
MEMBER = "k1-000123"


def test_a_fresh_code_is_accepted_this_minute_and_the_next() -> None:
    start = T0 - T0 % WINDOW_MS  # the first millisecond of a minute
    code = member_code(MEMBER, KEY, start)
    assert classify(code).kind == "member" and MEMBER in code and len(code) <= CODE128_MAX
    for later in (0, 1, WINDOW_MS - 1, WINDOW_MS, 2 * WINDOW_MS - 1):
        assert member_of_code(code, KEY, start + later) == MEMBER
    assert member_code(MEMBER, KEY, start + WINDOW_MS) != code  # refreshed every minute


@pytest.mark.parametrize("age_ms", [2 * WINDOW_MS, 10 * WINDOW_MS, 255 * WINDOW_MS])
def test_a_code_two_minutes_old_is_refused_as_expired(age_ms) -> None:
    shown = T0 - T0 % WINDOW_MS + WINDOW_MS - 1  # the last millisecond of its minute: the latest it can be shown
    code = member_code(MEMBER, KEY, shown)
    with pytest.raises(ExpiredMemberCode, match="this member code has expired, refresh it on the member screen"):
        member_of_code(code, KEY, shown + age_ms)


def test_forged_codes_are_refused() -> None:
    code = member_code(MEMBER, KEY, T0)
    prefix, member, tag, mac = code.split(":")
    other_mac = member_code("k1-000124", KEY, T0).split(":")[3]
    forged = [
        member_code(MEMBER, bytes(32), T0),  # made with another key (another kiosk, or a guessed one)
        f"{prefix}:k1-000124:{tag}:{mac}",  # someone else's number under this member's signature
        f"{prefix}:{member}:{tag}:{other_mac}",  # this member's number under someone else's signature
        f"{prefix}:{member}:{int(tag, 16) ^ 1:02X}:{mac}",  # the minute moved to extend its life
        f"{prefix}:{member}:{tag}:{'A' * 13}",
    ]
    for code in forged:
        with pytest.raises(InvalidBarcode, match="not genuine") as refused:
            member_of_code(code, KEY, T0)
        assert not isinstance(refused.value, ExpiredMemberCode)


def test_the_old_static_code_no_longer_identifies_anyone() -> None:
    with pytest.raises(InvalidBarcode, match="old member code"):
        classify("MK1:k1-000123:4F2A")


def test_the_kiosk_signs_with_its_qr_key_kept_outside_the_data_dir(kiosk, clock, key_dir) -> None:
    seed(kiosk)
    member = kiosk.members.by_card(DEMO_MEMBERS[0][3]).member.member_id
    code = kiosk.member_codes.current(member)
    assert (key_dir / "qr.key").stat().st_size == 32 and not list(kiosk.data_dir.rglob("qr.key"))
    assert member_of_code(code, (key_dir / "qr.key").read_bytes(), clock()) == member
    clock.advance(WINDOW_MS)
    assert kiosk.member_codes.member_of(code) == member
    clock.advance(WINDOW_MS)
    with pytest.raises(ExpiredMemberCode):
        kiosk.member_codes.member_of(code)

# The member screen and the scanner path through the running UI: tests/ui/test_ecard.py (it needs the UI's conftest).
