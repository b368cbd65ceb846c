"""What every device driver offers the app, and the health bookkeeping they share."""
from __future__ import annotations

import logging
import threading
from typing import Protocol, runtime_checkable

from drivers.events import DeviceEvent, DeviceHealth, HealthState, OnEvent

log = logging.getLogger(__name__)


class DriverUnavailable(RuntimeError):
    """The library or system service a configured driver needs is missing on this machine."""


class DeviceConfigError(ValueError):
    """The device configuration is wrong (unknown type, missing port); the message names the field."""


@runtime_checkable
class Device(Protocol):
    """A running device: started once, stopped once, asked for its health at any time."""

    name: str
    simulated: bool  # True for the Sim drivers of the demo and tests; the demo panel plays only those

    def start(self) -> None:
        """Begin watching the device (spawns the driver's own thread when it needs one)."""

    def stop(self) -> None:
        """Stop watching and release the hardware."""

    def health(self) -> DeviceHealth:
        """The device's current health."""


class Health:
    """Holds a device's health and emits DeviceHealth only when it changes, so the app sees transitions."""

    def __init__(self, device: str, on_event: OnEvent, state: HealthState = "gone", reason: str = "not started"):
        self._device = device
        self._emit = on_event
        self._lock = threading.Lock()
        self._current = DeviceHealth(device, state, reason)

    @property
    def current(self) -> DeviceHealth:
        """The latest health."""
        with self._lock:
            return self._current

    def set(self, state: HealthState, reason: str = "") -> None:
        """Record a health; emits an event if state or reason changed."""
        new = DeviceHealth(self._device, state, reason)
        with self._lock:
            if new == self._current:
                return
            self._current = new
        log_at = logging.INFO if state == "ok" else logging.WARNING
        log.log(log_at, "%s: %s%s", self._device, state, f" ({reason})" if reason else "")
        safe_emit(self._emit, new)


def safe_emit(on_event: OnEvent, event: DeviceEvent) -> None:
    """Deliver an event; a failing consumer is logged and never kills the driver thread."""
    try:
        on_event(event)
    except Exception:
        log.exception("event consumer failed on %r", event)


class DeviceLost(Exception):
    """The hardware or its service went away; the message is the health reason and the watcher retries."""


class Watcher:
    """Base of drivers that watch hardware in their own thread: one session at a time, retried after a loss."""

    simulated = False

    def __init__(self, name: str, on_event: OnEvent, retry_s: float):
        self.name = name
        self._health = Health(name, on_event)
        self._retry_s = retry_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the watcher thread; health turns ok once the hardware is found."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"{self.name}-{type(self).__name__}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; returns once the thread has let go of the hardware."""
        self._stop.set()
        self._interrupt()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def health(self) -> DeviceHealth:
        """Current health: ok with what was found, or gone with why."""
        return self._health.current

    def _interrupt(self) -> None:
        """Wake a session blocked in the hardware library so stop() is prompt (override when needed)."""

    def _session(self) -> None:
        """Open the hardware, report ok, read until stopped; raise DeviceLost when it goes away."""
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._session()
            except DeviceLost as exc:
                self._health.set("gone", str(exc))
            except Exception:  # a driver thread must never die silently: log, report, retry
                log.exception("%s driver failed", self.name)
                self._health.set("gone", f"{self.name} driver error; retrying (see the log)")
            self._stop.wait(self._retry_s)
