"""A printer for the demo and upper-layer tests: keeps jobs in memory and can be told to fail."""
from __future__ import annotations

import threading

from drivers.base import Health
from drivers.events import DeviceHealth, OnEvent
from drivers.printer.base import PrinterError, PrinterUnavailable, columns_for


class SimPrinter:
    """Accepts jobs like a healthy printer; `fail_with` makes the next jobs fail the way a real one would."""

    simulated = True

    def __init__(self, on_event: OnEvent, name: str = "printer", paper: str = "58mm"):
        self.name = name
        self.columns = columns_for(paper)
        self.jobs: list[bytes] = []
        self.fail_with: PrinterError | None = None
        self._lock = threading.Lock()
        self._health = Health(name, on_event, "ok", "simulated printer")

    def start(self) -> None:
        """Nothing to start."""

    def stop(self) -> None:
        """Nothing to release."""

    def health(self) -> DeviceHealth:
        """Current simulated health."""
        return self._health.current

    def check(self) -> DeviceHealth:
        """Health as the simulated failure dictates."""
        if self.fail_with is not None:
            self._health.set("gone" if isinstance(self.fail_with, PrinterUnavailable) else "degraded", str(self.fail_with))
        else:
            self._health.set("ok", "simulated printer")
        return self._health.current

    def send(self, job: bytes) -> None:
        """Keep the job, or raise the configured failure."""
        if self.check().state != "ok" and self.fail_with is not None:
            raise self.fail_with
        with self._lock:
            self.jobs.append(job)
