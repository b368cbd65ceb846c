"""Kiosks on real data directories syncing through a real mosquitto (TLS, per-kiosk users, the shipped ACL).

The broker fixtures and the check that fails a test whose MQTT code logged an error come from tests/mqtt.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from kiosk.app import Kiosk
from mqtt.agent.agent import SyncAgent
from mqtt.connection import Connection, Will
from mqtt.hub.service import HubService
from mqtt.hub.store import HubStore
from mqtt import topics
from tests.agent.scripted_hub import ScriptedHub
from tests.mqtt.broker import KIOSKS, Mosquitto
from tests.mqtt import conftest as mqtt_fixtures
from tests.sync.helpers import share_pii_key

# the broker fixtures of tests/mqtt, and its check that no MQTT callback logged an error
broker, own_broker = mqtt_fixtures.broker, mqtt_fixtures.own_broker
callback_errors, fail_on_callback_errors = mqtt_fixtures.callback_errors, mqtt_fixtures.fail_on_callback_errors


@pytest.fixture
def open_kiosk(tmp_path: Path) -> Iterator[Callable[..., Kiosk]]:
    """Open a kiosk of the test broker's users (`open_kiosk("shop1-k1")`) in a data directory of its own (or
    `data_dir`), in a chain (escrow on), sharing the chain's pii key; closed after the test."""
    opened: list[Kiosk] = []

    def open_(kiosk_id: str, data_dir: str | None = None, **kwargs: Any) -> Kiosk:
        keys = tmp_path / f"{kiosk_id}-keys"
        share_pii_key(tmp_path / "chain-pii.key", keys)
        k = Kiosk.open(tmp_path / (data_dir or kiosk_id), kiosk_id=kiosk_id, store_id=KIOSKS[kiosk_id], operator="M01",
                       key_dir=keys, escrow=True, **kwargs)
        opened.append(k)
        return k

    yield open_
    for k in opened:
        k.close()


@pytest.fixture
def start_agent(broker: Mosquitto) -> Iterator[Callable[..., SyncAgent]]:
    """Start a kiosk's agent on the session broker (or `on=`), with test-sized timings; stopped after the test."""
    started: list[SyncAgent] = []

    def start(kiosk: Kiosk, on: Mosquitto | None = None, **kwargs: Any) -> SyncAgent:
        agent = SyncAgent(kiosk, agent_settings(on or broker, kiosk), kiosk.clock.now_ms,
                          **{"pull_seconds": 0.5, **kwargs})
        agent.start()
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.stop()


def agent_settings(broker: Mosquitto, kiosk: Kiosk, **overrides: Any) -> Any:
    """The agent's connection settings for a kiosk on the test broker, as settings.broker_settings makes them."""
    who = kiosk.who
    will = Will(topics.status(who.store_id, who.kiosk_id), topics.OFFLINE)
    return broker.settings(who.kiosk_id, client_id=f"{who.kiosk_id}-agent", will=will, **overrides)


@pytest.fixture
def scripted_hub(broker: Mosquitto) -> Iterator[Callable[..., ScriptedHub]]:
    """A peer logged in as `hub` that plays the hub's side as a test scripts it."""
    hubs: list[Connection] = []

    def make(on: Mosquitto | None = None, **kwargs: Any) -> ScriptedHub:
        conn = Connection((on or broker).settings("hub", client_id=f"scripted-hub-{len(hubs)}"))
        hub = ScriptedHub(conn, **kwargs)
        conn.connect(5.0)
        hubs.append(conn)
        return hub

    yield make
    for conn in hubs:
        conn.close()


@pytest.fixture
def start_hub(tmp_path: Path, broker: Mosquitto) -> Iterator[Callable[..., HubStore]]:
    """Start a hub worker on SQLite (on the session broker, or `on=`); a connection of the test's own to its
    database, for looking at what it holds (the worker's threads use theirs)."""
    running: list[tuple[HubService, HubStore, HubStore]] = []

    def start(on: Mosquitto | None = None) -> HubStore:
        store = HubStore.open(f"sqlite:///{tmp_path}/hub.sqlite")
        service = HubService(store, (on or broker).settings("hub", client_id=f"hub-test-{len(running)}"))
        service.start()
        running.append((service, store, store.reopen()))
        return running[-1][2]

    yield start
    for service, store, reader in running:
        service.stop()
        store.close()
        reader.close()
