"""Keyboard-wedge barcode scanners over evdev: grabbed exclusively, decoded from key codes, told from typing by timing."""
from __future__ import annotations

import errno
import logging
import select
import time
from dataclasses import dataclass
from typing import Any, Callable

from core.barcodes import CODE128_MAX, line_limit, too_long
from drivers.base import DeviceLost, DriverUnavailable, Watcher
from drivers.events import OnEvent
from drivers.scanner.base import Beep, ScanSink

log = logging.getLogger(__name__)

INCOMPLETE = "incomplete scan: the code stopped before its end; scan again"
CRAFTED = "scan refused: the barcode pressed Ctrl/Alt key combinations, it may be crafted; do not use it"


def usable() -> tuple[bool, str]:
    """Whether python-evdev imports here (Linux only)."""
    try:
        import evdev  # noqa: F401
    except ImportError as exc:
        return False, f"evdev is not installed ({exc}); pip install evdev"
    return True, ""


@dataclass(frozen=True)
class Line:
    """A complete scan."""

    text: str


@dataclass(frozen=True)
class Broken:
    """A scan that must be refused, with the reason."""

    reason: str


class WedgeDecoder:
    """Key events in, scans out. Keys further apart than `max_gap` seconds are not one scanner burst: a short
    slow run is a person typing (dropped quietly), a long one is a scan cut short (refused)."""

    def __init__(self, max_gap: float = 0.05, max_len: int = CODE128_MAX, min_burst: int = 4):
        from drivers.scanner import keymap
        self._k = keymap
        self.max_gap = max_gap
        self.max_len = max_len
        self.min_burst = min_burst
        self._held: set[int] = set()
        self._reset()

    def _reset(self) -> None:
        self._buf: list[str] = []
        self._taint: str | None = None
        self._last: float | None = None

    def _interrupted(self) -> list[Line | Broken]:
        out: list[Line | Broken] = []
        if self._taint or len(self._buf) >= self.min_burst:
            out.append(Broken(self._taint or INCOMPLETE))
        self._reset()
        return out

    def feed(self, event: Any) -> list[Line | Broken]:
        """Take one evdev InputEvent; returns the scans it completes or breaks (usually none)."""
        k = self._k
        if event.type != k.e.EV_KEY:
            return []
        if event.code in k.SHIFT or event.code in k.MODIFIERS:
            (self._held.add if event.value else self._held.discard)(event.code)
            return []
        if event.value != 1:  # key up or autorepeat
            return []
        now = event.timestamp()
        out = self._interrupted() if self._last is not None and now - self._last > self.max_gap else []
        self._last = now
        if event.code in k.ENTER:
            if self._taint:
                out.append(Broken(self._taint))
            elif self._buf:
                out.append(Line("".join(self._buf)))
            self._reset()
            return out
        if self._held & k.MODIFIERS:
            self._taint = CRAFTED
        elif event.code not in k.KEYMAP:
            name = k.e.KEY.get(event.code, event.code)
            self._taint = f"scan refused: the barcode pressed {name}, which no product code contains; scan again"
        else:
            self._buf.append(k.KEYMAP[event.code][bool(self._held & k.SHIFT)])
            if len(self._buf) > line_limit("".join(self._buf[:5]), self.max_len):
                self._taint = too_long(self.max_len)
        return out

    def expire(self, now: float) -> list[Line | Broken]:
        """Give up on a scan whose keys stopped coming (called when the device is idle)."""
        if self._last is not None and now - self._last > self.max_gap:
            return self._interrupted()
        return []


def open_evdev(spec: str) -> Any:
    """An evdev InputDevice by path (/dev/input/by-id/...) or by a case-insensitive part of its name."""
    import evdev
    if spec.startswith("/"):
        return evdev.InputDevice(spec)
    names = []
    for path in evdev.list_devices():
        dev = evdev.InputDevice(path)
        if spec.lower() in dev.name.lower():
            return dev
        names.append(dev.name)
        dev.close()
    raise FileNotFoundError(errno.ENOENT, f"no input device named like '{spec}' (seen: {', '.join(names) or 'none'})")


class WedgeScanner(Watcher):
    """Reads one keyboard-wedge scanner, grabbed so its keys never reach the UI; reopens it after an unplug."""

    def __init__(self, on_event: OnEvent, device: str, name: str = "scanner", beep: Beep | None = None,
                 grab: bool = True, max_gap_ms: int = 50, retry_s: float = 1.0,
                 opener: Callable[[str], Any] | None = None):
        if opener is None:
            ok, why = usable()
            if not ok:
                raise DriverUnavailable(why)
        super().__init__(name, on_event, retry_s)
        self._spec = device
        self._grab = grab
        self._open = opener or open_evdev
        self._decoder = WedgeDecoder(max_gap_ms / 1000)
        self._sink = ScanSink(name, on_event, beep)

    def _session(self) -> None:
        try:
            dev = self._open(self._spec)
        except OSError as exc:
            raise DeviceLost(f"scanner '{self._spec}' not found: {exc.strerror or exc}; check the USB cable") from exc
        try:
            self._read(dev)
        except OSError as exc:
            raise DeviceLost(f"scanner '{self._spec}' was unplugged ({exc.strerror or exc})") from exc
        finally:
            dev.close()

    def _read(self, dev: Any) -> None:
        if self._grab:
            dev.grab()  # exclusive: scanned keys must not type into the UI
        self._health.set("ok", f"'{dev.name}' at {dev.path}")
        while not self._stop.is_set():
            ready, _, _ = select.select([dev], [], [], 0.1)
            try:
                events = list(dev.read()) if ready else []
            except BlockingIOError:  # woken with nothing to read: not an unplug
                events = []
            results = [r for ev in events for r in self._decoder.feed(ev)]
            results += self._decoder.expire(time.time())
            for result in results:
                if isinstance(result, Line):
                    self._sink.line(result.text)
                else:
                    self._sink.reject(result.reason)
