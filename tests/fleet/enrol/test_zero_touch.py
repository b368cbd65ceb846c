"""Zero-touch enrolment end to end: `memberkiosk kiosk` on a machine with no identity shows the enrol screen, the
technician scans a QR code made by `fleet enrol` with the kiosk's serial scanner (a pty here), and the kiosk
restarts as the enrolled kiosk, logs in to the real broker with the token's credential and appears in
`fleet status`. Nobody types on it."""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from mqtt.fleet import signing
from mqtt.hub.fleet import FleetService
from mqtt.hub.store import HubStore
from tests.conftest import _console_script, terminate
from tests.drivers.test_scanner_serial import Pty

BOUND = 40.0  # seconds for the whole walk: enrol screen, scan, restart, first status at the hub


def test_a_fresh_kiosk_enrols_from_its_scanner_and_appears_in_fleet_status(
        cli, fleet_broker, desk, hub_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(signing.PASSPHRASE_ENV, "correct horse battery")
    keys = cli("fleet", "keys", "init", "--dir", str(tmp_path / "op"), "--json").json()
    qr = tmp_path / "qr.png"
    cli("fleet", "enrol", "--store", "shop1", "--kiosk", "shop1-k1", "--out", str(qr), "--broker", fleet_broker.url,
        "--ca-file", str(fleet_broker.pki.ca_file), "--credentials", str(fleet_broker.dir / "credentials"),
        "--key-dir", str(tmp_path / "op"))
    with Image.open(qr) as image:
        [code] = zxingcpp.read_barcodes(image)  # what the kiosk's 2D scanner reads off the printout

    pty = Pty()
    config_file = tmp_path / "etc" / "kiosk.toml"  # as the image ships it: the scanner and the pinned key only
    config_file.parent.mkdir()
    config_file.write_text(f'[fleet]\noperator_key_sha256 = "{keys["sha256"]}"\n'
                           f'[devices.scanner]\ntype = "serial"\nport = "{pty.path}"\nbaud = 115200\n')
    hub = HubStore.open(hub_url)
    fleet = FleetService(hub, fleet_broker.settings("hub", client_id=f"hub-{uuid.uuid4().hex[:6]}"))
    fleet.start()
    env = {**os.environ, "MEMBERKIOSK_CONFIG": str(config_file), "MEMBERKIOSK_DATA_DIR": str(tmp_path / "data"),
           "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_NO_FILELOG": "1"}
    env.pop("MEMBERKIOSK_KIOSK_ID", None)
    log = (tmp_path / "kiosk.log").open("w+")
    proc = subprocess.Popen([_console_script(), "kiosk", "--windowed"], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + BOUND
        while "Start application main loop" not in (tmp_path / "kiosk.log").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "kiosk.log").read_text()
            time.sleep(0.1)
        while not _holds(proc.pid, pty.path):  # the scanner opens its port once the app has started
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "kiosk.log").read_text()
            time.sleep(0.05)
        time.sleep(0.1)  # pyserial flushes the input right after opening: send once that is behind it
        pty.send(code.text.encode() + b"\r")
        while not [k for k in hub.fleet_kiosks() if k.kiosk == "shop1-k1" and k.online]:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "kiosk.log").read_text()
            time.sleep(0.2)
        # the session's broker may still hold other tests' retained kiosk states: look at this kiosk's row
        [shown] = [k for k in cli("fleet", "status", "--json", "--db", hub_url).json() if k["kiosk"] == "shop1-k1"]
        assert (shown["store"], shown["kiosk"], shown["online"]) == ("shop1", "shop1-k1", True)
        assert "shop1-k1" in config_file.read_text() and "operator_key_sha256" in config_file.read_text()
    finally:
        terminate(proc, 15)
        fleet.stop()
        hub.close()
        pty.close()
        log.close()


def _holds(pid: int, path: str) -> bool:
    """Whether process `pid` has `path` open (the kiosk's scanner driver opened the pty)."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd) == path for fd in fds.iterdir())
    except OSError:  # an fd closed while we looked
        return False
