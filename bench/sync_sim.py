"""Simulated kiosks for bench/sync.py: each a paho client that publishes its events in windowed batches, as the agent
does, and counts the hub's application acks until the hub holds them all.

A simulated kiosk has no ledger: it is the load of many kiosks on one hub that is measured, and 50 real kiosk
processes would measure the two cores' scheduler instead. One real kiosk (`memberkiosk sync run`) is measured
beside it in bench/sync.py.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.subscribeoptions import SubscribeOptions

from mqtt import messages, topics
from tests.hub.helpers import event
from tests.mqtt.broker import Mosquitto, password

WINDOW = 8  # batches in flight beyond the hub's ack, as the agent's default
STORE = "sim"


def kiosk_ids(n: int) -> tuple[str, ...]:
    """The simulated kiosks' ids, which are also their broker user names."""
    return tuple(f"sim-k{i:02d}" for i in range(n))


def _no_delay(client: paho.Client, userdata: Any, sock: socket.socket) -> None:
    """Small acks and publishes go at once, as mqtt/connection.py does for the agent and the hub."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class SimulatedKiosk:
    """One kiosk's events on their way to the hub: `prepare(n)` encodes the next n, `send()` publishes them and
    returns when the hub acknowledged the last one."""

    def __init__(self, broker: Mosquitto, kiosk: str, store: str = STORE, members: int = 500) -> None:
        self.kiosk, self.store, self.members = kiosk, store, members
        self.acked = self.head = 0
        self._batches: list[tuple[bytes, int]] = []
        self._cv = threading.Condition()
        ready = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-{kiosk}", protocol=paho.MQTTv5)
        self.client.tls_set(ca_certs=str(broker.pki.ca_file))
        self.client.username_pw_set(kiosk, password(kiosk))
        self.client.max_inflight_messages_set(100)
        self.client.on_socket_open = _no_delay
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: ready.set()
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        self.client.subscribe(topics.down(store, kiosk, "acks"), options=SubscribeOptions(qos=1))
        if not ready.wait(10):
            raise RuntimeError(f"{kiosk}: the subscription to its acks was not granted")

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        ack = messages.decode(message.topic, message.payload).body
        with self._cv:
            self.acked = max(self.acked, ack["acked_seq"])
            self._cv.notify_all()

    def prepare(self, count: int) -> None:
        """Encode the kiosk's next `count` events (top-ups of ¥1 to its members) outside the measured time."""
        first, self.head = self.head + 1, self.head + count
        events = [event(self.kiosk, s, f"{self.kiosk}-m{s % self.members}", stored_value=100, store=self.store)
                  for s in range(first, self.head + 1)]
        batches = messages.event_batches(self.kiosk, int(time.time() * 1000), events, head=self.head)
        self._batches = [(payload, batch[-1].seq) for payload, batch in batches]

    def send(self, timeout: float = 120.0) -> None:
        """Publish the prepared events, at most WINDOW batches beyond the last ack, until the hub acked them all."""
        deadline = time.monotonic() + timeout
        topic = topics.up(self.store, self.kiosk, "events")
        for i, (payload, _last) in enumerate(self._batches):
            if i >= WINDOW:
                self._wait_for(self._batches[i - WINDOW][1], deadline)
            self.client.publish(topic, payload, qos=1)
        self._wait_for(self.head, deadline)

    def _wait_for(self, seq: int, deadline: float) -> None:
        with self._cv:
            while self.acked < seq:
                if not self._cv.wait(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"{self.kiosk}: the hub acked {self.acked}, not {seq}, in time")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def events_per_second(kiosks: list[SimulatedKiosk], per_kiosk: int, timeout: float = 120.0) -> float:
    """Every kiosk sends `per_kiosk` events at once, each on a thread; events/s until the hub acked them all."""
    for k in kiosks:
        k.prepare(per_kiosk)
    errors: list[BaseException] = []

    def send(k: SimulatedKiosk) -> None:
        try:
            k.send(timeout)
        except BaseException as e:  # handed to the caller below
            errors.append(e)

    threads = [threading.Thread(target=send, args=(k,), daemon=True) for k in kiosks]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return len(kiosks) * per_kiosk / elapsed
