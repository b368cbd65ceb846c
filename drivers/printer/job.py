"""A receipt as the bytes of one ESC/POS job, with Chinese printed right.

python-escpos's magic encoder sends GB18030 only for strings holding CJK ideographs (U+4E00-U+9FA5) and
turns strings of only full-width symbols (￥12.00, （VIP）) into '?'. It also never switches the printer into
Chinese (double-byte) mode. So we encode every line ourselves: ESC @ resets, ESC t 0 picks the single-byte
table for ASCII, FS & turns on the double-byte mode in which Chinese thermal printers read GB18030/GBK
pairs, and each line goes out as GB18030. Characters outside GBK (4-byte GB18030) have no glyph in printer
fonts and become '?', logged. python-escpos still builds the QR and cut commands (its Dummy printer).
"""
from __future__ import annotations

import logging

from core.receipt import WIDTH_58MM, Receipt, center, layout

log = logging.getLogger(__name__)

ESC, GS, FS, LF = b"\x1b", b"\x1d", b"\x1c", b"\n"
INIT = ESC + b"@"
SINGLE_BYTE_TABLE = ESC + b"t\x00"  # PC437 for the ASCII half
CHINESE_ON = FS + b"&"
CHINESE_OFF = FS + b"."
ALIGN_LEFT, ALIGN_CENTER = ESC + b"a\x00", ESC + b"a\x01"
BOLD_ON, BOLD_OFF = ESC + b"E\x01", ESC + b"E\x00"
QR_CAPTION = "会员电子卡 扫码查积分"
_SUBSTITUTES = {"¥": "￥", "\u00a0": " "}  # half-width yen is 4 bytes in GB18030; printers only have the full-width one


def encode_text(text: str) -> bytes:
    """`text` as GB18030 bytes a Chinese-mode printer prints: ASCII single-byte, the rest as GBK pairs."""
    out = bytearray()
    for ch in text:
        ch = _SUBSTITUTES.get(ch, ch)
        data = ch.encode("gb18030")
        if len(data) == 4 or (len(data) == 1 and ord(ch) < 0x20):
            log.warning("receipt character %r (U+%04X) has no printer glyph; printed as '?'", ch, ord(ch))
            data = b"?"
        out += data
    return bytes(out)


def qr_commands(payload: str, size: int = 6) -> bytes:
    """GS ( k commands that store `payload` in the printer's QR symbol memory and print it (model 2, ECC M)."""
    from escpos.constants import QR_ECLEVEL_M
    from escpos.printer import Dummy

    builder = Dummy()
    builder.qr(payload, ec=QR_ECLEVEL_M, size=size, native=True)
    return builder.output


def cut_commands() -> bytes:
    """Feed past the cutter and cut."""
    from escpos.printer import Dummy

    builder = Dummy()
    builder.cut()
    return builder.output


def receipt_job(receipt: Receipt, width: int = WIDTH_58MM, reprint: bool = False) -> bytes:
    """The whole receipt as one job: text lines, the member e-card QR, then the cut."""
    lines = layout(receipt, width)
    if reprint:
        lines.insert(0, center("*** 重印 REPRINT ***", width))
    return lines_job(lines, receipt.qr_payload)


def lines_job(lines: list[str], qr_payload: str | None = None) -> bytes:
    """Text lines as one job, the first in bold, with an e-card QR when given, then the cut."""
    job = bytearray(INIT + SINGLE_BYTE_TABLE + CHINESE_ON + ALIGN_LEFT)
    job += BOLD_ON + encode_text(lines[0]) + BOLD_OFF + LF
    for line in lines[1:]:
        job += encode_text(line) + LF
    if qr_payload:
        job += ALIGN_CENTER + qr_commands(qr_payload) + LF + encode_text(QR_CAPTION) + LF + ALIGN_LEFT
    job += cut_commands()
    return bytes(job)
