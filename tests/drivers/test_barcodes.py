"""core.barcodes: check digits, our QR payloads, refusal of control characters and over-long codes."""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.barcodes import Barcode, InvalidBarcode, classify, coupon_payload, ean_check_digit, member_payload


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
    member = classify(member_payload("M000123"))
    assert (member.kind, member.symbology, member.payload_id) == ("member", "member_qr", "M000123")
    kiosk_member = classify(member_payload("kiosk-03.store_7-000042"))
    assert kiosk_member.payload_id == "kiosk-03.store_7-000042"
    coupon = classify(coupon_payload("C2026-88"))
    assert (coupon.kind, coupon.payload_id) == ("coupon", "C2026-88")


@pytest.mark.parametrize("code, words", [
    ("MK1:M000124:" + member_payload("M000123")[-4:], "failed its check"),
    ("MK1:M 01:0000", "malformed"),
    ("MK1:M000123:abcd", "malformed"),
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
