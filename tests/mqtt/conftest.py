"""A real mosquitto on 127.0.0.1 (TLS, per-kiosk users, the shipped ACL) and connections to it.

Every test here fails if an MQTT callback or handler logged an error it swallowed (as Home Assistant's
`fail_on_log_exception` does), unless the test asks for `callback_errors` to look at them itself.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from mqtt.connection import Connection
from tests.mqtt.broker import Mosquitto


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One broker for the session; tests that restart or stop a broker use `own_broker`."""
    b = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    b.start()
    yield b
    b.stop()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker of this test's own, free to be restarted."""
    b = Mosquitto(tmp_path / "mosquitto")
    b.start()
    yield b
    b.stop()


@pytest.fixture
def connect(broker: Mosquitto) -> Iterator[Callable[..., Connection]]:
    """Open a connection as a test user (`connect("shop1-k1")`, `connect("hub", on=other_broker)`); closed after."""
    opened: list[Connection] = []

    def open_(user: str, on: Mosquitto | None = None, timeout: float = 5.0, **overrides: Any) -> Connection:
        conn = Connection((on or broker).settings(user, **overrides))
        conn.connect(timeout)
        opened.append(conn)
        return conn

    yield open_
    for conn in opened:
        conn.close()


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for when in ("setup", "call", "teardown") for r in caplog.get_records(when)
            if r.name.startswith("mqtt") and r.levelno >= logging.ERROR]


@pytest.fixture
def callback_errors(caplog: pytest.LogCaptureFixture) -> Callable[[], list[logging.LogRecord]]:
    """The errors our MQTT code logged so far, for a test that provokes them on purpose (and is then not failed)."""
    return lambda: _errors(caplog)


@pytest.fixture(autouse=True)
def fail_on_callback_errors(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test in which our MQTT code logged an error, unless it asked for `callback_errors`."""
    yield
    errors = _errors(caplog)
    if errors and "callback_errors" not in request.fixturenames:
        pytest.fail("MQTT code logged errors:\n" + "\n".join(
            f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}" for r in errors), pytrace=False)
