"""The hub's fleet worker on the fleet broker, on SQLite and on the session's PostgreSQL, with wire kiosks."""
from __future__ import annotations

from typing import Callable, Iterator

import pytest

from mqtt.hub.fleet import FleetService
from mqtt.hub.store import HubStore
from tests.fleet.conftest import FleetBroker
from tests.fleet.hub.peers import Peer
from tests.hub.conftest import hub, postgres, store, store_url  # noqa: F401
from tests.mqtt.broker import KIOSKS


@pytest.fixture
def fleet_service(store: HubStore, fleet_broker: FleetBroker) -> Iterator[FleetService]:  # noqa: F811
    """A fleet worker recording into the test's hub store (through a connection of its own)."""
    service = FleetService(store, fleet_broker.settings("hub", client_id=f"hub-fleet-test-{id(store)}"))
    service.start()
    yield service
    service.stop()


@pytest.fixture
def peer(fleet_broker: FleetBroker) -> Iterator[Callable[..., Peer]]:
    """Connect as a kiosk (`peer("shop1-k1")`, `peer("shop1-k1", operator=public_key)`); closed after."""
    opened: list[Peer] = []

    def open_(kiosk: str, **kw) -> Peer:
        p = Peer(fleet_broker, KIOSKS[kiosk], kiosk, **kw)
        opened.append(p)
        return p

    yield open_
    for p in opened:
        p.close()
