"""A receipt as a PNG, drawn cell by cell like a thermal printer so a person can check layout and Chinese."""
from __future__ import annotations

from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from core.receipt import Receipt, center, char_width, layout
from drivers.printer.job import QR_CAPTION
from kiosk.fonts import find_cjk_font

CELL_W, LINE_H, MARGIN = 12, 30, 16  # a 58 mm head has 384 dots for 32 cells: 12 dots per half-width cell


def render(receipt: Receipt, width: int, reprint: bool = False) -> Image.Image:
    """The receipt as a grayscale image; every character sits in its printer cell (CJK in two)."""
    lines = layout(receipt, width)
    if reprint:
        lines.insert(0, center("*** 重印 REPRINT ***", width))
    font = ImageFont.truetype(str(find_cjk_font()), 22)
    qr = _qr(receipt.qr_payload) if receipt.qr_payload else None
    tail = (qr.height + LINE_H * 2) if qr else 0
    img = Image.new("L", (width * CELL_W + 2 * MARGIN, len(lines) * LINE_H + tail + 2 * MARGIN), 255)
    draw = ImageDraw.Draw(img)
    for row, line in enumerate(lines):
        _draw_line(draw, font, line, MARGIN + row * LINE_H)
    if qr is not None:
        top = MARGIN + len(lines) * LINE_H + LINE_H // 2
        img.paste(qr, ((img.width - qr.width) // 2, top))
        _draw_line(draw, font, center(QR_CAPTION, width), top + qr.height + 4)
    return img


def _draw_line(draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont, line: str, y: int) -> None:
    x = MARGIN
    for ch in line:
        cells = char_width(ch) * CELL_W
        if ch != " ":
            glyph = draw.textlength(ch, font=font)
            draw.text((x + (cells - glyph) / 2, y), ch, font=font, fill=0)
        x += cells


def _qr(payload: str) -> Image.Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=6, border=2)
    code.add_data(payload)
    code.make(fit=True)
    return code.make_image().get_image().convert("L")


def save_preview(receipt: Receipt, width: int, path: Path, reprint: bool = False) -> Path:
    """Render and write a PNG; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    render(receipt, width, reprint).save(path, "PNG")
    return path
