"""The device runtime: drivers, device health, the print worker and the ledger followers of a running kiosk.

The kiosk bootstrap starts it (the `kiosk` and `demo` commands, tests); the UI, the command line and later the
sync agent subscribe to what the devices report. Nothing here knows about Kivy: a subscriber that draws hands
the event over to its own thread.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

from core.errors import KioskError
from drivers.base import safe_emit
from drivers.events import DeviceEvent, DeviceHealth
from drivers.factory import build
from kiosk.app import Kiosk
from kiosk.config import ConfigError, load as load_config
from kiosk.followers.base import Follower
from kiosk.followers.facts import FactsFollower
from kiosk.followers.notices import NoticesFollower
from kiosk.followers.receipts import ReceiptFollower
from kiosk.followers.runner import FollowerRunner
from kiosk.notices.gateways import build as build_notice_gateway
from kiosk.notices.sender import Sender, SenderLoop
from kiosk.notices.settings import NoticeSettings, load_settings
from kiosk.printing.worker import PrintWorker
from kiosk.services.receipts import Receipts
from kiosk.store import print_jobs

log = logging.getLogger(__name__)

Subscriber = Callable[[DeviceEvent], None]


class NoPrinter(KioskError):
    """A test receipt was asked for on a kiosk that runs no printer."""


class DeviceRuntime:
    """One device per kind, started and stopped together; every event goes to each subscriber on the driver's thread."""

    def __init__(self, kiosk: Kiosk) -> None:
        self.kiosk = kiosk
        self.devices: dict[str, Any] = {}
        self.printing: PrintWorker | None = None
        self.followers: FollowerRunner | None = None
        self.notices: SenderLoop | None = None
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    @classmethod
    def start(cls, kiosk: Kiosk, device_configs: Mapping[str, Mapping[str, Any]],
              receipt_dir: Path | None = None) -> "DeviceRuntime":
        """Build and start one device per configured kind; a printer gets the print worker and the receipt follower.

        `receipt_dir` (the demo) keeps every printed receipt as a PNG too. A device that cannot be built raises
        DeviceConfigError or DriverUnavailable after the ones already started are stopped."""
        runtime = cls(kiosk)
        try:
            for kind, config in device_configs.items():
                device = build(kind, dict(config), runtime.post)
                runtime.devices[kind] = device
                device.start()
            runtime._start_followers(receipt_dir)
        except BaseException:
            runtime.stop()
            raise
        return runtime

    def _start_notices(self) -> list[NoticesFollower]:
        """With notify.gateway configured: the background sender, and the follower that feeds it (to be started)."""
        k = self.kiosk
        cfg = load_config(docs=k.docs)
        if not cfg.is_set("notify.gateway"):
            return []
        try:
            gateway = build_notice_gateway(cfg, k.data_dir)
        except ConfigError as exc:  # the kiosk still sells; the outbox waits for a correct setting (notify status)
            log.error("member notifications are off: %s", exc)
            return []

        def settings() -> NoticeSettings:  # read at each use: the shop may change them while the kiosk runs
            return load_settings(k.docs, k.who.store_id)
        self.notices = SenderLoop(Sender(k.db, k.clock, gateway, settings))
        self.notices.start()
        return [NoticesFollower(k.db, k.clock, k.who.kiosk_id, settings, queued=self.notices.wake)]

    def _start_followers(self, receipt_dir: Path | None) -> None:
        """The sales facts always (reports and suggestions stay current); receipts with a printer; notices with a
        gateway."""
        k = self.kiosk
        followers: list[Follower] = [FactsFollower(k.db, k.clock), *self._start_notices()]
        if "printer" in self.devices:
            followers.append(self._start_printing(receipt_dir))
        self.followers = FollowerRunner(k.db, followers)
        self.followers.start()
        k.gateway.subscribe(self.followers.wake)  # a sale committed here prints now, not at the next poll

    def _start_printing(self, receipt_dir: Path | None) -> ReceiptFollower:
        """The print worker, and the follower that queues a receipt for each sale."""
        k = self.kiosk
        receipts = Receipts(k.db, k.who, k.docs, k.clock)
        self.printing = PrintWorker(k.db, self.devices["printer"], receipts, k.clock, preview_dir=receipt_dir)
        self.printing.start()
        return ReceiptFollower(k.db, k.clock, k.who.kiosk_id, queued=self.printing.wake)

    def post(self, event: DeviceEvent) -> None:
        """Called by the drivers on their threads: hand the event to every subscriber (a failing one is logged)."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            safe_emit(subscriber, event)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Receive every device event from now on; returns the call that unsubscribes."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)
        return unsubscribe

    def simulator(self, kind: str) -> Any | None:
        """The simulated device of a kind, for the demo panel's buttons; None on real hardware."""
        device = self.devices.get(kind)
        return device if device is not None and device.simulated else None

    def health(self) -> list[DeviceHealth]:
        """Every device's current health, for the staff status screen."""
        return [device.health() for device in self.devices.values()]

    def health_by_kind(self) -> dict[str, DeviceHealth]:
        """Each device's current health by kind (card, scanner, printer), for head office's telemetry."""
        return {kind: device.health() for kind, device in list(self.devices.items())}

    def print_test(self) -> None:
        """Queue a test receipt through the print queue (head office's `print_test`); NoPrinter without a printer."""
        printing = self.printing
        if printing is None:
            raise NoPrinter("this kiosk runs no printer: configure one with 'memberkiosk devices --config FILE --save'")
        with self.kiosk.db.transaction() as conn:
            job = print_jobs.enqueue_test(conn, self.kiosk.clock.now_ms())
        log.info("test receipt queued (job %d)", job)
        printing.wake()

    def stop(self) -> None:
        """Stop the followers, printing and every device; one that fails to stop does not keep the others running."""
        if self.followers is not None:
            self.followers.stop()
            self.followers = None
        if self.notices is not None:
            self.notices.stop()
            self.notices = None
        if self.printing is not None:
            self.printing.stop()
            self.printing = None
        for kind, device in self.devices.items():
            try:
                device.stop()
            except Exception:
                log.exception("stopping %s failed", kind)
        self.devices.clear()

    def __enter__(self) -> "DeviceRuntime":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
