"""Hub store fixtures: every test runs on SQLite and on a real PostgreSQL that the session starts and stops.

The server starts once (initdb about a second); each test gets a schema of its own in it, so tests never see
each other's rows and nothing needs dropping between them.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from mqtt.hub.store import HubStore
from tests.conftest import FakeClock
from tests.hub.postgres import Postgres, bin_dir

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
