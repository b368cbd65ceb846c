"""`memberkiosk kiosk`, the command systemd starts: the real app in its own process, devices from the saved
configuration, the shop's name from settings; it draws its first frame and quits cleanly on SIGTERM."""
from __future__ import annotations

import json
from pathlib import Path

from tests.ui.process import run_until_started


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
    code, log = run_until_started(["kiosk", "--windowed"], {"MEMBERKIOSK_DATA_DIR": str(cli.data_dir)})
    assert code == 0, log
