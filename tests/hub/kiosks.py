"""A kiosk as the hub sees it on the wire, for the hub service tests: raw messages up, decoded messages down."""
from __future__ import annotations

import queue
import time
from typing import Any, Callable, Iterable

from core.directory import Change
from core.events import Event
from mqtt import messages, topics
from mqtt.connection import BrokerError, Connection, Inbound
from mqtt.messages import Message
from tests.hub.helpers import T0
from tests.mqtt.broker import KIOSKS, Mosquitto


class WireKiosk:
    """One kiosk's connection: publishes event batches, changes, pulls and spends; collects what the hub sends."""

    def __init__(self, broker: Mosquitto, kiosk: str, store: str | None = None, **overrides: Any) -> None:
        self.kiosk, self.store = kiosk, store or KIOSKS[kiosk]
        self.conn = Connection(broker.settings(kiosk, **overrides))
        self.conn.connect(5)
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.conn.subscribe(topics.kiosk_down(self.store, kiosk), self._receive)

    def _receive(self, m: Inbound) -> None:
        self.inbox.put(messages.decode(m.topic, m.payload, correlation=m.correlation))

    def close(self) -> None:
        self.conn.close()

    def up(self, kind: str, payload: bytes, store: str | None = None, **props: Any) -> None:
        """Publish a raw payload on one of this kiosk's up topics (of `store` to pretend another store)."""
        self.conn.publish(topics.up(store or self.store, self.kiosk, kind), payload, **props).wait(5)

    def send(self, events: Iterable[Event], head: int | None = None, max_batch: int = messages.MAX_BATCH) -> int:
        """Publish events as the agent does; the number of messages."""
        events = list(events)
        batches = list(messages.event_batches(self.kiosk, T0, events, head or max(e.seq for e in events),
                                              max_batch=max_batch))
        for payload, _ in batches:
            self.up("events", payload)
        return len(batches)

    def deliver(self, events: list[Event], max_batch: int = 100, stall: float = 2.0, timeout: float = 30.0) -> int:
        """Send events 1..N until the hub acks N, resending what is not acked after a stall as the agent does;
        how many times it resent."""
        acked, resends, deadline = 0, 0, time.monotonic() + timeout
        while acked < len(events):
            assert time.monotonic() < deadline, f"{self.kiosk}: the hub acked only {acked} of {len(events)}"
            try:
                if self.conn.connected:
                    self.send(events[acked:], head=len(events), max_batch=max_batch)
            except BrokerError:
                pass  # the broker went away mid-send: wait and resend
            while acked < len(events):
                try:
                    acked = max(acked, self.expect("acks", stall).body["acked_seq"])
                except AssertionError:
                    resends += 1
                    break
        return resends

    def send_changes(self, changes: list[Change], upto: int) -> None:
        for payload, _ in messages.change_batches(self.kiosk, T0, changes, upto):
            self.up("directory", payload)

    def pull(self, cursors: dict[str, int] | None = None, directory: int = 0, restore: int | None = None) -> None:
        body = {"events": cursors or {}, "directory": directory, "restore": restore}
        self.up("pull", messages.encode("pull", self.kiosk, T0, body))

    def spend(self, member: str, amounts: dict[str, Any], correlation: bytes = b"c1") -> Message:
        """Ask the hub for more allowance and wait for its reply."""
        self.up("spend", messages.encode("spend", self.kiosk, T0, {"member_id": member, "amounts": amounts}),
                response_topic=topics.down(self.store, self.kiosk, "spend"), correlation=correlation)
        reply = self.expect("spend")
        assert reply.correlation == correlation
        return reply

    def expect(self, kind: str, timeout: float = 5.0, until: Callable[[Message], bool] = lambda m: True) -> Message:
        """The next message of `kind` for which `until` holds (others of that kind are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                m = self.inbox.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"{self.kiosk}: no {kind} message within {timeout} s") from None
            if m.route.kind == kind and until(m):
                return m

    def acked(self, seq: int, timeout: float = 5.0) -> Message:
        """Wait for an ack reaching `seq`."""
        return self.expect("acks", timeout, lambda m: m.body["acked_seq"] >= seq)

    def drain(self) -> list[Message]:
        got = []
        while not self.inbox.empty():
            got.append(self.inbox.get())
        return got

    def pull_all(self, cursors: dict[str, int], restore: int | None = None) -> tuple[list[Event], list[Message]]:
        """Pull until a page says no more, advancing the cursors as the agent does; every event and page."""
        got, pages = [], []
        while True:
            self.pull(cursors, restore=restore)
            page = self.expect("events")
            pages.append(page)
            got += page.body.items
            cursors.update(page.body.upto)
            if not page.body.more:
                return got, pages
