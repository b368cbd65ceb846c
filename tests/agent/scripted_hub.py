"""A scripted stand-in for the hub: records what kiosks send and answers as a test tells it to."""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any, Callable

from mqtt import messages, topics
from mqtt.connection import Connection, Inbound

HUB = "hub"


class ScriptedHub:
    """Subscribes to every kiosk's up topics; with `auto_ack`, acks each events message up to its last sequence."""

    def __init__(self, conn: Connection, auto_ack: bool = False) -> None:
        self.conn, self.auto_ack = conn, auto_ack
        self.received: dict[str, list[messages.Message]] = defaultdict(list)
        self._changed = threading.Condition()
        conn.subscribe(f"{topics.ROOT}/+/+/{topics.UP}/+", self._on_up)
        conn.subscribe(f"{topics.ROOT}/+/+/status", self._on_status)
        self.status: dict[str, bytes] = {}

    def _on_up(self, inbound: Inbound) -> None:
        msg = messages.decode(inbound.topic, inbound.payload, response_topic=inbound.response_topic,
                              correlation=inbound.correlation)
        with self._changed:
            self.received[msg.route.kind].append(msg)
            self._changed.notify_all()
        if self.auto_ack and msg.route.kind == "events":
            self.ack(msg.route.store, msg.sender, msg.body.items[-1].seq, wait=False)  # on paho's thread: no waiting

    def _on_status(self, inbound: Inbound) -> None:
        with self._changed:
            self.status[inbound.topic.split("/")[3]] = inbound.payload
            self._changed.notify_all()

    def events_of(self, kiosk: str) -> list[int]:
        """The sequences of every event received from `kiosk`, repeats included, in arrival order."""
        with self._changed:
            return [e.seq for m in self.received["events"] if m.sender == kiosk for e in m.body.items]

    def wait(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Until `predicate()` holds (checked whenever something arrives, and every 50 ms)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                assert left > 0, "the scripted hub waited in vain"
                self._changed.wait(min(left, 0.05))

    def send(self, store: str, kiosk: str, kind: str, body: dict[str, Any], correlation: bytes | None = None,
             wait: bool = True) -> None:
        """Publish a down message to a kiosk, as the hub would."""
        payload = messages.encode(kind, HUB, int(time.time() * 1000), body)
        self.raw(topics.down(store, kiosk, kind), payload, correlation, wait=wait)

    def raw(self, topic: str, payload: bytes, correlation: bytes | None = None, retain: bool = False,
            wait: bool = True) -> None:
        """Publish bytes as they are (malformed ones too); `wait` for the broker to take them."""
        delivery = self.conn.publish(topic, payload, retain=retain, correlation=correlation)
        if wait:
            delivery.wait(5.0)

    def ack(self, store: str, kiosk: str, acked_seq: int, resend_from: int | None = None,
            directory: int | None = None, wait: bool = True) -> None:
        """An application ack."""
        self.send(store, kiosk, "acks", {"acked_seq": acked_seq, "resend_from": resend_from, "directory": directory},
                  wait=wait)
