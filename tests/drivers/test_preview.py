"""Receipt preview PNGs: Chinese glyphs drawn (not tofu), cells aligned, the QR decodable in principle."""
from __future__ import annotations

from pathlib import Path

from PIL import Image

from kiosk.printing.preview import CELL_W, MARGIN, save_preview
from tests.drivers.receipts import sample_receipt

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_preview_png_for_58_and_80_mm():
    for width in (32, 48):
        path = save_preview(sample_receipt(), width, ARTIFACTS / f"receipt-{width}col.png")
        with Image.open(path) as img:
            assert img.width == width * CELL_W + 2 * MARGIN
            assert img.height > 800
            dark = img.convert("L").point(lambda v: 255 if v < 128 else 0).histogram()[255]
        assert dark > 5000  # text and QR were drawn


def test_chinese_glyphs_are_real_not_missing_boxes(tmp_path):
    from PIL import ImageDraw, ImageFont
    from kiosk.fonts import find_cjk_font
    font = ImageFont.truetype(str(find_cjk_font()), 22)
    shapes = set()
    for ch in "鲜果合计￥（":
        img = Image.new("L", (30, 30), 255)
        ImageDraw.Draw(img).text((2, 2), ch, font=font, fill=0)
        shapes.add(img.tobytes())
    assert len(shapes) == 6  # a font without CJK would draw the same .notdef box for each
