"""Hub store fixtures: every test runs on SQLite and on a real PostgreSQL that the session starts and stops; the
service tests add a real mosquitto (tests/mqtt's fixtures), hub workers and kiosks on the wire.

The server starts once (initdb about a second); each test gets a schema of its own in it, so tests never see
each other's rows and nothing needs dropping between them.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

from mqtt.hub.service import HubService
from mqtt.hub.store import HubStore
from tests.conftest import FakeClock
from tests.hub.kiosks import WireKiosk
from tests.hub.postgres import Postgres, bin_dir
from tests.mqtt.broker import Mosquitto
from tests.mqtt.conftest import broker, callback_errors, fail_on_callback_errors, own_broker  # noqa: F401

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server of the test session's own."""
    programs = bin_dir()
    if programs is None or not (programs / "initdb").exists():
        _missing("PostgreSQL is not installed (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401  (only to know whether the hub extra is installed)
    except ImportError:
        _missing("psycopg is not installed (pip install -e '.[hub]')")
    server = Postgres(programs)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _missing(why: str) -> None:
    """Skip on a developer's machine without the package; fail in CI, where bootstrap installs it."""
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty hub database: a file for SQLite, a fresh schema on the session's server for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/hub.db"
    server: Postgres = request.getfixturevalue("postgres")
    name = f"t_{uuid.uuid4().hex[:16]}"
    import psycopg

    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return f"{server.url}&options=-csearch_path%3D{name}"


@pytest.fixture
def hub(store_url: str, clock: FakeClock) -> Iterator[HubStore]:
    """An open hub store on each backend."""
    store = HubStore.open(store_url, clock=clock)
    yield store
    store.close()


@pytest.fixture
def store(store_url: str) -> Iterator[HubStore]:
    """An open hub store on each backend, on the wall clock (for the service tests)."""
    s = HubStore.open(store_url)
    yield s
    s.close()


@pytest.fixture
def serve(store: HubStore, request: pytest.FixtureRequest) -> Iterator[Callable[..., HubService]]:
    """Start hub workers on the test's store (`serve()`, `serve(on=other_broker, share=1.0)`); stopped after."""
    started: list[HubService] = []
    session_broker: Mosquitto = request.getfixturevalue("broker")

    def start(on: Mosquitto | None = None, **kw) -> HubService:
        worker_store = store.reopen()  # the worker's own connection: the test reads through `store` meanwhile
        stores.append(worker_store)
        service = HubService(worker_store, (on or session_broker).settings("hub", client_id=f"hub-test-{len(started)}"),
                             **kw)
        started.append(service)
        service.start()
        return service

    stores: list[HubStore] = []
    yield start
    for service in started:
        service.stop()
    for s in stores:
        s.close()


@pytest.fixture
def kiosk(request: pytest.FixtureRequest) -> Iterator[Callable[..., WireKiosk]]:
    """Connect as a test kiosk (`kiosk("shop1-k1")`, `kiosk("shop1-k1", on=other_broker)`); closed after."""
    opened: list[WireKiosk] = []

    def open_(kiosk_id: str, on: Mosquitto | None = None) -> WireKiosk:
        k = WireKiosk(on or request.getfixturevalue("broker"), kiosk_id)
        opened.append(k)
        return k

    yield open_
    for k in opened:
        k.close()
