"""The appliance's window: on SDL's kmsdrm driver a plain window the size of the display's preferred mode (a
full-screen-desktop window stayed black in the QEMU boot of the image); under a window system, "auto"."""
from __future__ import annotations

from pathlib import Path

from kiosk.ui.boot import SCREEN_SIZE, kms_display_size, window_mode


def connector(drm: Path, name: str, status: str, modes: str) -> None:
    path = drm / name
    path.mkdir(parents=True)
    (path / "status").write_text(status + "\n")
    (path / "modes").write_text(modes)


def test_the_first_connected_display_gives_its_preferred_mode(tmp_path: Path) -> None:
    connector(tmp_path, "card0-HDMI-A-1", "disconnected", "")
    connector(tmp_path, "card0-HDMI-A-2", "connected", "1024x600\n800x480\n")
    (tmp_path / "card0").mkdir()  # the card itself has no status
    assert kms_display_size(tmp_path) == (1024, 600)


def test_no_display_or_an_unreadable_mode_gives_none(tmp_path: Path) -> None:
    assert kms_display_size(tmp_path) is None
    connector(tmp_path, "card0-DSI-1", "connected", "")
    connector(tmp_path, "card1-Virtual-1", "connected", "garbage\n")
    assert kms_display_size(tmp_path) is None


def test_kmsdrm_gets_a_plain_window_of_the_display_size() -> None:
    assert window_mode(True, "kmsdrm", SCREEN_SIZE, (1280, 800)) == ("0", (1280, 800))
    assert window_mode(True, "kmsdrm", SCREEN_SIZE, None) == ("0", SCREEN_SIZE)


def test_a_window_system_fills_the_desktop_and_a_window_keeps_its_size() -> None:
    assert window_mode(True, None, SCREEN_SIZE, (1280, 800)) == ("auto", SCREEN_SIZE)
    assert window_mode(True, "x11", SCREEN_SIZE, None) == ("auto", SCREEN_SIZE)
    assert window_mode(False, "kmsdrm", (800, 600), (1280, 800)) == ("0", (800, 600))
