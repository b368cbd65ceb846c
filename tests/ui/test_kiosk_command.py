"""`memberkiosk kiosk`, the command systemd starts: the real app in its own process, devices from the saved
configuration, the shop's name from settings; it draws its first frame and quits cleanly on SIGTERM."""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from pathlib import Path

from tests.conftest import _console_script


def test_devices_are_saved_only_when_they_answer(cli, tmp_path: Path) -> None:
    sims = tmp_path / "sims.json"
    sims.write_text(json.dumps({"card": {"type": "sim"}, "scanner": {"type": "sim"}, "printer": {"type": "sim"}}))
    cli("devices", "--config", str(sims), "--save")
    assert set(cli("devices", "--json").json()["configured"]) == {"card", "scanner", "printer"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"printer": {"type": "escpos", "transport": "network", "host": "127.0.0.1", "port": 9}}))
    refused = cli("devices", "--config", str(bad), "--save", check_rc=2)
    assert "not saved" in refused.stderr
    assert set(cli("devices", "--json").json()["configured"]) == {"card", "scanner", "printer"}


def test_kiosk_command_starts_the_ui_and_stops_on_sigterm(cli, tmp_path: Path) -> None:
    sims = tmp_path / "sims.json"
    sims.write_text(json.dumps({"card": {"type": "sim"}, "scanner": {"type": "sim"}}))
    cli("devices", "--config", str(sims), "--save")
    cli("settings", "--store-name", "鲜果超市")
    env = {**os.environ, "MEMBERKIOSK_DATA_DIR": str(cli.data_dir), "SDL_VIDEODRIVER": "offscreen",
           "KIVY_NO_ARGS": "1", "KIVY_NO_FILELOG": "1"}
    proc = subprocess.Popen([_console_script(), "kiosk", "--windowed"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        seen, deadline = [], time.monotonic() + 60
        while time.monotonic() < deadline and not any("start" in line and " ms" in line for line in seen):
            ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
            if not ready or proc.poll() is not None:
                break
            seen.append(proc.stdout.readline())
        assert any("start" in line and " ms" in line for line in seen), "".join(seen)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, "".join(seen) + out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
