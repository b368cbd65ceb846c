"""The three latencies a customer feels: cold start, card tap to member screen, scan to line shown."""
from __future__ import annotations

import logging
import time

from kivy.clock import Clock

log = logging.getLogger("kiosk.ui.metrics")

# Set when kiosk.ui is first imported: the nearest point to process start that our code sees.
PROCESS_T0 = time.perf_counter()


class Metrics:
    """Keeps the latest sample of each latency in ms and logs it; bench/ui.py reads `samples`."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {"start": [], "tap_to_member": [], "scan_to_line": []}

    def after_next_frame(self, name: str, since: float) -> None:
        """Record `name` when the frame that shows the change has been drawn (the next Clock tick after render)."""
        Clock.schedule_once(lambda _dt: self.record(name, since), 0)

    def record(self, name: str, since: float) -> None:
        """Record a latency measured from `since` (a time.perf_counter value) to now."""
        ms = (time.perf_counter() - since) * 1000
        self.samples[name].append(ms)
        log.info("%s %.1f ms", name, ms)
