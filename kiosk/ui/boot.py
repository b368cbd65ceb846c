"""Kivy's process-wide settings: they must be in place before the first `import kivy`, which reads them."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

# Taken when the UI package is first imported, before Kivy: the nearest point to process start our code sees.
PROCESS_T0 = time.perf_counter()

# A 7" 1024x600 panel is the target; touch targets of 9 mm on it are 60 px (1186 px diagonal / 7 in = 169 ppi).
SCREEN_SIZE = (1024, 600)
MIN_TOUCH_PX = 60


def configure(kivy_home: Path, *, fullscreen: bool, size: tuple[int, int] = SCREEN_SIZE) -> None:
    """Keep Kivy off sys.argv and ~/.kivy, stop Esc from quitting, size the window, before kivy is imported."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_HOME", str(kivy_home))
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "MIXED")
    # SDL would turn SIGTERM into a window-close request, which the lock-down refuses: let the app handle it.
    os.environ.setdefault("SDL_NO_SIGNAL_HANDLERS", "1")
    if fullscreen:
        # With the input grabbed (KioskApp.on_start) the window manager's Alt+Tab reaches the app, which ignores it.
        os.environ.setdefault("SDL_GRAB_KEYBOARD", "1")
    Path(os.environ["KIVY_HOME"]).mkdir(parents=True, exist_ok=True)
    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "keyboard_mode", "system")
    configure_input(Config, touchscreen=fullscreen)
    mode, size = window_mode(fullscreen, os.environ.get("SDL_VIDEODRIVER"), size, kms_display_size())
    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "fullscreen", mode)
    Config.set("graphics", "borderless", "1" if fullscreen else "0")
    register_cjk_font()


def window_mode(fullscreen: bool, video_driver: str | None, size: tuple[int, int],
                display: tuple[int, int] | None) -> tuple[str, tuple[int, int]]:
    """Kivy's `fullscreen` setting and window size.

    On the appliance (SDL's kmsdrm driver, no window system) a full-screen-desktop window stays black: SDL2 flips
    buffers Kivy never drew (found booting the image in QEMU). There a plain window the size of the display's
    mode fills the screen just the same, so it is used instead; under a window system "auto" fills the desktop.
    """
    if not fullscreen:
        return "0", size
    if video_driver == "kmsdrm":
        return "0", display or size
    return "auto", size


def kms_display_size(drm: Path = Path("/sys/class/drm")) -> tuple[int, int] | None:
    """The preferred mode (the first listed) of the first connected display, from the kernel's DRM connectors."""
    for connector in sorted(drm.glob("card*-*")):
        try:
            if (connector / "status").read_text().strip() != "connected":
                continue
            first = (connector / "modes").read_text().split()
        except OSError:
            continue
        if first:
            width, _, height = first[0].partition("x")
            if width.isdigit() and height.isdigit():
                return int(width), int(height)
    return None


def configure_input(config: Any, *, touchscreen: bool) -> None:
    """Kivy's [input] providers: the mouse always; on the appliance (full screen) also its touch panel, through mtdev.

    Kivy's own default probes every /dev/input device, which a technician's laptop may not let us open (a
    traceback in the log) and which would also open the barcode scanner, a keyboard. `select_all=0` keeps to
    devices with multitouch axes (ABS_MT_POSITION_X), the touch panel; `disable_on_activity` ignores the pointer
    the display server makes from the same touches, so a tap is not counted twice.
    """
    for option in config.options("input"):
        config.remove_option("input", option)
    if touchscreen:
        config.set("input", "mouse", "mouse,multitouch_on_demand,disable_on_activity")
        config.set("input", "touchscreen_%(name)s", "probesysfs,provider=mtdev,select_all=0")
    else:
        config.set("input", "mouse", "mouse,multitouch_on_demand")


def register_cjk_font() -> str:
    """Make the CJK font Kivy's default, so every Label renders Chinese (Roboto has no CJK glyphs)."""
    from kivy.core.text import DEFAULT_FONT, LabelBase

    from kiosk.fonts import find_cjk_font

    path = str(find_cjk_font())
    LabelBase.register(DEFAULT_FONT, path, path, path, path)
    return path
