"""Run the real Kivy app in this process with no display: SDL renders offscreen through Mesa's EGL (llvmpipe).

Kivy reads its environment at import, so it is set here before anything imports kivy. Xvfb is not needed:
SDL >= 2.26 falls back to its offscreen driver when DISPLAY is unset, and we ask for it outright so a
developer's desktop does not get windows. Set MEMBERKIOSK_UI_VISIBLE=1 to watch the tests on a display.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_KIVY_HOME = tempfile.mkdtemp(prefix="memberkiosk-kivy-")
os.environ["KIVY_NO_ARGS"] = "1"
os.environ["KIVY_HOME"] = _KIVY_HOME
os.environ["KIVY_NO_CONSOLELOG"] = "1"
os.environ["KIVY_NO_FILELOG"] = "1"
os.environ["KIVY_LOG_MODE"] = "PYTHON"
os.environ["KCFG_GRAPHICS_MAXFPS"] = "0"  # tests step the loop themselves: no frame pacing sleeps
if not os.environ.get("MEMBERKIOSK_UI_VISIBLE"):
    os.environ["SDL_VIDEODRIVER"] = "offscreen"

from kiosk.ui import boot  # noqa: E402  (after the environment above)

boot.configure(Path(_KIVY_HOME), fullscreen=False)

from tests.ui.harness import UI, start_window  # noqa: E402

ARTIFACTS = Path(os.environ.get("MEMBERKIOSK_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")) / "ui"


@pytest.fixture(scope="session")
def window():
    """The one Kivy window of the test process, created once (SDL allows one per process)."""
    return start_window()


@pytest.fixture
def shots(request) -> Path:
    """The folder where this test's screenshots go: test-artifacts/ui/<test name>/."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


@pytest.fixture
def make_ui(window, shots):
    """Start the kiosk app on the shared window; the app is stopped and detached after the test."""
    started: list[UI] = []

    def make(kiosk, **settings) -> UI:
        ui = UI.start(kiosk, shots, **settings)
        started.append(ui)
        return ui

    yield make
    for ui in started:
        ui.close()
