"""Kiosks as the hub and the operator CLI see them on the wire: a retained birth and will, telemetry, and configs and
commands checked as a kiosk checks them (signature, fields, address) and answered with an outcome. Used by the hub
tests and by bench/fleet.py; the real kiosk side is mqtt.fleet.kiosk, tested in tests/fleet/kiosk."""
from __future__ import annotations

import socket
import threading
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.codec import dumps
from kiosk.clock import wall_ms
from mqtt import topics
from mqtt.connection import Connection, Inbound, Will
from mqtt.fleet import protocol, signing
from tests.mqtt.broker import Mosquitto

VERSION = "0.1.0-peer"


def telemetry(**changes: Any) -> dict[str, Any]:
    """A valid telemetry payload, with `changes` applied."""
    body = {"version": VERSION, "uptime_s": 5, "unacked": 0, "last_sync_at": None,
            "devices": {"reader": "ok", "scanner": "ok", "printer": "ok"}, "disk_free": 8 * 2**30, "cpu_temp": None,
            "last_sale_at": None, "config_version": 0, "locked": None}
    body.update(changes)
    return body


class Peer:
    """One kiosk's connection: online on connect (retained), offline as its last will; `operator` set, it answers
    every config and command addressed to it with an outcome (ok, or refused with the kiosk's reason)."""

    def __init__(self, broker: Mosquitto, store: str, kiosk: str, operator: Ed25519PublicKey | None = None,
                 **overrides: Any) -> None:
        self.store, self.kiosk, self.operator = store, kiosk, operator
        self.received: list[dict[str, Any]] = []  # verified payloads, in arrival order
        self.answered = threading.Event()
        offline = protocol.state_payload("offline", VERSION, store, kiosk, 0, wall_ms())
        self.conn = Connection(broker.settings(kiosk, will=Will(topics.status(store, kiosk), offline), **overrides))
        self.conn.connect(10)
        self.say("online")
        if operator is not None:
            for topic_filter in protocol.kiosk_filters(store, kiosk):
                self.conn.subscribe(topic_filter, self._receive)

    def say(self, state: str) -> None:
        """Publish this kiosk's retained state."""
        payload = protocol.state_payload(state, VERSION, self.store, self.kiosk, 0, wall_ms())
        self.conn.publish(topics.status(self.store, self.kiosk), payload, retain=True).wait(5)

    def send(self, kind: str, body: dict[str, Any]) -> float:
        """Publish telemetry or an outcome; the monotonic time it was acknowledged by the broker."""
        self.conn.publish(topics.up(self.store, self.kiosk, kind), dumps(body).encode()).wait(5)
        return time.monotonic()

    def close(self) -> None:
        """Say offline (a clean disconnect leaves no will) and disconnect."""
        if self.conn.connected:
            self.say("offline")
        self.conn.close()

    def vanish(self) -> None:
        """Drop the connection as a power cut would (no DISCONNECT), so the broker publishes the last will."""
        client = self.conn._client  # paho's client: Connection has no way to die uncleanly, on purpose
        client.socket().shutdown(socket.SHUT_RDWR)  # wakes paho's loop at once, which then stops (no reconnect)
        client.loop_stop()

    def _receive(self, m: Inbound) -> None:
        assert self.operator is not None
        claimed = signing.unverified(m.payload) or {}
        try:
            doc = signing.verify(m.payload, self.operator)
            (protocol.check_config if doc.get("type") == "config" else protocol.check_command)(doc)
            protocol.check_address(doc, topics.parse(m.topic), self.store, self.kiosk)
        except protocol.Refusal as e:
            outcome = protocol.outcome(claimed.get("type", "config"), None, False, wall_ms(),
                                       item_id=claimed.get("id") if isinstance(claimed.get("id"), str) else None,
                                       reason=e.reason)
        else:
            self.received.append(doc)
            name = doc.get("kind") or doc.get("cmd")
            outcome = protocol.outcome(doc["type"], name, True, wall_ms(), item_id=doc["id"],
                                       version=doc.get("version"))
        # not waiting for the PUBACK: it comes on this very thread (paho's), after this handler returns
        self.conn.publish(topics.up(self.store, self.kiosk, "outcome"), dumps(outcome).encode())
        self.answered.set()
