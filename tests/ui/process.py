"""The kiosk UI as its own process, the way systemd or the demo command starts it, offscreen."""
from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time

from tests.conftest import _console_script

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_until_started(args: list[str], env: dict[str, str], timeout_s: float = 60) -> tuple[int, str]:
    """Run `memberkiosk ARGS` offscreen until the UI logs its start time, stop it with SIGTERM; its exit code and log."""
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
    return proc.returncode, ANSI.sub("", "".join(lines) + rest)
