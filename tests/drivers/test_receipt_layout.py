"""core.receipt layout: CJK counted double width, columns aligned on 58 mm and 80 mm paper."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.receipt import from_dict, layout, text_width, to_dict, wrap
from tests.drivers.receipts import sample_receipt


@pytest.mark.parametrize("width", [32, 48])
def test_every_line_fits_and_amounts_share_a_right_edge(width):
    lines = layout(sample_receipt(), width)
    assert all(text_width(line) <= width for line in lines)
    money = [line for line in lines if line.rstrip().endswith((".00", ".80", ".20"))]
    assert len(money) >= 8 and all(text_width(line) == width for line in money)


def test_58mm_receipt_reads_right():
    lines = layout(sample_receipt(), 32)
    assert lines[0].strip() == "鲜果时光便利店" and text_width(lines[0]) == 32
    for expected in ("合计                     ￥49.80", "优惠                     -￥2.00",
                     "应付                     ￥47.80", "找零                      ￥2.20",
                     "会员            138****8000 金卡", "储值余额                 ￥60.00",
                     "（VIP）     1    30.00     30.00", "            2     3.50      6.00"):
        assert expected in lines
    assert "138****8000" in "\n".join(lines) and "13800138000" not in "\n".join(lines)


def test_long_name_gets_its_own_line_and_words_are_not_cut():
    assert wrap("Organic Bananas premium family pack", 32) == ["Organic Bananas premium family", "pack"]
    assert wrap("洗车" * 10, 32) == ["洗车" * 8, "洗车" * 2]


def test_long_sale_number_goes_under_its_label():
    from dataclasses import replace
    lines = layout(replace(sample_receipt(), sale_no="01a207ca-147d-73e1-ba29-15796c7a3f00"), 32)
    at = lines.index("单号")
    assert lines[at + 1:at + 3] == ["01a207ca-147d-73e1-ba29-15796c7a", "                            3f00"]


def test_receipt_round_trips_through_json_form():
    r = sample_receipt()
    assert from_dict(to_dict(r)) == r


_names = st.text(alphabet="可乐洗车会员（）￥·×ABCxyz 0123-", min_size=1, max_size=40)
_ids = st.text(alphabet="0123456789abcdef-", min_size=1, max_size=70)


@given(st.lists(st.tuples(_names, st.integers(1, 999), st.integers(0, 10**7)), min_size=1, max_size=6),
       st.sampled_from([32, 48]), _names, _ids, _ids)
def test_any_receipt_fits_its_paper(items, width, store, sale_no, member_no):
    from dataclasses import replace
    from core.receipt import ReceiptLine
    lines = tuple(ReceiptLine(name, qty, price, qty * price) for name, qty, price in items)
    total = sum(line.amount for line in lines)
    receipt = replace(sample_receipt(), store_name=store, lines=lines, subtotal=total, total=total,
                      sale_no=sale_no, member_no=member_no, cashier=store)
    assert all(text_width(line) <= width for line in layout(receipt, width))
