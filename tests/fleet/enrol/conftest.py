"""Enrolment fixtures: an operator key, tokens for the `fleet broker-config` broker's kiosks, and head office's
enrolment desk (mqtt/hub/enrolment.py) answering on that broker over a hub store of the test's own."""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mqtt.connection import Connection
from mqtt.fleet import enrol
from mqtt.fleet.enrol_kiosk import Place
from mqtt.hub.enrolment import EnrolmentDesk
from mqtt.hub.store import HubStore
from tests.fleet.conftest import FleetBroker


@pytest.fixture(scope="session")
def operator() -> Ed25519PrivateKey:
    """The chain operator's key (a fresh one per session)."""
    return Ed25519PrivateKey.generate()


@pytest.fixture
def make_token(fleet_broker: FleetBroker, operator: Ed25519PrivateKey) -> Callable[..., str]:
    """A token's text for a kiosk of the broker, valid `ttl` s from `now` (ms), signed by `key`."""
    def make(kiosk: str = "shop1-k1", store: str = "shop1", key: Ed25519PrivateKey | None = None,
             now: int | None = None, ttl: int = 600, password: str | None = None) -> str:
        key = key or operator
        token = enrol.make(broker=fleet_broker.url, ca=fleet_broker.pki.ca_file.read_text(), store=store,
                           kiosk=kiosk, password=password or fleet_broker.password(kiosk), operator=key,
                           pii_key=bytes(range(32)), now=now or int(time.time() * 1000), ttl=ttl)
        return enrol.encode(token, key)
    return make


@pytest.fixture
def place(tmp_path: Path) -> Callable[[str], Place]:
    """Where a fresh kiosk called `name` keeps its identity: its own config file and key directory."""
    return lambda name="kiosk": Place(tmp_path / name / "kiosk.toml", tmp_path / name / "keys")


@pytest.fixture
def hub_url(tmp_path: Path) -> str:
    """Head office's database."""
    return f"sqlite:///{tmp_path}/hub.db"


@pytest.fixture
def desk(fleet_broker: FleetBroker, hub_url: str) -> Iterator[EnrolmentDesk]:
    """Head office answering enrol requests, as `hub serve` does."""
    store = HubStore.open(hub_url)
    conn = Connection(fleet_broker.settings("hub", client_id=f"hub-enrol-{uuid.uuid4().hex[:8]}"))
    conn.connect(5.0)
    desk = EnrolmentDesk(store, conn)
    desk.start()
    yield desk
    desk.stop()
    conn.close()
    store.close()
