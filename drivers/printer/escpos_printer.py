"""ESC/POS receipt printers over python-escpos transports (network, serial, USB, file), with DLE EOT status."""
from __future__ import annotations

import logging
import socket
from typing import Any

from drivers.base import DeviceConfigError, DriverUnavailable, Health
from drivers.events import DeviceHealth, OnEvent
from drivers.printer.base import PrinterNotReady, PrinterUnavailable, columns_for

log = logging.getLogger(__name__)

DLE_EOT = b"\x10\x04"
REQUIRED = {"network": ("host",), "serial": ("port",), "usb": ("vendor_id", "product_id"), "file": ("path",)}
TRANSPORTS = tuple(REQUIRED)
_STATUS_TRANSPORTS = ("network", "serial", "usb")  # a file (/dev/usb/lp0) cannot answer


def usable(transport: str = "network") -> tuple[bool, str]:
    """Whether python-escpos (and pyusb / pyserial for those transports) import here."""
    needs = {"usb": "usb.core", "serial": "serial"}.get(transport)
    for module in ["escpos.printer", *([needs] if needs else [])]:
        try:
            __import__(module)
        except ImportError as exc:
            return False, f"{module} is not installed ({exc}); pip install 'python-escpos[all]'"
    return True, ""


def _status_byte(reply: bytes) -> int | None:
    # A real-time status byte always has bits 1 and 4 set and bits 0 and 7 clear.
    return reply[0] if reply and reply[0] & 0x93 == 0x12 else None


class EscposPrinter:
    """Sends whole jobs to one printer; opens the transport per job so a replugged printer just works."""

    simulated = False

    def __init__(self, on_event: OnEvent, transport: str, name: str = "printer", paper: str = "58mm",
                 timeout: float = 5.0, **params: Any):
        if transport not in TRANSPORTS:
            raise DeviceConfigError(f"printer transport '{transport}' must be one of {', '.join(TRANSPORTS)}")
        missing = [key for key in REQUIRED[transport] if key not in params]
        if missing:
            raise DeviceConfigError(f"{transport} printer config needs {', '.join(missing)}")
        ok, why = usable(transport)
        if not ok:
            raise DriverUnavailable(why)
        self.name = name
        self.transport = transport
        self.columns = columns_for(paper)
        self._timeout = timeout
        self._params = params
        self._health = Health(name, on_event, "degraded", "not checked yet")

    def start(self) -> None:
        """Nothing runs until a job is sent; the print worker drives the printer."""

    def stop(self) -> None:
        """Nothing to release: the transport is closed after every job."""

    def health(self) -> DeviceHealth:
        """Health as of the last job or status check."""
        return self._health.current

    def _open(self) -> Any:
        from escpos import printer
        p = self._params
        if self.transport == "network":
            dev = printer.Network(p["host"], int(p.get("port", 9100)), timeout=self._timeout)
        elif self.transport == "serial":
            dev = printer.Serial(p["port"], int(p.get("baud", 19200)), timeout=self._timeout)
        elif self.transport == "usb":
            dev = printer.Usb(int(str(p["vendor_id"]), 16), int(str(p["product_id"]), 16),
                              timeout=int(self._timeout * 1000))
        else:
            dev = printer.File(p["path"])
        try:
            if self.transport == "network":
                # python-escpos leaks its socket when connect fails; connect ourselves and hand it over
                dev.device = socket.create_connection((dev.host, dev.port), timeout=self._timeout)
            else:
                dev.open()
        except Exception as exc:  # python-escpos wraps every transport's own error type differently
            raise PrinterUnavailable(f"cannot reach the {self.transport} printer ({_one_line(exc)})") from exc
        return dev

    def send(self, job: bytes) -> None:
        """Print one job; raises PrinterNotReady (paper, cover) or PrinterUnavailable (unreachable)."""
        try:
            dev = self._open()
            try:
                confirmable = self._check(dev)
                dev._raw(job)
                # TCP accepts bytes a vanished printer never prints; a status answer after the job proves it got it
                if confirmable and self._query(dev, 1) is None:
                    raise PrinterUnavailable("the printer stopped answering during the receipt")
            finally:
                dev.close()
        except PrinterUnavailable as exc:
            self._health.set("gone", str(exc))
            raise
        except PrinterNotReady as exc:
            self._health.set("degraded", str(exc))
            raise
        except Exception as exc:
            reason = f"the printer stopped during the receipt ({_one_line(exc)})"
            self._health.set("gone", reason)
            raise PrinterUnavailable(reason) from exc

    def check(self) -> DeviceHealth:
        """Ask the printer now (DLE EOT where the transport can answer) and return its health."""
        try:
            dev = self._open()
            try:
                self._check(dev)
            finally:
                dev.close()
        except PrinterUnavailable as exc:
            self._health.set("gone", str(exc))
        except PrinterNotReady as exc:
            self._health.set("degraded", str(exc))
        return self._health.current

    def _query(self, dev: Any, n: int) -> int | None:
        try:
            dev._raw(DLE_EOT + bytes([n]))
            # python-escpos reads 16 bytes, which on a serial port waits out the whole timeout for a 1-byte answer
            return _status_byte(dev.device.read(1) if self.transport == "serial" else dev._read())
        except (OSError, TimeoutError) as exc:  # no answer: a printer without real-time status
            log.debug("no DLE EOT %d answer: %s", n, exc)
            return None

    def _check(self, dev: Any) -> bool:
        """Raise if the printer cannot print now; True when it answers status queries."""
        if self.transport not in _STATUS_TRANSPORTS:
            self._health.set("ok", "reachable (this transport reports no status)")
            return False
        printer = self._query(dev, 1)
        if printer is None:
            self._health.set("ok", "reachable (status not reported)")
            return False
        if printer & 0x08:  # offline: ask why
            cause = self._query(dev, 2) or 0
            if cause & 0x04:
                raise PrinterNotReady("printer cover is open; close it")
            if cause & 0x20:
                raise PrinterNotReady("printer is out of paper; load a new roll")
            raise PrinterNotReady("printer is offline (error or feed button held)")
        paper = self._query(dev, 4) or 0
        if paper & 0x60:
            raise PrinterNotReady("printer is out of paper; load a new roll")
        if paper & 0x0C:
            self._health.set("degraded", "paper roll is nearly used up; have a new one ready")
        else:
            self._health.set("ok", "ready")
        return True


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
