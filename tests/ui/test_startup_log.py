"""The demo and the appliance's kiosk command start with a clean log: no traceback, no ERROR or CRITICAL line
(Kivy's input providers used to log one for a missing libmtdev.so.1)."""
from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time
from pathlib import Path

from tests.conftest import _console_script

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def log_until_started(args: list[str], env: dict[str, str], timeout_s: float = 60) -> str:
    """Run `memberkiosk ARGS` offscreen until the UI reports its start time, stop it with SIGTERM, return its log."""
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_NO_FILELOG": "1", **env}
    proc = subprocess.Popen([_console_script(), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not any("start" in line and " ms" in line for line in lines):
            ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
            if not ready or proc.poll() is not None:
                break
            lines.append(proc.stdout.readline())
        assert any("start" in line and " ms" in line for line in lines), "".join(lines)
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return ANSI.sub("", "".join(lines) + rest)


def assert_clean(log: str) -> None:
    """No traceback and no ERROR or CRITICAL line, from Kivy ([ERROR ] [Input ] ...) or from our logging."""
    bad = [line for line in log.splitlines()
           if "Traceback" in line or re.match(r"\s*(\[\s*(ERROR|CRITICAL)\b|(ERROR|CRITICAL) )", line)]
    assert not bad, log


def test_demo_starts_without_a_traceback(tmp_path: Path) -> None:
    log = log_until_started(["demo", "--demo-dir", str(tmp_path / "demo")], {})
    assert "Start application main loop" in log
    assert_clean(log)


def test_kiosk_full_screen_with_touch_input_starts_without_a_traceback(tmp_path: Path) -> None:
    log = log_until_started(["--data-dir", str(tmp_path / "data"), "kiosk"], {"MEMBERKIOSK_KIOSK_ID": "k9"})
    assert_clean(log)
