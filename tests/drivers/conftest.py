"""Fixtures for driver tests: a real pcscd started in the foreground and stopped by PID, and an event sink."""
from __future__ import annotations

import fcntl
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import wait_until  # noqa: F401  (the drivers' tests import it from here)

PCSCD_LOCK = "/tmp/memberkiosk-tests-pcscd.lock"  # held by the test module that runs our pcscd


class EventSink:
    """Collects driver events from any thread; tests wait on it with a bounded timeout."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, event: Any) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def of(self, kind: type) -> list[Any]:
        """Events of one type, in arrival order."""
        with self._cond:
            return [e for e in self.events if isinstance(e, kind)]

    def wait(self, kind: type, count: int = 1, timeout: float = 5.0, where: Callable[[Any], bool] = lambda e: True) -> list[Any]:
        """Wait until `count` events of `kind` matching `where` arrived; returns them."""
        def enough() -> bool:
            return len([e for e in self.events if isinstance(e, kind) and where(e)]) >= count
        with self._cond:
            if not self._cond.wait_for(enough, timeout):
                raise AssertionError(f"expected {count} {kind.__name__}, got events {self.events}")
            return [e for e in self.events if isinstance(e, kind) and where(e)]


@pytest.fixture
def sink() -> EventSink:
    return EventSink()


def _pcsc_readers() -> list[str] | None:
    from smartcard import scard
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return None
    try:
        hr, names = scard.SCardListReaders(ctx, [])
        return list(names) if hr == scard.SCARD_S_SUCCESS else []
    finally:
        scard.SCardReleaseContext(ctx)


class Pcscd:
    """A pcscd we own: started in the foreground with APDU logging, stopped by its PID."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start pcscd and wait until the vpcd virtual reader is listed."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(["pcscd", "--foreground", "--apdu"], stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: any("Virtual PCD" in r for r in (_pcsc_readers() or [])) or self.proc.poll() is not None,
                   10, "pcscd to list the vpcd reader")
        if self.proc.poll() is not None:
            raise RuntimeError(f"pcscd exited with {self.proc.returncode}; see {self.log_path}")

    def stop(self) -> None:
        """Terminate our pcscd by PID and wait for it to exit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None


@pytest.fixture(scope="module")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pcscd]:
    """Our pcscd for one test module. There is one pcscd per machine (its socket is /run/pcscd, vpcd's port is
    fixed), so a module holds the lock below while it uses it: a module on the other pytest-xdist worker waits."""
    pytest.importorskip("smartcard")
    if shutil.which("pcscd") is None:
        pytest.skip("pcscd is not installed (apt install pcscd vsmartcard-vpcd)")
    with open(PCSCD_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _pcsc_readers() is not None:
            pytest.fail("a pcscd not started by the tests is running; stop it so the tests can control their own")
        daemon = Pcscd(tmp_path_factory.mktemp("pcscd") / "pcscd.log")
        daemon.start()
        try:
            yield daemon
        finally:
            daemon.stop()
