"""`memberkiosk sync run` and `sync status` through the installed command, against a real broker and hub."""
from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from tests.agent.test_protocol import wait_until
from tests.conftest import _console_script
from tests.mqtt.broker import Mosquitto, password
from tests.sync.helpers import share_pii_key

K1 = "shop1-k1"


def _env(tmp_path: Path, broker: Mosquitto, secret: str) -> dict[str, str]:
    keys = tmp_path / "keys-k1"
    share_pii_key(tmp_path / "chain-pii.key", keys)
    (keys / "mqtt.password").write_text(secret + "\n")
    return {**os.environ, "MEMBERKIOSK_DATA_DIR": str(tmp_path / "k1"), "MEMBERKIOSK_KIOSK_ID": K1,
            "MEMBERKIOSK_STORE_ID": "shop1", "MEMBERKIOSK_KEY_DIR": str(keys), "MEMBERKIOSK_BROKER": broker.url,
            "MEMBERKIOSK_BROKER_CA_FILE": str(broker.pki.ca_file)}


def _status(env: dict[str, str]) -> dict:
    proc = subprocess.run([_console_script(), "sync", "status", "--json"], env=env, capture_output=True, text=True,
                          timeout=30, check=True)
    return json.loads(proc.stdout)


def test_sync_run_syncs_until_sigterm_and_status_says_so(tmp_path: Path, broker: Mosquitto, start_hub) -> None:
    hub = start_hub()
    env = _env(tmp_path, broker, password(K1))
    subprocess.run([_console_script(), "members", "add", "--phone", "13800138000", "--consent", "--json"], env=env,
                   capture_output=True, check=True, timeout=30)
    run = subprocess.Popen([_console_script(), "sync", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        wait_until(lambda: _status(env)["acked_seq"] == 1 and _status(env)["connected"], timeout=20)
        assert hub.watermark(K1) == 1
    finally:
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=15)
    assert run.returncode == 0, err
    status = _status(env)
    assert {"connected", "unacked", "acked_seq", "last_ack_at", "allowances"} <= set(status)
    assert (status["connected"], status["unacked"], status["acked_seq"]) == (False, 0, 1)


def test_sync_run_refused_by_the_broker_exits_2_with_the_reason(tmp_path: Path, broker: Mosquitto) -> None:
    env = _env(tmp_path, broker, "not-the-password")
    proc = subprocess.run([_console_script(), "sync", "run"], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "not authorized (reason code 135)" in proc.stderr.lower() and "sync.password_file" in proc.stderr
