"""The three latencies a customer feels: cold start, card tap to member screen, scan to line shown."""
from __future__ import annotations

import logging
import time

log = logging.getLogger("kiosk.ui.metrics")


class Metrics:
    """Keeps every sample of each latency in ms and logs it; bench/ui.py reads `samples`."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {"start": [], "tap_to_member": [], "scan_to_line": []}

    def after_next_frame(self, name: str, since: float) -> None:
        """Record `name` when the next frame, which shows the change, has been drawn and flipped to the screen."""
        from kivy.core.window import Window

        def flipped(*_args: object) -> None:
            Window.funbind("on_flip", flipped)
            self.record(name, since)

        Window.fbind("on_flip", flipped)

    def record(self, name: str, since: float) -> None:
        """Record a latency measured from `since` (a time.perf_counter value) to now."""
        ms = (time.perf_counter() - since) * 1000
        self.samples[name].append(ms)
        log.info("%s %.1f ms", name, ms)
