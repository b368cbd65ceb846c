"""`memberkiosk hub`: serve killed with SIGKILL mid-stream and started again, the read commands' JSON, documents."""
from __future__ import annotations

import select
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import pytest

from core.directory import REGISTERED, Change
from mqtt import messages, topics
from mqtt.hub.store import HubStore
from tests.conftest import _console_script
from tests.hub.helpers import T0, event
from tests.hub.kiosks import WireKiosk
from tests.mqtt.broker import KIOSKS, Mosquitto, password

N = 1000  # events per kiosk


@pytest.fixture
def hub_args(broker: Mosquitto, tmp_path: Path) -> list[str]:
    """What `hub serve` and `hub documents publish` need to log in as user hub."""
    secret = tmp_path / "hub.password"
    secret.write_text(password("hub") + "\n")
    return ["--broker", broker.url, "--ca-file", str(broker.pki.ca_file), "--password-file", str(secret)]


def start_serving(store_url: str, hub_args: list[str], log: Path) -> subprocess.Popen[str]:
    with log.open("a") as err:
        proc = subprocess.Popen([_console_script(), "hub", "serve", "--db", store_url, *hub_args],
                                stdout=subprocess.PIPE, stderr=err, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline() if ready else ""
    assert line.startswith("hub serving "), f"hub serve did not start: {line!r} {log.read_text()[-2000:]}"
    return proc


def events_of(kiosk: str) -> list:
    return [event(kiosk, s, f"m{s % 3}", 10, store=KIOSKS[kiosk]) for s in range(1, N + 1)]


def test_hub_serve_killed_mid_stream_and_restarted_loses_nothing(store_url: str, hub_args: list[str], kiosk,
                                                                  tmp_path: Path, cli: Callable) -> None:
    log = tmp_path / "hub.log"
    hub = start_serving(store_url, hub_args, log)
    kiosks = [kiosk(k) for k in KIOSKS]
    kiosks[0].send_changes([Change("c1", "m1", "shop1-k1", T0, REGISTERED, {"phone": "13800138000",
                                                                             "name": "张三"})], upto=1)
    for k in kiosks:
        k.send(events_of(k.kiosk), max_batch=20)
    kiosks[0].expect("acks", 10)  # mid-stream
    hub.send_signal(signal.SIGKILL)
    assert hub.wait(10) == -signal.SIGKILL
    hub.stdout.close()
    hub = start_serving(store_url, hub_args, log)
    try:
        for k in kiosks:
            k.deliver(events_of(k.kiosk))
    finally:
        hub.send_signal(signal.SIGTERM)
        rc = hub.wait(15)
        hub.stdout.close()
    assert rc == 0, log.read_text()[-3000:]
    with HubStore.open(store_url) as store:
        for k in KIOSKS:
            assert [e.seq for e in store.events(k, limit=10 * N)] == list(range(1, N + 1))
        assert sum(store.balances(f"m{m}").stored_value for m in range(3)) == len(KIOSKS) * N * 10

    db = ["--db", store_url]
    kiosks_json = cli("hub", "kiosks", "--json", *db).json()
    assert [(k["kiosk_id"], k["store_id"], k["watermark"], k["backlog"]) for k in kiosks_json] == [
        ("shop1-k1", "shop1", N, 0), ("shop1-k2", "shop1", N, 0), ("shop2-k1", "shop2", N, 0)]
    assert all(k["last_seen"] > 0 for k in kiosks_json)
    balances = cli("hub", "balances", "m1", "--json", *db).json()
    assert balances["stored_value"] == sum(10 for s in range(1, N + 1) if s % 3 == 1) * len(KIOSKS)
    assert {a["kiosk_id"] for a in balances["allowances"]} <= set(KIOSKS)
    [found] = cli("hub", "members", "find", "--phone", "13800138000", "--json", *db).json()
    assert (found["member_id"], found["values"]["name"]) == ("m1", "张三")
    assert cli("hub", "reconcile", "--json", *db).json() == []


def test_read_commands_without_a_database_say_where_they_looked(cli) -> None:
    proc = cli("hub", "kiosks", "--json", check_rc=2)
    assert "no hub database at" in proc.stderr and "--db" in proc.stderr


def test_documents_are_published_retained_for_the_store(hub_args: list[str], broker: Mosquitto, tmp_path: Path,
                                                         cli) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[earn]\nper_yuan = 1\n')
    out = cli("hub", "documents", "publish", *hub_args, "--store", "shop1", "--name", "rules", "--format", "toml",
              str(rules), "--json").json()
    assert out["topic"] == topics.document("shop1", "rules")
    k1 = WireKiosk(broker, "shop1-k1")  # subscribing after the publish: the document is retained
    try:
        got = []
        k1.conn.subscribe(topics.store_documents("shop1"), lambda m: got.append(messages.decode(m.topic, m.payload)))
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
        assert got and got[0].body == {"name": "rules", "format": "toml", "version": out["version"],
                                       "text": rules.read_text()}
    finally:
        k1.close()
