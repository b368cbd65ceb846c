"""Fixtures every test tier shares: a kiosk on a temporary data directory and the real console script."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from kiosk.app import Kiosk

T0 = 1_795_000_000_000  # a fixed instant (2026-11-18) so tests never read the clock


class FakeClock:
    """Milliseconds that move only when a test says so."""

    def __init__(self, start: int = T0) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@pytest.fixture(autouse=True)
def key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's kiosk keys in its own folder, never the machine's /etc/memberkiosk/keys."""
    path = tmp_path / "keys"
    monkeypatch.setenv("MEMBERKIOSK_KEY_DIR", str(path))
    return path


@pytest.fixture
def tiny_disk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A tmpfs of 1 MiB (or the size a test asks for with indirect parametrization): a real ENOSPC, not a mock."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={getattr(request, 'param', '1m')}", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def terminate(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop a process as systemd stops a service: SIGTERM, then SIGKILL when it has not exited within `timeout`."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition", poll: float = 0.01) -> Any:
    """Poll `predicate` until it is truthy and return its value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def kiosk(tmp_path: Path, clock: FakeClock) -> Iterator[Kiosk]:
    k = Kiosk.open(tmp_path / "data", clock=clock, kiosk_id="k1", store_id="s1")
    yield k
    k.close()


def _console_script() -> str:
    found = shutil.which("memberkiosk", path=str(Path(sys.executable).parent)) or shutil.which("memberkiosk")
    assert found, "the memberkiosk console script is not installed: run tests/run.sh"
    return found


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run the installed `memberkiosk` on a temporary data directory; `.json()` parses --json output."""
    script = _console_script()
    data_dir = tmp_path / "cli-data"

    def run(*args: str, input: str | None = None, check_rc: int | None = 0) -> subprocess.CompletedProcess:
        env = {**os.environ, "MEMBERKIOSK_DATA_DIR": str(data_dir), "MEMBERKIOSK_KIOSK_ID": "k9"}
        proc = subprocess.run([script, *args], capture_output=True, text=True, env=env, input=input, timeout=60)
        if check_rc is not None:
            assert proc.returncode == check_rc, f"rc={proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}"
        proc.json = lambda: json.loads(proc.stdout)  # type: ignore[attr-defined]
        return proc

    run.data_dir = data_dir  # type: ignore[attr-defined]
    return run
