"""The kiosk App: it navigates between screens, locks the kiosk down and routes device events; screens do the rest."""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import ObjectProperty

from drivers.events import CardTapped, DeviceHealth, Scanned, ScanRejected, UnknownCard
from core.events import CUSTOMER
from kiosk.ui import i18n
from kiosk.ui import widgets  # noqa: F401  (registers Keypad, DatePicker, SurnamePicker for the kv files)
from kiosk.ui.boot import PROCESS_T0
from kiosk.ui.demo_panel import DemoPanel  # noqa: F401  (registers the class app.kv names)
from kiosk.runtime import DeviceRuntime
from kiosk.services.receipts import Receipts
from kiosk.services.reports import ReportsService
from kiosk.ui.devices import DeviceBridge
from kiosk.ui.metrics import Metrics
from kiosk.ui.shell import ShellApp
from kiosk.ui.tasks import Tasks
from kiosk.ui.voice import Voice

log = logging.getLogger(__name__)
_HERE = Path(__file__).parent
HOME = "attract"
LOCK = "lock"  # shown instead of any other screen while head office has the kiosk locked
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
    voice: str = "off"  # ui.voice: spoken prompts off, zh, en or auto (the screen's language)


def load_kv_once(path: Path) -> None:
    """Load a .kv file the first time a screen or widget needs it (an app may be built twice in one process)."""
    if str(path) not in Builder.files:
        Builder.load_file(str(path))


class KioskApp(ShellApp):
    """Navigation, inactivity and device routing, on the shell's look and lock-down."""

    staff = ObjectProperty(None, allownone=True)  # the logged-in staff member, None for customers

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
        self.reports = ReportsService(kiosk.db, kiosk.docs, kiosk.clock)  # the manager's reports, suggestions
        self._bridge = DeviceBridge(self.on_device_event)
        self._unsubscribe: Any = None
        self._unsubscribe_fleet: Any = None
        self.health: dict[str, Any] = {}
        self.lock_reason: str | None = None  # why head office locked the kiosk (kiosk.fleet), None when it sells
        self._warming: Any = None
        self._idle = Clock.create_trigger(self._on_idle, settings.idle_seconds)
        self.voice = Voice(settings.voice, kiosk.data_dir / "voice")

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
        self.lock_down()
        self.voice.start()
        Window.bind(on_touch_down=self._on_activity, on_key_down=self._on_activity)
        self._unsubscribe = self.devices.subscribe(self._bridge.post)
        if self.settings.demo:
            self.root.ids.demo_panel.fill()
        self._unsubscribe_fleet = self.kiosk.fleet.subscribe(
            lambda reason: Clock.schedule_once(lambda _dt: self.show_lock(reason)))
        self.lock_reason = self.kiosk.fleet.locked()
        self.go(HOME)
        self.metrics.after_next_frame("start", PROCESS_T0)
        self._warming = Clock.schedule_once(self._warm, 0.2)

    def on_stop(self) -> None:
        """Stop listening to the devices and the lock (whoever started them stops them); let a running commit finish."""
        self._idle.cancel()
        self._warming.cancel()
        self.release()
        Window.unbind(on_touch_down=self._on_activity, on_key_down=self._on_activity)
        self._unsubscribe()
        self._unsubscribe_fleet()
        self.root.ids.screens.current_screen.dispatch("on_pre_leave")  # the screen goes too: its timers stop
        self.tasks.shutdown()
        self.voice.stop()

    def quit_by_manager(self) -> None:
        """Leave full screen and exit; offered only on the manager's screen."""
        if self.staff is None or self.staff.role != "manager":
            raise PermissionError("only a manager may close the kiosk")
        self._quit_allowed = True
        self.stop()

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
        """Show screen `name`, handing it what it needs to know (a member, a sale); the lock screen while locked."""
        if self.lock_reason is not None:
            name, context = LOCK, {"reason": self.lock_reason}
        screen = self.screen(name)
        screen.enter(**context)
        self.root.ids.screens.current = name
        self._restart_idle()
        return screen

    def say(self, prompt: str) -> None:
        """Speak a customer step's prompt (kiosk.ui.voice.PROMPTS) when voice prompts are on; never waits."""
        self.voice.say(prompt, self.lang)

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
        for screen in [s for s in manager.screens if s.name not in (HOME, manager.current)]:
            manager.remove_widget(screen)
        self._warm()

    def show_lock(self, reason: str | None) -> None:
        """Head office locked (a reason) or unlocked (None) the kiosk: the lock screen, or a fresh start screen."""
        if reason != self.lock_reason and self.root is not None:
            self.lock_reason = reason
            self.reset()

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
