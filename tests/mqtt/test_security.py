"""The broker's security against a real mosquitto: TLS with the CA, one login per kiosk, and the shipped ACL."""
from __future__ import annotations

import queue
import time
from typing import Callable

import pytest

from core.codec import to_wire
from mqtt import messages, topics
from mqtt.connection import BadBrokerUrl, Connection, Inbound, NotAuthorized, Settings, TlsFailed
from mqtt.messages import Oversized, Replayed, ReplayGuard
from tests.mqtt.broker import Mosquitto
from tests.mqtt.events import T0, events

Connect = Callable[..., Connection]
QUIET = 0.5  # how long we wait to be sure a message is NOT delivered (a delivery on loopback takes ~1 ms)


def inbox(conn: Connection, topic_filter: str) -> queue.Queue[Inbound]:
    """Subscribe `conn` and collect what arrives."""
    got: queue.Queue[Inbound] = queue.Queue()
    conn.subscribe(topic_filter, got.put)
    return got


def test_tls_with_the_ca_connects(connect: Connect) -> None:
    assert connect("shop1-k1").connected


def test_tls_without_the_ca_is_refused_with_a_specific_error(broker: Mosquitto) -> None:
    conn = Connection(broker.settings("shop1-k1", ca_file=None))  # the system's CAs do not know the test CA
    started = time.monotonic()
    with pytest.raises(TlsFailed, match="unable to get local issuer certificate"):
        conn.connect(5)
    assert time.monotonic() - started < 2


def test_a_wrong_password_is_refused_promptly_with_reason_135(broker: Mosquitto) -> None:
    conn = Connection(broker.settings("shop1-k1", password="guess"))
    started = time.monotonic()
    with pytest.raises(NotAuthorized, match="reason code 135") as caught:
        conn.connect(5)
    assert caught.value.code == 135 and time.monotonic() - started < 2


def test_plain_mqtt_is_refused_off_loopback_and_allowed_on_it(broker: Mosquitto) -> None:
    for url in ("mqtt://10.0.0.5:1883", "mqtt://hub.example.com:1883", "mqtt://localhost:1883"):
        with pytest.raises(BadBrokerUrl, match="plain mqtt:// to .* refused"):
            Connection(Settings(url, client_id="shop1-k1"))
    with pytest.raises(BadBrokerUrl, match="expected mqtts://HOST:PORT"):
        Connection(Settings("https://hub.example.com", client_id="shop1-k1"))
    conn = Connection(broker.settings("shop1-k1", url=broker.plain_url))
    conn.connect(5)
    conn.close()


def test_a_kiosk_publishing_as_another_is_refused_with_135_and_nothing_is_delivered(connect: Connect) -> None:
    """mosquitto 2 answers a v5 QoS 1 publish the ACL denies with PUBACK reason code 135 and drops it."""
    hub = inbox(connect("hub"), topics.hub_subscription("events", shared=False))
    k1 = connect("shop1-k1")
    [(payload, _)] = list(messages.event_batches("shop1-k2", T0, events(1, kiosk="shop1-k2"), head=1))
    with pytest.raises(NotAuthorized, match="reason code 135"):
        k1.publish(topics.up("shop1", "shop1-k2", "events"), payload).wait(2)
    with pytest.raises(NotAuthorized):  # nor under another store with the other kiosk's id
        k1.publish(topics.up("shop2", "shop2-k1", "events"), payload).wait(2)
    with pytest.raises(NotAuthorized):  # nor where the hub writes: a forged ack
        k1.publish(topics.down("shop1", "shop1-k1", "acks"), b"{}").wait(2)
    with pytest.raises(queue.Empty):
        hub.get(timeout=QUIET)
    [(own, _)] = list(messages.event_batches("shop1-k1", T0, events(1), head=1))
    k1.publish(topics.up("shop1", "shop1-k1", "events"), own).wait(2)
    assert hub.get(timeout=2).topic == topics.up("shop1", "shop1-k1", "events")


def test_a_kiosk_never_receives_another_kiosks_down_topic(connect: Connect) -> None:
    """mosquitto 2 grants the SUBSCRIBE (its SUBACK is not checked against read ACLs) but never delivers."""
    k1, k2, hub = connect("shop1-k1"), connect("shop1-k2"), connect("hub")
    spy, own = inbox(k1, topics.kiosk_down("shop1", "shop1-k2")), inbox(k2, topics.kiosk_down("shop1", "shop1-k2"))
    wide = inbox(k1, "mk/v1/#")
    ack = messages.encode("acks", "hub", T0, {"acked_seq": 1, "resend_from": None})
    hub.publish(topics.down("shop1", "shop1-k2", "acks"), ack).wait(2)
    assert own.get(timeout=2).payload == ack
    for box in (spy, wide):
        with pytest.raises(queue.Empty):
            box.get(timeout=QUIET)


def test_hub_workers_share_a_subscription_and_each_message_goes_to_one(connect: Connect) -> None:
    workers = [inbox(connect("hub", client_id=f"hub-{i}"), topics.hub_subscription("events")) for i in range(2)]
    k1 = connect("shop1-k1")
    sent = [payload for payload, _ in messages.event_batches("shop1-k1", T0, events(40), head=40, max_batch=1)]
    for payload in sent:
        k1.publish(topics.up("shop1", "shop1-k1", "events"), payload).wait(2)
    got: list[list[str]] = [[], []]
    deadline = time.monotonic() + 5
    while sum(map(len, got)) < len(sent) and time.monotonic() < deadline:
        for box, ids in zip(workers, got):
            while not box.empty():
                m = box.get_nowait()
                ids.append(messages.decode(m.topic, m.payload).id)
    assert sorted(got[0] + got[1]) == sorted(messages.decode(topics.up("shop1", "shop1-k1", "events"), p).id
                                             for p in sent)
    assert got[0] and got[1]  # mosquitto shares round-robin


def test_oversized_and_replayed_messages_through_the_broker_are_dropped_with_a_reason(connect: Connect) -> None:
    """The broker takes up to max_packet_size; the receiver's schema layer refuses what is over its limit."""
    k1, hub = connect("shop1-k1"), connect("hub")
    box = inbox(k1, topics.kiosk_down("shop1", "shop1-k1"))
    topic = topics.down("shop1", "shop1-k1", "events")
    hub.publish(topic, b"{" + b" " * (messages.MAX_PAYLOAD + 100) + b"}").wait(2)
    with pytest.raises(Oversized, match="over the"):
        got = box.get(timeout=2)
        messages.decode(got.topic, got.payload)
    payload = messages.encode("events", "hub", T0, {"events": [to_wire(e) for e in events(2, kiosk="shop1-k2")],
                                                     "upto": {"shop1-k2": 2}, "more": False})
    guard = ReplayGuard()
    hub.publish(topic, payload).wait(2)
    hub.publish(topic, payload).wait(2)
    first, second = box.get(timeout=2), box.get(timeout=2)
    guard.check(messages.decode(first.topic, first.payload))
    with pytest.raises(Replayed, match="already received"):
        guard.check(messages.decode(second.topic, second.payload))
