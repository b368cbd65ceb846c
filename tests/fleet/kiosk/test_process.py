"""`memberkiosk sync run` as the kiosk's process: its retained JSON state, its last will when it is SIGKILLed,
telemetry with every key, and a `restart` command answered before the process exits for systemd to restart it."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from mqtt.fleet import protocol
from mqtt.fleet.kiosk import RESTART_EXIT
from tests.conftest import _console_script
from tests.fleet.kiosk.conftest import write_operator_pub, wait

K2 = "shop1-k2"


@pytest.fixture
def sync_run(tmp_path: Path, broker, operator_key) -> Iterator[Any]:
    """Start `memberkiosk sync run` for kiosk shop1-k2 (telemetry every 0.5 s); killed by its PID after the test."""
    keys = tmp_path / "keys-k2"
    write_operator_pub(keys, operator_key)
    (keys / "mqtt.password").write_text(broker.password(K2))
    (tmp_path / "kiosk.toml").write_text("[fleet]\ntelemetry_seconds = 0.5\n")
    env = {**os.environ, "MEMBERKIOSK_DATA_DIR": str(tmp_path / "k2"), "MEMBERKIOSK_KIOSK_ID": K2,
           "MEMBERKIOSK_STORE_ID": "shop1", "MEMBERKIOSK_KEY_DIR": str(keys), "MEMBERKIOSK_BROKER": broker.url,
           "MEMBERKIOSK_BROKER_CA_FILE": str(broker.pki.ca_file), "MEMBERKIOSK_CONFIG": str(tmp_path / "kiosk.toml")}
    proc = subprocess.Popen([_console_script(), "sync", "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)


def test_state_is_retained_json_and_the_will_says_offline_when_the_process_is_killed(sync_run, operator) -> None:
    wait(lambda: operator.status.get(K2, {}).get("state") == "online", timeout=15)
    state = operator.status[K2]
    assert (state["store"], state["kiosk"], state["version"], state["config_version"]) == \
        ("shop1", K2, protocol.software_version(), 0)
    _, telemetry = operator.telemetry.get(timeout=5)
    assert set(telemetry) == set(protocol.TELEMETRY_KEYS)
    assert telemetry["devices"] == {"reader": "absent", "scanner": "absent", "printer": "absent"}
    assert telemetry["disk_free"] > 0 and telemetry["locked"] is None and telemetry["unacked"] == 0
    sync_run.send_signal(signal.SIGKILL)
    wait(lambda: operator.status[K2]["state"] == "offline", timeout=5)  # the broker published the last will


def test_restart_is_answered_then_the_process_exits_for_systemd_to_start_it_again(sync_run, operator) -> None:
    wait(lambda: operator.status.get(K2, {}).get("state") == "online", timeout=15)
    now = operator.status[K2]["ts"]
    doc = operator.command("restart", now, to=f"kiosk:shop1/{K2}")
    got = operator.outcome(lambda o: o["id"] == doc["id"])
    assert got["ok"] and got["name"] == "restart"
    assert sync_run.wait(timeout=10) == RESTART_EXIT
