"""A chain on this machine, through the installed `memberkiosk` only: a real mosquitto (TLS, per-kiosk users, the
shipped ACL), `memberkiosk hub serve` and kiosks running `memberkiosk sync run`, each a process of its own."""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import _console_script, terminate, wait_until
from tests.hub.conftest import postgres, store_url  # noqa: F401  (the hub on SQLite and PostgreSQL)
from tests.mqtt import conftest as mqtt_fixtures
from tests.mqtt.broker import KIOSKS, Mosquitto, password
from tests.sync.helpers import share_pii_key

own_broker = mqtt_fixtures.own_broker
PIN = "888888\n"  # the manager M01's PIN at every kiosk; PINs come on stdin, never in argv


class Process:
    """A `memberkiosk` process in the background, stopped with SIGTERM (or killed) by the test."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, ready: str | None = None) -> None:
        with log.open("a") as err:
            self.proc = subprocess.Popen([_console_script(), *args], env=env, stdout=subprocess.PIPE, stderr=err,
                                         text=True)
        self.log = log
        if ready is not None:
            waiting, _, _ = select.select([self.proc.stdout], [], [], 30)
            line = self.proc.stdout.readline() if waiting else ""
            assert line.startswith(ready), f"{args[:2]} did not start: {line!r}\n{log.read_text()[-3000:]}"

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as a power cut."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stdout.close()

    def stop(self) -> int:
        """SIGTERM and the exit code."""
        if self.proc.poll() is None:
            terminate(self.proc, 20)
        self.proc.stdout.close()
        return self.proc.returncode


class KioskCli:
    """One kiosk: its data and key dirs, its configuration in the environment, its commands and its agent."""

    def __init__(self, root: Path, kiosk_id: str, broker: Mosquitto, secret: str | None = None) -> None:
        self.id, self.store, self.root = kiosk_id, KIOSKS[kiosk_id], root
        self.keys = keys = root / f"{kiosk_id}-keys"
        share_pii_key(root / "chain-pii.key", keys)
        (keys / "mqtt.password").write_text((secret or password(kiosk_id)) + "\n")
        self.env = {**os.environ, "MEMBERKIOSK_DATA_DIR": str(root / kiosk_id), "MEMBERKIOSK_KIOSK_ID": kiosk_id,
                    "MEMBERKIOSK_STORE_ID": self.store, "MEMBERKIOSK_KEY_DIR": str(keys),
                    "MEMBERKIOSK_BROKER": broker.url, "MEMBERKIOSK_BROKER_CA_FILE": str(broker.pki.ca_file),
                    "MEMBERKIOSK_OPERATOR": "M01"}
        self.agent: Process | None = None

    def __call__(self, *args: str, rc: int | None = 0, input: str | None = None) -> subprocess.CompletedProcess:
        """Run a command at this kiosk; its exit code must be `rc` (None: any)."""
        proc = subprocess.run([_console_script(), *args], env=self.env, capture_output=True, text=True, timeout=60,
                              input=input)
        assert rc is None or proc.returncode == rc, \
            f"{self.id} {args}: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def json(self, *args: str, input: str | None = None) -> Any:
        return json.loads(self(*args, "--json", input=input).stdout)

    def start_sync(self) -> None:
        self.agent = Process(["sync", "run"], self.env, self.root / f"{self.id}-agent.log")

    def stop_sync(self) -> int:
        code, self.agent = self.agent.stop(), None
        return code


class HubCli:
    """`memberkiosk hub serve` on a database, and the hub's read commands on it."""

    def __init__(self, root: Path, broker: Mosquitto, db: str, secret: str | None = None) -> None:
        file = root / "hub.password"
        file.write_text((secret or password("hub")) + "\n")
        self.db, self.root = db, root
        self.login = ["--broker", broker.url, "--ca-file", str(broker.pki.ca_file), "--password-file", str(file)]
        self.server: Process | None = None

    def serve(self) -> None:
        self.server = Process(["hub", "serve", "--db", self.db, *self.login], dict(os.environ),
                              self.root / "hub.log", ready="hub serving ")

    def json(self, *args: str) -> Any:
        """A read command's JSON (`hub.json("kiosks")`)."""
        proc = subprocess.run([_console_script(), "hub", *args, "--db", self.db, "--json"], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, f"hub {args}: {proc.stderr}"
        return json.loads(proc.stdout)

    def publish(self, store: str, name: str, fmt: str, path: Path) -> None:
        """Publish a store's rules or catalog to its kiosks."""
        subprocess.run([_console_script(), "hub", "documents", "publish", "--store", store, "--name", name,
                        "--format", fmt, str(path), *self.login], check=True, capture_output=True, timeout=60)


def wait_for(what: str, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    """The shared poll with the chain's 30 s bound, every 0.1 s (a predicate here often runs a command)."""
    return wait_until(predicate, timeout, what, poll=0.1)


@pytest.fixture
def chain(tmp_path: Path, own_broker: Mosquitto) -> Iterator[Callable[..., Any]]:
    """`chain("hub", db)` or `chain("shop1-k1")`: the hub or a kiosk of this test's own broker (a session broker
    would hand a new hub the messages queued for an earlier test's hub session); everything stopped after."""
    made: list[Any] = []
    broker = own_broker

    def make(name: str, db: str | None = None) -> Any:
        made.append(HubCli(tmp_path, broker, db or f"sqlite:///{tmp_path}/hub.sqlite") if name == "hub"
                    else KioskCli(tmp_path, name, broker))
        return made[-1]

    yield make
    for thing in made:
        process = thing.server if isinstance(thing, HubCli) else thing.agent
        if process is not None and process.proc.poll() is None:
            process.stop()
