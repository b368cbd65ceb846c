"""The receipt of a committed sale and its text layout: pure, so printer, preview and tests share one truth.

Widths are counted in printer cells: a CJK ideograph or full-width symbol takes two cells on a thermal
printer in Chinese mode, ASCII one. Ambiguous-width characters (×, ·, —) are counted as two because
Chinese printers print them from the double-byte GB18030 font.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import asdict, dataclass, field

from core.money import format_fen

WIDTH_58MM = 32
WIDTH_80MM = 48
YUAN = "￥"  # the full-width sign: GB2312 has no half-width ¥, so printers print this one


@dataclass(frozen=True)
class ReceiptLine:
    """One sold item; `amount` is the committed line total in fen after member price and discount."""

    name: str
    qty: int
    unit_price: int
    amount: int
    member_price: int | None = None
    discount: int = 0


@dataclass(frozen=True)
class Tender:
    """One way the customer paid (现金, 储值, 积分抵扣, 代金券, 微信...) and how much, in fen."""

    name: str
    amount: int


@dataclass(frozen=True)
class Receipt:
    """Everything a receipt shows, taken from a committed sale; amounts in fen, time as given by the caller."""

    store_name: str
    sale_no: str
    time: dt.datetime
    lines: tuple[ReceiptLine, ...]
    subtotal: int
    discount_total: int
    total: int
    tenders: tuple[Tender, ...] = ()
    change: int = 0
    store_info: tuple[str, ...] = ()  # address, phone, licence lines under the name
    cashier: str | None = None
    member_no: str | None = None
    tier: str | None = None
    phone_masked: str | None = None  # already masked (core.members.mask_phone): 138****8000
    points_earned: int | None = None
    points_balance: int | None = None
    stored_value_balance: int | None = None
    qr_payload: str | None = None  # a code printed under the receipt; never the member e-card, which expires in minutes
    footer: tuple[str, ...] = field(default_factory=tuple)


def char_width(ch: str) -> int:
    """Printer cells one character takes: 2 for wide/full-width/ambiguous, 0 for combining marks."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 1


def text_width(text: str) -> int:
    """Printer cells a string takes."""
    return sum(char_width(ch) for ch in text)


def fit(text: str, width: int) -> str:
    """`text` cut to at most `width` cells, never splitting a double-width character."""
    out, used = [], 0
    for ch in text:
        w = char_width(ch)
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "".join(out)


def wrap(text: str, width: int) -> list[str]:
    """`text` broken into lines of at most `width` cells (CJK has no spaces, so break anywhere)."""
    lines: list[str] = []
    while text:
        part = fit(text, width) or text[0]
        rest = text[len(part):]
        if rest and rest[0].isascii() and rest[0].isalnum() and part[-1].isascii() and " " in part.strip():
            part = part[: part.rstrip().rindex(" ") + 1]  # do not cut an English word in two
        lines.append(part.rstrip())
        text = text[len(part):].lstrip(" ")
    return lines or [""]


def ljust(text: str, width: int) -> str:
    """Pad on the right to `width` cells."""
    return text + " " * max(0, width - text_width(text))


def rjust(text: str, width: int) -> str:
    """Pad on the left to `width` cells."""
    return " " * max(0, width - text_width(text)) + text


def center(text: str, width: int) -> str:
    """Centre in `width` cells (the extra cell, if any, goes right)."""
    pad = max(0, width - text_width(text))
    return " " * (pad // 2) + text + " " * (pad - pad // 2)


def pair(label: str, value: str, width: int) -> str:
    """Label on the left and value on the right of one line; the label is cut if both cannot fit."""
    label = fit(label, max(0, width - text_width(value) - 1))
    return label + " " * max(1, width - text_width(label) - text_width(value)) + value


def pair_lines(label: str, value: str, width: int) -> list[str]:
    """Like pair, but a value too long to share the line (a UUID sale number) goes under its label, wrapped."""
    if text_width(label) + 1 + text_width(value) <= width:
        return [pair(label, value, width)]
    return [label] + [rjust(part, width) for part in wrap(value, width)]


def yuan(fen: int) -> str:
    """An amount as the receipt shows it: ￥12.30, -￥1.00."""
    return format_fen(fen, YUAN)


def _plain(fen: int) -> str:
    return format_fen(fen, "")


def _item(line: ReceiptLine, width: int) -> list[str]:
    # Numbers sit in fixed right-hand columns; a name that does not fit beside them gets its own line(s).
    numbers = rjust(str(line.qty), 4) + rjust(_plain(line.unit_price), 9) + rjust(_plain(line.amount), 10)
    name_cells = width - text_width(numbers)
    out = []
    if text_width(line.name) <= name_cells:
        out.append(ljust(line.name, name_cells) + numbers)
    else:
        out.extend(wrap(line.name, width))
        out.append(rjust(numbers, width))
    if line.member_price is not None and line.member_price != line.unit_price:
        out.append(pair("  会员价", _plain(line.member_price), width))
    if line.discount:
        out.append(pair("  优惠", _plain(-line.discount), width))
    return out


def _member(r: Receipt, width: int) -> list[str]:
    if r.member_no is None and r.phone_masked is None:
        return []
    out = ["-" * width]
    who = " ".join(x for x in (r.phone_masked, r.tier) if x)
    out.append(pair("会员", who, width))
    if r.member_no:
        out += pair_lines("会员号", r.member_no, width)
    if r.points_earned is not None:
        out.append(pair("本次积分", f"+{r.points_earned}", width))
    if r.points_balance is not None:
        out.append(pair("积分余额", str(r.points_balance), width))
    if r.stored_value_balance is not None:
        out.append(pair("储值余额", yuan(r.stored_value_balance), width))
    return out


def layout(r: Receipt, width: int = WIDTH_58MM) -> list[str]:
    """The receipt as text lines of at most `width` cells; the QR code (r.qr_payload) prints after them."""
    rule = "-" * width
    out = [center(part, width) for part in wrap(r.store_name, width)]
    out += [center(part, width) for info in r.store_info for part in wrap(info, width)]
    out += [rule, *pair_lines("单号", r.sale_no, width), pair("时间", r.time.strftime("%Y-%m-%d %H:%M:%S"), width)]
    if r.cashier:
        out += pair_lines("收银员", r.cashier, width)
    header = rjust("数量", 4) + rjust("单价", 9) + rjust("金额", 10)
    out += [rule, ljust("商品", width - text_width(header)) + header]
    for line in r.lines:
        out += _item(line, width)
    out += [rule, pair("合计", yuan(r.subtotal), width)]
    if r.discount_total:
        out.append(pair("优惠", yuan(-r.discount_total), width))
    out.append(pair("应付", yuan(r.total), width))
    out += [pair(t.name, yuan(t.amount), width) for t in r.tenders]
    if r.change:
        out.append(pair("找零", yuan(r.change), width))
    out += _member(r, width)
    if r.footer:
        out.append(rule)
        out += [center(part, width) for text in r.footer for part in wrap(text, width)]
    return out


def to_dict(r: Receipt) -> dict:
    """A JSON-ready dict of the receipt (the print queue stores it so a reprint shows the same thing)."""
    d = asdict(r)
    d["time"] = r.time.isoformat()
    return d


def from_dict(d: dict) -> Receipt:
    """The receipt back from to_dict's output."""
    fields = dict(d)
    fields["time"] = dt.datetime.fromisoformat(d["time"])
    fields["lines"] = tuple(ReceiptLine(**line) for line in d["lines"])
    fields["tenders"] = tuple(Tender(**t) for t in d["tenders"])
    fields["store_info"] = tuple(d["store_info"])
    fields["footer"] = tuple(d["footer"])
    return Receipt(**fields)
