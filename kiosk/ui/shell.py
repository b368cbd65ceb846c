"""What every full-screen app of the kiosk shares: its look (language, large type, contrast) and its lock-down.

The selling app (kiosk/ui/app.py) and the enrolment app of a kiosk not yet enrolled (kiosk/ui/enrol_app.py) both
build on it, so the shared widgets and kv rules find the same `app.t`, `app.c`, ... whichever one runs.
"""
from __future__ import annotations

import signal
import threading
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui import i18n, theme


class ShellApp(App):
    """Look and lock-down; subclasses call `lock_down()` in on_start and `release()` in on_stop."""

    lang = StringProperty(i18n.DEFAULT_LANG)
    large_type = BooleanProperty(False)
    high_contrast = BooleanProperty(False)
    store_name = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._quit_allowed = False
        self._previous_sigterm: Any = None

    # -- look -------------------------------------------------------------------------------------------------
    def t(self, key: str, *_bind: Any, **fmt: Any) -> str:
        """Translated text; kv passes app.lang as an extra argument so the text follows a language switch."""
        return i18n.translate(self.lang, key, **fmt)

    def t_other(self, key: str, *_bind: Any) -> str:
        """The text in the language not on show: the attract screen greets in both before anyone chooses."""
        return i18n.translate(i18n.other(self.lang), key)

    def c(self, name: str, *_bind: Any) -> tuple[float, float, float, float]:
        """A theme colour; kv passes app.high_contrast so colours follow the contrast switch."""
        return theme.colour(name, self.high_contrast)

    def fs(self, base: float, *_bind: Any) -> float:
        """A font size; kv passes app.large_type so sizes follow the large-type switch."""
        return theme.font_size(base, self.large_type)

    def touch(self, *_bind: Any) -> float:
        """The height of a touch target (at least 9 mm on the 7-inch panel)."""
        return theme.touch_px(self.large_type)

    def error_text(self, exc: BaseException) -> str:
        """A failure told in the current language, with what to do next."""
        return i18n.error_text(self.lang, exc)

    def toggle_lang(self) -> None:
        """Switch between Chinese and English."""
        self.lang = i18n.other(self.lang)

    # -- lock-down --------------------------------------------------------------------------------------------
    def lock_down(self) -> None:
        """Refuse window closing and the shortcuts that leave the kiosk; quit cleanly on SIGTERM."""
        Window.bind(on_request_close=self._on_request_close, on_keyboard=self._on_keyboard)
        if Window.fullscreen:
            Window.grab_mouse()  # and the keyboard (SDL_GRAB_KEYBOARD, set by boot): shortcuts stay in the kiosk
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)

    def release(self) -> None:
        """Undo lock_down (the app is stopping)."""
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
        Window.unbind(on_request_close=self._on_request_close, on_keyboard=self._on_keyboard)

    def quit_now(self) -> None:
        """Leave the app on the next frame: the lock-down lets this one close go through."""
        self._quit_allowed = True
        Clock.schedule_once(lambda _dt: self.stop())

    def open_settings(self, *args: Any) -> bool:
        """Kivy's F1 settings panel would let a customer change the kiosk: never open it."""
        return False

    def _on_sigterm(self, *_args: Any) -> None:
        # systemd stopping the kiosk (or a shutdown) is not a customer: quit cleanly on the next frame.
        self.quit_now()

    def _on_request_close(self, *_args: Any, **_kwargs: Any) -> bool:
        # Alt+F4, the window manager's close and SDL_QUIT all land here; True keeps the window open.
        return not self._quit_allowed

    def _on_keyboard(self, _window: Any, key: int, _scancode: int, _text: str, modifiers: list[str]) -> bool:
        # Swallow Esc (27), Alt+F4 (285) and Alt+Tab (9): a customer's keyboard must not leave the kiosk.
        return key == 27 or ("alt" in modifiers and key in (9, 285))
