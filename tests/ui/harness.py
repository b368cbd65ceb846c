"""Drive the kiosk app like a person: real touches at widget coordinates, the event loop stepped by hand."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterator

from kivy.base import EventLoop, runTouchApp
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.runtime import DeviceRuntime
from kiosk.ui.app import KioskApp, UiSettings
from kiosk.ui.boot import MIN_TOUCH_PX

BOUND_S = 10.0  # no single wait in a UI test may take longer


def start_window() -> Any:
    """Create the window and the input providers once, without entering Kivy's own main loop."""
    runTouchApp(embedded=True)
    return Window


class UI:
    """One running KioskApp and the means to touch it, wait on it and photograph it."""

    def __init__(self, app: KioskApp, shots: Path) -> None:
        self.app, self.shots = app, shots

    @classmethod
    def start(cls, kiosk: Any, shots: Path, size: tuple[int, int] = (1024, 600), devices: Any = None,
              receipt_dir: Path | None = None, **settings: Any) -> "UI":
        """Start the devices as the kiosk command does, then build the app as App.run would, minus the blocking
        loop, and draw its first frames."""
        Window.size = size
        app = KioskApp(kiosk, DeviceRuntime.start(kiosk, devices or {}, receipt_dir), UiSettings(**settings))
        app._run_prepare()
        ui = cls(app, shots)
        ui.until(lambda: tuple(app.root.size) == size, f"the window to become {size}")
        ui.step(2)
        return ui

    def close(self) -> None:
        """Stop the app (devices, worker) and take its widgets off the shared window."""
        self.until(lambda: not self.app.tasks.busy, "background calls to finish")
        self.app.dispatch("on_stop")
        self.app.devices.stop()
        Window.remove_widget(self.app.root)
        self.step()

    # -- time --------------------------------------------------------------------------------------------------
    def step(self, frames: int = 1) -> None:
        """Run the event loop for `frames` frames (clock callbacks, input, layout, drawing)."""
        for _ in range(frames):
            EventLoop.idle()

    def until(self, condition: Callable[[], Any], what: str = "condition", bound: float = BOUND_S) -> Any:
        """Step frames until `condition()` is truthy; fail naming `what` after `bound` seconds."""
        deadline = time.monotonic() + bound
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {bound} s waiting for {what}")
            self.step()

    def settle(self) -> None:
        """Wait until every background service call has reported back and its result is drawn."""
        self.step()  # device events posted from other threads are delivered on the next frame
        self.until(lambda: not self.app.tasks.busy, "background calls to finish")
        self.step(2)

    # -- looking -----------------------------------------------------------------------------------------------
    @property
    def screen(self) -> Any:
        """The screen on show."""
        return self.app.current

    def widget(self, widget_id: str, within: Widget | None = None) -> Widget:
        """The widget with kv id `widget_id` on the current screen (or inside `within`)."""
        for node in _walk(within or self.screen):
            ids = getattr(node, "ids", {})
            if widget_id in ids:
                return ids[widget_id]
        raise AssertionError(f"no widget with id {widget_id!r} on screen {self.screen.name}")

    def widgets_of(self, kind: str) -> list[Widget]:
        """Every widget of a class (by name) on the current screen, for widgets a screen builds without an id."""
        return [w for w in _walk(self.screen) if type(w).__name__ == kind]

    def texts(self, within: Widget | None = None) -> list[str]:
        """Every text shown (labels and buttons) on the current screen."""
        return [w.text for w in _walk(within or self.screen) if isinstance(w, Label) and w.text]

    def shows(self, fragment: str) -> bool:
        """True when some label on the screen contains `fragment`."""
        return any(fragment in text for text in self.texts())

    def shot(self, name: str) -> Path:
        """Save the app as test-artifacts/ui/<test>/<name>.png for a person to look at.

        The root is rendered into its own framebuffer: SDL's offscreen surface keeps its first size, so
        Window.screenshot after a switch to portrait would read outside it."""
        self.step(2)
        target = self.shots / f"{name}.png"
        self.app.root.export_to_png(str(target))
        return target

    def assert_fits(self) -> None:
        """Every enabled button on the screen lies inside the window and is a 9 mm touch target."""
        self.step()
        for button in _walk(self.screen):
            if isinstance(button, ButtonBehavior) and not button.disabled and button.opacity:
                x, y = button.to_window(*button.pos)
                assert -1 <= x and x + button.width <= Window.width + 1, (self.screen.name, button.text, x, button.width)
                assert -1 <= y and y + button.height <= Window.height + 1, (self.screen.name, button.text, y, button.height)
                assert min(button.size) >= MIN_TOUCH_PX, (self.screen.name, button.text, button.size)

    # -- touching ----------------------------------------------------------------------------------------------
    def tap(self, target: str | Widget) -> None:
        """Press and release a finger at the centre of a widget (by id or the widget itself)."""
        self.step()  # a screen just shown is laid out on its first frame
        widget = self.widget(target) if isinstance(target, str) else target
        self.tap_at(widget.to_window(*widget.center), str(target))

    def tap_at(self, pos: tuple[float, float], what: str = "touch") -> None:
        """Press and release a finger at window coordinates (a slider's end, say)."""
        x, y = pos
        assert 0 <= x < Window.width and 0 <= y < Window.height, f"{what} is off screen at {(x, y)}"
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.step()
        touch.touch_up()
        self.step(2)

    def tap_text(self, text: str, within: Widget | None = None) -> None:
        """Tap the button showing exactly `text` (on the current screen unless `within` says where)."""
        where = within or self.screen
        matches = [w for w in _walk(where) if getattr(w, "text", None) == text and hasattr(w, "trigger_action")]
        assert matches, f"no button {text!r} on {where}; shown: {self.texts(where)}"
        self.tap(matches[0])

    def tap_demo(self, label: str) -> None:
        """Press a demo-panel button: a simulated card tap or scan, delivered like a driver's event."""
        self.tap_text(label, within=self.app.root.ids.demo_panel)

    def type_digits(self, keypad: str, digits: str) -> None:
        """Tap the keys of a numeric keypad, one digit at a time."""
        pad = self.widget(keypad)
        for digit in digits:
            self.tap(pad.ids[f"k{digit}"])


def _walk(root: Widget) -> Iterator[Widget]:
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)
