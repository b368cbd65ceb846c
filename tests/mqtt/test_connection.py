"""The connection wrapper against a real mosquitto: callbacks guarded, v5 properties, last will, reconnects."""
from __future__ import annotations

import queue
import socket
import time
from typing import Callable

import pytest

from mqtt import topics
from mqtt.connection import BrokerUnreachable, Connection, Inbound, Settings, Will
from tests.mqtt.broker import Mosquitto, free_port

Connect = Callable[..., Connection]


def inbox(conn: Connection, topic_filter: str) -> queue.Queue[Inbound]:
    got: queue.Queue[Inbound] = queue.Queue()
    conn.subscribe(topic_filter, got.put)
    return got


def test_a_failing_handler_is_logged_and_the_connection_goes_on(connect: Connect,
                                                                 callback_errors: Callable[[], list]) -> None:
    k1, hub = connect("shop1-k1"), connect("hub")
    got: queue.Queue[bytes] = queue.Queue()

    def handler(m: Inbound) -> None:
        if m.payload == b"boom":
            raise ZeroDivisionError("a bug in a handler")
        got.put(m.payload)

    k1.subscribe(topics.kiosk_down("shop1", "shop1-k1"), handler)
    for payload in (b"boom", b"after"):
        hub.publish(topics.down("shop1", "shop1-k1", "events"), payload).wait(2)
    assert got.get(timeout=2) == b"after" and k1.connected
    [error] = callback_errors()
    assert "failed on a message on mk/v1/shop1/shop1-k1/down/events" in error.getMessage()
    assert "ZeroDivisionError: a bug in a handler" in (error.exc_text or "")


def test_request_and_response_carry_the_v5_response_topic_and_correlation_data(connect: Connect) -> None:
    k1, hub = connect("shop1-k1"), connect("hub")
    requests, replies = inbox(hub, topics.hub_subscription("spend")), inbox(k1, topics.kiosk_down("shop1", "shop1-k1"))
    reply_to = topics.down("shop1", "shop1-k1", "spend")
    k1.publish(topics.up("shop1", "shop1-k1", "spend"), b"ask", response_topic=reply_to, correlation=b"\x00c1").wait(2)
    request = requests.get(timeout=2)
    assert (request.response_topic, request.correlation) == (reply_to, b"\x00c1")
    hub.publish(request.response_topic, b"yes", correlation=request.correlation).wait(2)
    reply = replies.get(timeout=2)
    assert (reply.topic, reply.payload, reply.correlation) == (reply_to, b"yes", b"\x00c1")


def test_the_last_will_says_offline_when_a_kiosk_vanishes(connect: Connect) -> None:
    hub = connect("hub")
    status = inbox(hub, "mk/v1/+/+/status")
    will = topics.status("shop1", "shop1-k1")
    k1 = connect("shop1-k1", will=Will(will, topics.OFFLINE))
    k1.publish(will, topics.ONLINE, retain=True).wait(2)
    assert status.get(timeout=2).payload == topics.ONLINE
    k1._client.socket().shutdown(socket.SHUT_RDWR)  # the link dies without a DISCONNECT
    got = status.get(timeout=5)
    assert (got.topic, got.payload) == (will, topics.OFFLINE)
    assert k1.wait_connected(5)  # and paho reconnects by itself


def test_an_unreachable_broker_gives_up_within_the_timeout() -> None:
    conn = Connection(Settings(f"mqtts://127.0.0.1:{free_port()}", client_id="shop1-k1", reconnect_min=0.1))
    started = time.monotonic()
    with pytest.raises(BrokerUnreachable, match="no broker at 127.0.0.1"):
        conn.connect(1.0)
    assert time.monotonic() - started < 2


def test_the_client_reconnects_and_resubscribes_after_a_broker_restart(own_broker: Mosquitto) -> None:
    states: list[bool] = []
    k1 = Connection(own_broker.settings("shop1-k1"), on_state=states.append)
    hub = Connection(own_broker.settings("hub"))
    k1.connect(5)
    hub.connect(5)
    try:
        box = inbox(k1, topics.kiosk_down("shop1", "shop1-k1"))
        own_broker.restart(down_for=0.3)
        assert k1.wait_connected(10) and hub.wait_connected(10)
        hub.publish(topics.down("shop1", "shop1-k1", "acks"), b"after the restart").wait(5)
        assert box.get(timeout=5).payload == b"after the restart"
        assert states[:3] == [True, False, True]
    finally:
        k1.close()
        hub.close()
