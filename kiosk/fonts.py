"""Find a font with Chinese glyphs: the screens and the receipt previews both need one, and Roboto has none."""
from __future__ import annotations

import os
from pathlib import Path

FONT_ENV = "MEMBERKIOSK_CJK_FONT"
# Debian packages that ship CJK fonts, best first (fonts-wqy-microhei is small and covers GB18030's common set).
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


class FontMissing(RuntimeError):
    """No CJK font on this machine; the message says which package to install."""


def find_cjk_font() -> Path:
    """The CJK font to use: $MEMBERKIOSK_CJK_FONT if set, else the first installed candidate."""
    override = os.environ.get(FONT_ENV)
    if override:
        path = Path(override)
        if not path.is_file():
            raise FontMissing(f"{FONT_ENV}={override} is not a font file")
        return path
    for candidate in CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing(f"no Chinese font found; install one (apt-get install fonts-wqy-microhei) or set {FONT_ENV}")
