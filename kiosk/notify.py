"""Tell systemd how the service is doing (sd_notify's datagram protocol), so it can restart a hung one.

The protocol is a few lines: one AF_UNIX datagram of newline-separated KEY=VALUE fields to the socket named by
$NOTIFY_SOCKET (a path, or an abstract name when it starts with "@"). Outside systemd the variable is unset and every
call is a no-op, so the demo and the tests run the same code. See sd_notify(3).
"""
from __future__ import annotations

import logging
import os
import socket
from typing import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """The service manager's end: READY=1 once, WATCHDOG=1 while alive, STOPPING=1 on the way out."""

    def __init__(self, address: str | None, watchdog_seconds: float | None = None) -> None:
        self.address = address
        self.watchdog_seconds = watchdog_seconds  # systemd's WatchdogSec=, when it watches this process
        self._socket: socket.socket | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, pid: int | None = None) -> Notifier:
        """The notifier systemd asked for through the environment; one that sends nothing when started otherwise."""
        return cls(environ.get("NOTIFY_SOCKET") or None, watchdog_seconds(environ, os.getpid() if pid is None else pid))

    @property
    def enabled(self) -> bool:
        """Whether a service manager listens."""
        return self.address is not None

    def ready(self, status: str | None = None) -> None:
        """Startup is over: a Type=notify unit becomes active now."""
        self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def ping(self) -> None:
        """Still alive: restarts systemd's watchdog timer."""
        self.send("WATCHDOG=1")

    def stopping(self) -> None:
        """Shutting down on purpose: not a hang."""
        self.send("STOPPING=1")

    def send(self, *fields: str) -> None:
        """Send one datagram; a manager that went away is logged, never raised: the kiosk keeps selling."""
        if self.address is None:
            return
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.sendto("\n".join(fields).encode(), target)
        except OSError as exc:
            log.warning("cannot notify the service manager at %s (%s): %s", self.address, ", ".join(fields), exc)

    def close(self) -> None:
        """Close the socket (a later send opens it again)."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def watchdog_seconds(environ: Mapping[str, str], pid: int) -> float | None:
    """WatchdogSec= as systemd passes it (WATCHDOG_USEC), when it is meant for process `pid`; else None."""
    usec, for_pid = environ.get("WATCHDOG_USEC"), environ.get("WATCHDOG_PID")
    if not usec or (for_pid and for_pid != str(pid)):
        return None
    try:
        seconds = int(usec) / 1_000_000
    except ValueError:
        log.warning("ignoring WATCHDOG_USEC=%r: not a number of microseconds", usec)
        return None
    return seconds if seconds > 0 else None
