"""What every scanner shares: a complete line of text becomes Scanned or ScanRejected (with a beep)."""
from __future__ import annotations

import logging
from typing import Callable

from core.barcodes import CODE128_MAX, InvalidBarcode, classify
from drivers.base import safe_emit
from drivers.events import OnEvent, Scanned, ScanRejected

log = logging.getLogger(__name__)

Beep = Callable[[], None]


class ScanSink:
    """Validates finished scans and emits the event; a rejected scan also calls the beep hook."""

    def __init__(self, device: str, on_event: OnEvent, beep: Beep | None = None, max_len: int = CODE128_MAX):
        self.device = device
        self._emit = on_event
        self._beep = beep
        self._max_len = max_len

    def line(self, text: str) -> None:
        """A complete scan (terminator already stripped)."""
        try:
            code = classify(text, self._max_len)
        except InvalidBarcode as exc:
            self.reject(str(exc))
            return
        safe_emit(self._emit, Scanned(code.code, code.symbology, code.kind, self.device))  # type: ignore[arg-type]

    def reject(self, reason: str) -> None:
        """A scan that cannot be used: tell the app and beep so the cashier rescans."""
        log.info("%s: scan rejected: %s", self.device, reason)
        safe_emit(self._emit, ScanRejected(reason, self.device))
        if self._beep is not None:
            try:
                self._beep()
            except Exception:
                log.exception("beep hook failed")
