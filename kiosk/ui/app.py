"""The kiosk App: it navigates between screens, locks the kiosk down and routes device events; screens do the rest."""
from __future__ import annotations

import importlib
import logging
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty

from drivers.events import CardTapped, DeviceHealth, Scanned, ScanRejected, UnknownCard
from core.events import CUSTOMER
from kiosk.ui import i18n, theme
from kiosk.ui import widgets  # noqa: F401  (registers Keypad, DatePicker, SurnamePicker for the kv files)
from kiosk.ui.boot import PROCESS_T0
from kiosk.ui.demo_panel import DemoPanel  # noqa: F401  (registers the class app.kv names)
from kiosk.runtime import DeviceRuntime
from kiosk.services.receipts import Receipts
from kiosk.ui.devices import DeviceBridge
from kiosk.ui.metrics import Metrics
from kiosk.ui.tasks import Tasks

log = logging.getLogger(__name__)
_HERE = Path(__file__).parent
HOME = "attract"
WARM_SCREENS = ("member", "checkout")


@dataclass(frozen=True)
class UiSettings:
    """What the screens need to know about this kiosk; the defaults suit the demo."""

    store_name: str = "memberkiosk"
    idle_seconds: float = 60.0
    staff_idle_seconds: float = 120.0
    demo: bool = False
    demo_cards: tuple[tuple[str, str], ...] = ()  # (button label, card UID) for the demo panel
    demo_products: tuple[tuple[str, str], ...] = ()  # (button label, barcode)


def load_kv_once(path: Path) -> None:
    """Load a .kv file the first time a screen or widget needs it (an app may be built twice in one process)."""
    if str(path) not in Builder.files:
        Builder.load_file(str(path))


class KioskApp(App):
    """Navigation, look (language, large type, contrast), lock-down, inactivity and device routing."""

    lang = StringProperty(i18n.DEFAULT_LANG)
    large_type = BooleanProperty(False)
    high_contrast = BooleanProperty(False)
    staff = ObjectProperty(None, allownone=True)  # the logged-in staff member, None for customers
    store_name = StringProperty("")

    def __init__(self, kiosk: Any, devices: DeviceRuntime, settings: UiSettings = UiSettings(), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kiosk, self.devices, self.settings = kiosk, devices, settings
        kiosk.operator = CUSTOMER  # screens act for the customer; staff screens name the staff member
        self.store_name = settings.store_name
        self.title = settings.store_name
        self.tasks = Tasks()
        self.sales = kiosk.sales
        self.metrics = Metrics()
        self.receipts = Receipts(kiosk.db, kiosk.who, kiosk.docs, kiosk.clock)
        self._bridge = DeviceBridge(self.on_device_event)
        self._unsubscribe: Any = None
        self.health: dict[str, Any] = {}
        self._quit_allowed = False
        self._previous_sigterm: Any = None
        self._warming: Any = None
        self._idle = Clock.create_trigger(self._on_idle, settings.idle_seconds)

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

    # -- lifecycle --------------------------------------------------------------------------------------------
    def build(self) -> Any:
        """The root: the screen manager and, in the demo, the panel that plays the devices."""
        for kv in ("widgets.kv", "demo_panel.kv", "app.kv"):
            load_kv_once(_HERE / kv)
        root = Factory.KioskRoot()
        if not self.settings.demo:
            root.remove_widget(root.ids.demo_panel)
        return root

    def on_start(self) -> None:
        """Lock the kiosk down, listen to the devices and show the attract screen; log cold start at the first frame."""
        Window.bind(on_request_close=self._on_request_close, on_keyboard=self._on_keyboard)
        Window.bind(on_touch_down=self._on_activity, on_key_down=self._on_activity)
        if Window.fullscreen:
            Window.grab_mouse()  # and the keyboard (SDL_GRAB_KEYBOARD, set by boot): shortcuts stay in the kiosk
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)
        self._unsubscribe = self.devices.subscribe(self._bridge.post)
        if self.settings.demo:
            self.root.ids.demo_panel.fill()
        self.go(HOME)
        self.metrics.after_next_frame("start", PROCESS_T0)
        self._warming = Clock.schedule_once(self._warm, 0.2)

    def on_stop(self) -> None:
        """Stop listening to the devices (whoever started them stops them) and let a running commit finish."""
        self._idle.cancel()
        self._warming.cancel()
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
        Window.unbind(on_request_close=self._on_request_close, on_keyboard=self._on_keyboard)
        Window.unbind(on_touch_down=self._on_activity, on_key_down=self._on_activity)
        self._unsubscribe()
        self.tasks.shutdown()

    def open_settings(self, *args: Any) -> bool:
        """Kivy's F1 settings panel would let a customer change the kiosk: never open it."""
        return False

    def quit_by_manager(self) -> None:
        """Leave full screen and exit; offered only on the manager's screen."""
        if self.staff is None or self.staff.role != "manager":
            raise PermissionError("only a manager may close the kiosk")
        self._quit_allowed = True
        self.stop()

    def _on_sigterm(self, *_args: Any) -> None:
        # systemd stopping the kiosk (or a shutdown) is not a customer: quit cleanly on the next frame.
        self._quit_allowed = True
        Clock.schedule_once(lambda _dt: self.stop())

    def _on_request_close(self, *_args: Any, **_kwargs: Any) -> bool:
        # Alt+F4, the window manager's close and SDL_QUIT all land here; True keeps the window open.
        return not self._quit_allowed

    def _on_keyboard(self, _window: Any, key: int, _scancode: int, _text: str, modifiers: list[str]) -> bool:
        # Swallow Esc (27), Alt+F4 (285) and Alt+Tab (9): a customer's keyboard must not leave the kiosk.
        return key == 27 or ("alt" in modifiers and key in (9, 285))

    # -- navigation -------------------------------------------------------------------------------------------
    def screen(self, name: str) -> Any:
        """The screen called `name`, importing its module and loading its .kv on first use."""
        manager = self.root.ids.screens
        if manager.has_screen(name):
            return manager.get_screen(name)
        module = importlib.import_module(f"kiosk.ui.screens.{name}")
        load_kv_once(Path(module.__file__).with_suffix(".kv"))
        screen = module.SCREEN(name=name)
        manager.add_widget(screen)
        return screen

    def go(self, name: str, **context: Any) -> Any:
        """Show screen `name`, handing it what it needs to know (a member, a sale)."""
        screen = self.screen(name)
        screen.enter(**context)
        self.root.ids.screens.current = name
        self._restart_idle()
        return screen

    @property
    def current(self) -> Any:
        """The screen on show."""
        return self.root.ids.screens.current_screen

    # -- inactivity -------------------------------------------------------------------------------------------
    def _on_activity(self, *_args: Any) -> None:
        self._restart_idle()

    def _restart_idle(self) -> None:
        self._idle.cancel()
        self._idle.timeout = self.settings.staff_idle_seconds if self.staff else self.settings.idle_seconds
        if self.root.ids.screens.current != HOME:
            self._idle()

    def _on_idle(self, *_args: Any) -> None:
        log.info("inactivity timeout on %s", self.root.ids.screens.current)
        self.reset()

    def reset(self) -> None:
        """Back to the attract screen with no trace of the last customer or cashier: their screens are discarded."""
        self.tasks.forget()
        self.staff = None
        self.lang, self.large_type, self.high_contrast = i18n.DEFAULT_LANG, False, False  # the next customer's defaults
        self.go(HOME)
        manager = self.root.ids.screens
        for screen in [s for s in manager.screens if s.name != HOME]:
            manager.remove_widget(screen)
        self._warm()

    def _warm(self, *_args: Any) -> None:
        # Build fresh, empty copies of the screens a card tap or a scan opens, so that tap does not wait for kv.
        for name in WARM_SCREENS:
            self.screen(name)

    def _identify(self, uid: str) -> Any:
        """Worker thread: None for a staff card, else the member and their recent sales, in one trip off the UI."""
        if self.kiosk.staff.is_staff_card(uid):
            return None
        return self.kiosk.summaries.by_card(uid)

    def _card_tapped(self, uid: str, arrived: float, found: Any) -> None:
        """A staff card opens staff mode; a member's card shows the member, loaded already."""
        if found is None:
            self.go("staff_login", uid=uid)
        else:
            self.go("member", loaded=found, arrived=arrived)

    # -- devices ----------------------------------------------------------------------------------------------
    def on_device_event(self, event: Any, arrived: float) -> None:
        """Every device event, on the UI thread: health is kept, the rest goes to the screen on show."""
        if isinstance(event, DeviceHealth):
            self.health[event.device] = event
            return
        self._restart_idle()
        if self.current.on_device(event, arrived):
            return
        match event:
            case CardTapped(uid=uid):
                self.tasks.run(
                    lambda: self._identify(uid),
                    lambda found: self._card_tapped(uid, arrived, found),
                    lambda error: self.go("member", error=error),
                )
            case Scanned(kind="member", code=code):
                self.tasks.run(
                    lambda: self.kiosk.summaries.by_number(self.kiosk.member_codes.member_of(code)),
                    lambda found: self.go("member", loaded=found, arrived=arrived),
                    lambda error: self.go("member", error=error),
                )
            case Scanned(kind="product", code=code):
                self.go("checkout", code=code, arrived=arrived)
            case ScanRejected(reason=reason) | UnknownCard(reason=reason):
                self.current.message = self.t("error.device", detail=reason)
            case _:
                log.info("no screen wanted %s on %s", type(event).__name__, self.root.ids.screens.current)
