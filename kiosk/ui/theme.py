"""Colours and type sizes for the normal and the high-contrast / large-type looks, chosen on screen."""
from __future__ import annotations

from kiosk.ui.boot import MIN_TOUCH_PX

LARGE_TYPE_SCALE = 1.3

_NORMAL = {
    "bg": (0.96, 0.96, 0.95, 1),
    "panel": (1, 1, 1, 1),
    "text": (0.13, 0.13, 0.15, 1),
    "muted": (0.38, 0.38, 0.42, 1),
    "accent": (0.80, 0.16, 0.16, 1),
    "button": (0.16, 0.36, 0.62, 1),
    "button_text": (1, 1, 1, 1),
    "ok": (0.10, 0.50, 0.25, 1),
    "error": (0.75, 0.10, 0.10, 1),
}
_CONTRAST = {
    "bg": (0, 0, 0, 1),
    "panel": (0.08, 0.08, 0.08, 1),
    "text": (1, 1, 1, 1),
    "muted": (0.92, 0.92, 0.5, 1),
    "accent": (1, 0.85, 0, 1),
    "button": (1, 0.85, 0, 1),
    "button_text": (0, 0, 0, 1),
    "ok": (0.4, 1, 0.4, 1),
    "error": (1, 0.45, 0.45, 1),
}


def colour(name: str, high_contrast: bool) -> tuple[float, float, float, float]:
    """The RGBA of a named colour in the current look."""
    return (_CONTRAST if high_contrast else _NORMAL)[name]


def font_size(base: float, large: bool) -> float:
    """A font size in px, enlarged in the large-type look."""
    return base * LARGE_TYPE_SCALE if large else base


def touch_px(large: bool) -> float:
    """The height of a touch target: never below 9 mm on the 7-inch panel."""
    return font_size(MIN_TOUCH_PX + 8, large)
