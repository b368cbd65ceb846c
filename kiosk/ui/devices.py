"""The bridge from driver threads to the UI thread: drivers call `post` anywhere, screens see events on the UI thread."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from kivy.clock import Clock

log = logging.getLogger(__name__)

Deliver = Callable[[Any, float], None]


class DeviceBridge:
    """Starts the configured devices and hands each event, with the time it arrived, to the UI thread."""

    def __init__(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self.devices: dict[str, Any] = {}
        self.printing: Any = None  # the durable print queue's worker, once a printer is configured
        self.receipt_dir: Path | None = None

    def start(self, configs: Mapping[str, Mapping[str, Any]], data_dir: Path | None, receipt_dir: Path | None) -> None:
        """Build and start one device per kind (card, scanner, printer); a printer gets the durable print queue."""
        self.receipt_dir = receipt_dir
        if not configs:
            return
        from drivers.factory import build

        for kind, config in configs.items():
            device = build(kind, dict(config), self.post)
            device.start()
            self.devices[kind] = device
        if "printer" in self.devices and data_dir is not None:
            from kiosk.printing.queue import PrintQueue
            from kiosk.printing.worker import PrintWorker

            self.printing = PrintWorker(PrintQueue.in_data_dir(data_dir), self.devices["printer"])
            self.printing.start()

    def print_receipt(self, sale_id: str, receipt: Any) -> None:
        """Queue a committed sale's receipt (worker thread); in the demo also save it as a PNG to look at."""
        if self.printing is not None:
            self.printing.submit(sale_id, receipt)
        if self.receipt_dir is not None:
            from kiosk.printing.preview import save_preview

            self.receipt_dir.mkdir(parents=True, exist_ok=True)
            save_preview(receipt, getattr(self.devices.get("printer"), "columns", 32), self.receipt_dir / f"{sale_id}.png")

    def post(self, event: Any) -> None:
        """Called on a driver thread: never touch widgets here, hand the event over with Clock.schedule_once."""
        arrived = time.perf_counter()
        Clock.schedule_once(lambda _dt: self._deliver(event, arrived), -1)

    def simulator(self, kind: str) -> Any | None:
        """The simulated device of a kind, for the demo panel's buttons; None on real hardware."""
        device = self.devices.get(kind)
        return device if device is not None and type(device).__name__.startswith("Sim") else None

    def health(self) -> list[Any]:
        """Every device's current health (DeviceHealth), for the staff health screen."""
        return [device.health() for device in self.devices.values()]

    def stop(self) -> None:
        """Stop printing and every device; one that fails to stop is logged and does not keep the others running."""
        if self.printing is not None:
            self.printing.stop()
            self.printing.queue.close()
            self.printing = None
        for kind, device in self.devices.items():
            try:
                device.stop()
            except Exception:
                log.exception("stopping %s failed", kind)
        self.devices.clear()
