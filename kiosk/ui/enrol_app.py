"""The app of a kiosk that has no identity yet: one screen that enrols it from a QR code read by its own scanner.

`memberkiosk kiosk` runs it instead of the selling app when no kiosk id is configured and the data directory is
new (kiosk/cli/run.py). Enrolment itself is handed in as a call (mqtt/fleet/enrol_kiosk.py, which the UI layer
does not import); once it succeeds the app quits with `enrolled` set and the command starts again as that kiosk.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Mapping

from kivy.factory import Factory

from drivers.events import DeviceHealth
from drivers.factory import build
from kiosk.ui import widgets  # noqa: F401  (registers the widgets widgets.kv names)
from kiosk.ui.app import load_kv_once
from kiosk.ui.devices import DeviceBridge
from kiosk.ui.shell import ShellApp
from kiosk.ui.tasks import Tasks

log = logging.getLogger(__name__)
_HERE = Path(__file__).parent
SCREEN = "enrol"
SIM_SCANNER: dict[str, Any] = {"type": "sim"}


def scanner_config(devices: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The configured scanner (by name or `kind`), else the simulator."""
    for name, cfg in devices.items():
        if cfg.get("kind", name) == "scanner":
            return {"name": name, **{k: v for k, v in cfg.items() if k != "kind"}}
    return dict(SIM_SCANNER)


class EnrolApp(ShellApp):
    """One screen, the scanner, and the call that enrols; `enrolled` is what that call returned, once it did."""

    def __init__(self, enrol: Callable[[str], Any], scanner: Mapping[str, Any] = SIM_SCANNER,
                 store_name: str = "memberkiosk", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.enrol, self.enrolled = enrol, None
        self.store_name = self.title = store_name
        self.tasks = Tasks()
        self.scanner = build("scanner", scanner, DeviceBridge(self.on_device_event).post)

    def build(self) -> Any:
        """A screen manager holding the enrol screen."""
        load_kv_once(_HERE / "widgets.kv")
        load_kv_once(_HERE / "screens" / f"{SCREEN}.kv")
        from kiosk.ui.screens.enrol import EnrolScreen

        root = Factory.EnrolRoot()
        root.add_widget(EnrolScreen(name=SCREEN))
        return root

    def on_start(self) -> None:
        """Lock down, show the screen and start listening to the scanner."""
        self.lock_down()
        self.current.enter()
        self.scanner.start()

    def on_stop(self) -> None:
        """Stop the scanner and let a running enrolment finish."""
        self.release()
        self.scanner.stop()
        self.tasks.shutdown()

    @property
    def current(self) -> Any:
        """The screen on show."""
        return self.root.current_screen

    def reset(self) -> None:
        """Home, from the top bar: the enrol screen again, cleared."""
        self.current.enter()

    def on_device_event(self, event: Any, _arrived: float) -> None:
        """Scans go to the screen; health is only logged (there is no staff status screen yet)."""
        if isinstance(event, DeviceHealth):
            log.info("scanner: %s %s", event.state, event.reason)
        else:
            self.current.on_device(event, _arrived)

    def finish(self, enrolled: Any) -> None:
        """Enrolment is done: quit, so the command starts again as the enrolled kiosk."""
        self.enrolled = enrolled
        self.quit_now()
