"""core.barcodes: check digits, our QR payloads, refusal of control characters and over-long codes."""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.barcodes import Barcode, InvalidBarcode, classify, coupon_payload, ean_check_digit, member_code, member_of_code

KEY, NOW = b"k" * 32, 1_795_000_000_000


@pytest.mark.parametrize("code, symbology", [
    ("4006381333931", "ean13"), ("6901234567892", "ean13"), ("96385074", "ean8"), ("036000291452", "upca"),
])
def test_real_world_codes(code, symbology):
    assert classify(code) == Barcode(code, symbology, "product")


@given(st.sampled_from([7, 11, 12]).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n)),
       st.data())
def test_every_single_digit_error_is_caught(body, data):
    code = body + str(ean_check_digit(body))
    assert classify(code).kind == "product"
    pos = data.draw(st.integers(0, len(code) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != code[pos]]))
    with pytest.raises(InvalidBarcode, match="wrong check digit"):
        classify(code[:pos] + wrong + code[pos + 1:])


def test_member_and_coupon_payloads_round_trip():
    member = classify(member_code("M000123", KEY, NOW))
    assert (member.kind, member.symbology) == ("member", "member_qr")
    assert member_of_code(member.code, KEY, NOW) == "M000123"
    kiosk_member = member_code("kiosk-03.store_7-000042", KEY, NOW)
    assert len(kiosk_member) <= 48 and member_of_code(kiosk_member, KEY, NOW) == "kiosk-03.store_7-000042"
    coupon = classify(coupon_payload("C2026-88"))
    assert (coupon.kind, coupon.payload_id) == ("coupon", "C2026-88")


@pytest.mark.parametrize("code, words", [
    ("MKC1:C2026-89:" + coupon_payload("C2026-88")[-4:], "failed its check"),
    ("MKC1:C 01:0000", "malformed"),
    ("MK2:M 01:00:AAAAAAAAAAAAA", "malformed"),
    ("MK2:M000123:0G:AAAAAAAAAAAAA", "malformed"),
    ("MK1:M000123:4F2A", "old member code"),
    ("", "empty"),
    ("ABC\x1b[2J", "control characters (0x1B)"),
    ("12\x00", "control characters (0x00)"),
    ("A\x7f", "0x7F"),
    ("商品", "characters no product barcode has"),
    ("X" * 49, "longer than 48"),
])
def test_refusals(code, words):
    with pytest.raises(InvalidBarcode, match=re.escape(words)):
        classify(code)


def test_code128_free_text_within_the_limit():
    assert classify("SKU-0042/red") == Barcode("SKU-0042/red", "code128", "product")
    assert classify("X" * 10, max_len=10).symbology == "code128"
