"""A scanner for the demo and upper-layer tests: scans text through the same validation as real scanners."""
from __future__ import annotations

from drivers.base import Health
from drivers.events import DeviceHealth, OnEvent
from drivers.scanner.base import Beep, ScanSink


class SimScanner:
    """`scan(text)` behaves like a scanner reading that barcode."""

    simulated = True

    def __init__(self, on_event: OnEvent, name: str = "scanner", beep: Beep | None = None):
        self.name = name
        self._sink = ScanSink(name, on_event, beep)
        self._health = Health(name, on_event)

    def start(self) -> None:
        """The simulated scanner is always there."""
        self._health.set("ok", "simulated scanner")

    def stop(self) -> None:
        """Go away."""
        self._health.set("gone", "stopped")

    def health(self) -> DeviceHealth:
        """Current health."""
        return self._health.current

    def scan(self, text: str) -> None:
        """One complete scan, as if read from a barcode."""
        self._sink.line(text)
