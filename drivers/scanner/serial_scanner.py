"""Serial barcode scanners (pyserial): configurable port, baud and line terminator; reopens when the port returns."""
from __future__ import annotations

import logging
import time
from typing import Any

from core.barcodes import CODE128_MAX, line_limit, too_long
from drivers.base import DeviceConfigError, DeviceLost, DriverUnavailable, Watcher
from drivers.events import OnEvent
from drivers.scanner.base import Beep, ScanSink
from drivers.scanner.wedge import INCOMPLETE

log = logging.getLogger(__name__)

TERMINATORS = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}


def usable() -> tuple[bool, str]:
    """Whether pyserial imports here."""
    try:
        import serial  # noqa: F401
    except ImportError as exc:
        return False, f"pyserial is not installed ({exc}); pip install pyserial"
    return True, ""


class SerialLines:
    """Bytes in, complete lines out; a line cut off by silence or running too long is refused, never half-used."""

    def __init__(self, terminator: str = "CR", max_len: int = CODE128_MAX, line_timeout: float = 0.2):
        if terminator not in TERMINATORS:
            raise DeviceConfigError(f"scanner terminator '{terminator}' must be one of {', '.join(TERMINATORS)}")
        self._end = TERMINATORS[terminator]
        self._max_len = max_len
        self._timeout = line_timeout
        self._buf = b""
        self._last = 0.0
        self._overflow = False

    def feed(self, data: bytes, now: float) -> list[tuple[str, str]]:
        """Take received bytes; returns ("line", text) and ("reject", reason) items in order."""
        out = self.expire(now)
        self._last = now
        self._buf += data
        while self._end in self._buf:
            raw, self._buf = self._buf.split(self._end, 1)
            if self._overflow:
                self._overflow = False
                out.append(("reject", too_long(self._max_len)))
                continue
            raw = raw.lstrip(b"\r\n")  # a CR+LF scanner configured as CR leaves the LF at the next line's start
            try:
                out.append(("line", raw.decode("ascii")))
            except UnicodeDecodeError:
                out.append(("reject", "scan refused: the scanner sent bytes that are not text; check its baud rate"))
        start = self._buf.lstrip(b"\r\n")[:5].decode("ascii", "replace")  # an enrolment token may be long
        if len(self._buf) > line_limit(start, self._max_len) + len(self._end):
            self._overflow, self._buf = True, b""
        return out

    def expire(self, now: float) -> list[tuple[str, str]]:
        """Refuse a partial line when the scanner went quiet in the middle of it."""
        if (self._buf.strip(b"\r\n") or self._overflow) and now - self._last > self._timeout:
            self._buf, self._overflow = b"", False
            return [("reject", INCOMPLETE)]
        return []


class SerialScanner(Watcher):
    """Reads scans from a serial (or USB-serial, CDC-ACM) scanner."""

    def __init__(self, on_event: OnEvent, port: str, baud: int = 9600, terminator: str = "CR",
                 name: str = "scanner", beep: Beep | None = None, line_timeout_ms: int = 200, retry_s: float = 1.0):
        ok, why = usable()
        if not ok:
            raise DriverUnavailable(why)
        super().__init__(name, on_event, retry_s)
        self._port, self._baud = port, baud
        self._lines = SerialLines(terminator, line_timeout=line_timeout_ms / 1000)
        self._sink = ScanSink(name, on_event, beep)

    def _session(self) -> None:
        import serial
        try:
            with serial.Serial(self._port, self._baud, timeout=0.05) as port:
                self._health.set("ok", f"{self._port} at {self._baud} baud")
                self._read(port)
        except (serial.SerialException, OSError) as exc:
            raise DeviceLost(f"scanner port {self._port} unavailable ({exc}); check the cable") from exc

    def _read(self, port: Any) -> None:
        while not self._stop.is_set():
            data = port.read(256)
            items = self._lines.feed(data, time.monotonic()) if data else self._lines.expire(time.monotonic())
            for kind, text in items:
                if kind == "line":
                    self._sink.line(text)
                else:
                    self._sink.reject(text)
