"""The watchdog contract, against a real AF_UNIX datagram socket the test binds as systemd would: READY=1 at the
first frame, WATCHDOG=1 while the Kivy main loop turns (busy or not), and silence once it hangs."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.notify import Notifier, watchdog_seconds

REPO = Path(__file__).resolve().parents[2]
WATCHDOG_SEC = 1.0
# A Kivy app under supervise(): idle for 2.5 s, then busy (frames of 0.25 s, each well under WatchdogSec),
# then hung on the UI thread. It announces each phase through the same socket (STATUS=, as systemd shows it).
CHILD = """
import sys, threading, time
from pathlib import Path
from kiosk.ui import boot
boot.configure(Path(sys.argv[1]), fullscreen=False, size=(320, 200))
from kivy.app import App
from kivy.clock import Clock
from kivy.uix.label import Label
from kiosk.ui.watchdog import supervise

class Probe(App):
    def build(self):
        return Label(text="probe")

    def on_start(self):
        Clock.schedule_once(self.busy, 2.5)

    def busy(self, _dt):
        notifier.send("STATUS=busy")
        self.frames = Clock.schedule_interval(lambda _dt: time.sleep(0.25), 0)
        Clock.schedule_once(self.hang, 1.5)

    def hang(self, _dt):
        self.frames.cancel()
        notifier.send("STATUS=hanging")
        threading.Event().wait()  # the UI thread blocks for good, as in a deadlock

app = Probe()
notifier = supervise(app)
app.run()
"""


class Supervisor:
    """What systemd does with the datagrams: a service that has not pinged for WatchdogSec is restarted."""

    def __init__(self, sock: socket.socket, watchdog_sec: float) -> None:
        self.sock, self.watchdog_sec = sock, watchdog_sec
        self.last_ping: float | None = None
        self.ready = False
        self.gaps: list[float] = []

    def receive(self, timeout: float) -> str | None:
        """The next message within `timeout` seconds, or None."""
        self.sock.settimeout(timeout)
        try:
            message = self.sock.recv(4096).decode()
        except socket.timeout:
            return None
        now = time.monotonic()
        if "READY=1" in message.splitlines():
            self.ready, self.last_ping = True, now
        if "WATCHDOG=1" in message.splitlines():
            assert self.ready, "a ping before READY=1"
            self.gaps.append(now - self.last_ping)
            self.last_ping = now
        return message

    def would_restart(self) -> bool:
        return self.ready and time.monotonic() - self.last_ping > self.watchdog_sec


@pytest.fixture
def listening() -> socket.socket:
    """An abstract-namespace datagram socket, as systemd's NOTIFY_SOCKET often is ("@..." in the environment)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(f"\0memberkiosk-test-{os.getpid()}-{time.monotonic_ns()}")
    yield sock
    sock.close()


def test_a_hung_ui_stops_pinging_and_a_busy_one_does_not(listening: socket.socket, tmp_path: Path) -> None:
    address = "@" + listening.getsockname()[1:].decode()
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "NOTIFY_SOCKET": address,
           "WATCHDOG_USEC": str(int(WATCHDOG_SEC * 1_000_000)), "PYTHONPATH": str(REPO)}
    env.pop("WATCHDOG_PID", None)
    script = tmp_path / "probe.py"  # a file: Kivy looks for the App's .kv beside its source
    script.write_text(CHILD)
    child = subprocess.Popen([sys.executable, str(script), str(tmp_path / "kivy")], env=env, cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    supervisor = Supervisor(listening, WATCHDOG_SEC)
    try:
        first = supervisor.receive(timeout=10)  # Kivy's cold start, offscreen
        assert first is not None and first.splitlines()[0] == "READY=1", first
        phases: list[str] = []
        pings_when = {}  # how many pings had come when each phase began
        while "STATUS=hanging" not in phases:
            message = supervisor.receive(timeout=WATCHDOG_SEC)
            assert message is not None, f"no ping for {WATCHDOG_SEC} s before the hang ({phases})"
            assert not supervisor.would_restart()
            for line in message.splitlines():
                if line.startswith("STATUS="):
                    phases.append(line)
                    pings_when[line] = len(supervisor.gaps)
        assert phases == ["STATUS=busy", "STATUS=hanging"]
        # pings both idle and busy (how many depends on the machine's load: a loaded CI box gave one idle ping in
        # 1.5 s; the gaps below are what systemd judges)
        assert pings_when["STATUS=busy"] >= 1 and pings_when["STATUS=hanging"] - pings_when["STATUS=busy"] >= 1, \
            pings_when
        assert max(supervisor.gaps) < WATCHDOG_SEC, supervisor.gaps
        assert supervisor.receive(timeout=2 * WATCHDOG_SEC) is None, "the hung loop still pings"
        assert supervisor.would_restart() and child.poll() is None  # alive but silent: systemd kills it
    finally:
        child.kill()  # WatchdogSignal=, then Restart=always starts a fresh one
        _, err = child.communicate(timeout=10)
    assert child.returncode == -9, err.decode()[-2000:]


def test_notify_sends_datagrams_to_a_path_socket(tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(tmp_path / "notify"))
        notifier = Notifier.from_env({"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "30000000"})
        notifier.ready("selling")
        notifier.ping()
        notifier.stopping()
        notifier.close()
        assert [sock.recv(100) for _ in range(3)] == [b"READY=1\nSTATUS=selling", b"WATCHDOG=1", b"STOPPING=1"]
    assert notifier.watchdog_seconds == 30.0


def test_outside_systemd_nothing_is_sent_and_nothing_fails(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    quiet = Notifier.from_env({})
    assert not quiet.enabled and quiet.watchdog_seconds is None
    quiet.ready()
    gone = Notifier(str(tmp_path / "no-such-socket"))
    gone.ping()  # the manager went away: logged, the kiosk goes on
    gone.close()
    assert "cannot notify the service manager" in caplog.text


def test_the_watchdog_is_only_for_the_process_systemd_named() -> None:
    assert watchdog_seconds({"WATCHDOG_USEC": "6000000", "WATCHDOG_PID": "42"}, pid=42) == 6.0
    assert watchdog_seconds({"WATCHDOG_USEC": "6000000", "WATCHDOG_PID": "42"}, pid=43) is None
    assert watchdog_seconds({"WATCHDOG_USEC": "soon"}, pid=42) is None
