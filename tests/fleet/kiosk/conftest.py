"""Real kiosks in temporary data directories with their fleet agent, on the real mosquitto that `fleet broker-config`
wrote (per-kiosk credentials and ACL), and an operator that signs with a throwaway Ed25519 key and publishes as `hub`."""
from __future__ import annotations

import json
import queue
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.catalog import parse_catalog
from kiosk import config
from kiosk.app import Kiosk
from mqtt import topics
from mqtt.agent.agent import SyncAgent
from mqtt.connection import Connection, Inbound
from mqtt.fleet import protocol, signing
from mqtt.fleet.kiosk import FleetAgent, attach
from mqtt.fleet.protocol import Target
from tests.agent.conftest import agent_settings
from tests.conftest import FakeClock, wait_until
from tests.mqtt import conftest as mqtt_fixtures
from tests.mqtt.broker import KIOSKS, Mosquitto
from tests.pricing.conftest import DEMO

callback_errors, fail_on_callback_errors = mqtt_fixtures.callback_errors, mqtt_fixtures.fail_on_callback_errors
HOUR = 3_600_000


@pytest.fixture
def broker(fleet_broker: Mosquitto) -> Mosquitto:
    """The chain's broker as the operator sets it up (tests/fleet/conftest.py)."""
    return fleet_broker


@pytest.fixture(scope="session")
def operator_key() -> Ed25519PrivateKey:
    """The chain operator's key for this session (thrown away after)."""
    return Ed25519PrivateKey.generate()


class Operator:
    """Head office as `hub` on the broker: signs and publishes configs and commands, watches outcomes and health."""

    def __init__(self, conn: Connection, key: Ed25519PrivateKey) -> None:
        self.conn, self.key = conn, key
        self.outcomes: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.telemetry: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.status: dict[str, dict[str, Any]] = {}
        self.retained: set[str] = set()
        conn.subscribe(topics.hub_subscription("outcome", shared=False),
                       lambda m: self.outcomes.put((m.topic.split("/")[3], protocol.parse_outcome(m.payload))))
        conn.subscribe(topics.hub_subscription("telemetry", shared=False),
                       lambda m: self.telemetry.put((m.topic.split("/")[3], protocol.parse_telemetry(m.payload))))
        conn.subscribe(f"{topics.ROOT}/+/+/status", self._on_status)

    def _on_status(self, m: Inbound) -> None:
        if m.payload:
            self.status[m.topic.split("/")[3]] = protocol.parse_state(m.payload)

    def config(self, kind: str, body: str, version: int, to: str = "kiosk:shop1/shop1-k1", fmt: str | None = None,
               **kwargs: Any) -> dict[str, Any]:
        """Sign and publish (retained) a config; returns its payload."""
        doc = protocol.new_config(kind, version, Target.parse(to), fmt or protocol.FORMATS[kind][0], body, version)
        self.send(protocol.config_topic(Target.parse(to), kind), doc, retain=True, **kwargs)
        return doc

    def command(self, cmd: str, now: int, to: str = "kiosk:shop1/shop1-k1", args: dict[str, Any] | None = None,
                expires_in: int = HOUR, **kwargs: Any) -> dict[str, Any]:
        """Sign and publish a command valid from `now` (the kiosk's clock) for `expires_in` ms; returns its payload."""
        doc = protocol.new_command(cmd, Target.parse(to), now, now + expires_in, args)
        self.send(protocol.command_topic(Target.parse(to)), doc, **kwargs)
        return doc

    def send(self, topic: str, doc: dict[str, Any], retain: bool = False, key: Ed25519PrivateKey | None = None,
             raw: bytes | None = None) -> bytes:
        """Publish `doc` signed by `key` (default: the operator's), or `raw` bytes instead; returns what was sent."""
        data = raw if raw is not None else signing.sign(doc, key or self.key)
        if retain:
            self.retained.add(topic)
        self.conn.publish(topic, data, retain=retain).wait(5)
        return data

    def outcome(self, predicate: Callable[[dict[str, Any]], bool] = lambda o: True,
                timeout: float = 5.0) -> dict[str, Any]:
        """The next outcome that `predicate` accepts (others are dropped)."""
        while True:
            _, found = self.outcomes.get(timeout=timeout)
            if predicate(found):
                return found

    def clear(self) -> None:
        """Delete the retained configs this test published, so the next test's kiosks do not get them."""
        for topic in self.retained:
            self.conn.publish(topic, b"", retain=True).wait(5)


@pytest.fixture
def operator(broker: Mosquitto, operator_key: Ed25519PrivateKey) -> Iterator[Operator]:
    """The operator, connected as hub; clears its retained configs after the test."""
    conn = Connection(broker.settings("hub", client_id="fleet-operator-test"))
    conn.connect(5.0)
    op = Operator(conn, operator_key)
    yield op
    op.clear()
    conn.close()


def write_operator_pub(key_dir: Path, key: Ed25519PrivateKey) -> None:
    """What enrolment leaves in a kiosk's key directory: the operator's public key."""
    key_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    (key_dir / signing.PUBLIC_FILE).write_text(signing.public_text(key.public_key()) + "\n")


@pytest.fixture
def fleet_kiosk(tmp_path: Path, broker: Mosquitto, operator_key: Ed25519PrivateKey,
                operator: Operator) -> Iterator[Callable[..., tuple[Kiosk, FleetAgent]]]:
    """Open a kiosk with the demo rules and catalog and start its sync agent with the fleet agent riding on it;
    waits until the kiosk's fleet subscriptions are made. Stopped and closed after the test."""
    running: list[tuple[Kiosk, SyncAgent]] = []

    def start(kiosk_id: str = "shop1-k1", **fleet_kwargs: Any) -> tuple[Kiosk, FleetAgent]:
        keys = tmp_path / f"{kiosk_id}-keys"
        write_operator_pub(keys, operator_key)
        k = Kiosk.open(tmp_path / kiosk_id, clock=FakeClock(), kiosk_id=kiosk_id, store_id=KIOSKS[kiosk_id],
                       operator="M01", key_dir=keys)
        k.sales.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
        k.sales.load_catalog(parse_catalog((DEMO / "catalog.csv").read_text(encoding="utf-8"), "csv"))
        agent = SyncAgent(k, agent_settings(broker, k), k.clock.now_ms, pull_seconds=5.0)
        cfg = config.load(flags={"kiosk.key_dir": keys}, environ={})
        fleet = attach(agent, k, cfg, **fleet_kwargs)
        agent.start()
        running.append((k, agent))
        wait(lambda: agent.connection is not None and agent.connection.connected)
        wait(lambda: operator.status.get(kiosk_id, {}).get("state") == "online")
        return k, fleet

    yield start
    for k, agent in running:
        agent.stop()
        k.close()


wait = wait_until


def dumps(doc: Any) -> bytes:
    """JSON bytes (not signed): what a careless or hostile publisher sends."""
    return json.dumps(doc).encode()
