"""Spend requests beyond an allowance: one MQTT v5 request/response with the hub, matched by correlation data.

The escrow check asks inside the sale's transaction, so nothing here touches the database: the reply is matched
on paho's thread and handed to the waiting caller. `LinkAsker` asks over the running agent's connection (the
kiosk UI); `OneShotAsker` connects for each ask and closes after (a command-line process, which runs no agent).
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any, Callable, Mapping

from core.errors import KioskError
from kiosk.clock import wall_ms
from kiosk.services.escrow import AskFailed, SpendReply
from kiosk.store.ledger import Identity
from mqtt import messages, topics
from mqtt.connection import BrokerError, Connection, Inbound, Settings

log = logging.getLogger(__name__)


class Replies:
    """Spend requests waiting for their reply, by correlation data."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[bytes, tuple[threading.Event, list[SpendReply]]] = {}

    def expect(self, correlation: bytes) -> Callable[[float], SpendReply | None]:
        """Register a request; the result waits up to a timeout for its reply (None when none came)."""
        done, slot = threading.Event(), []
        with self._lock:
            self._waiting[correlation] = (done, slot)

        def wait(timeout: float) -> SpendReply | None:
            done.wait(max(0.0, timeout))
            with self._lock:
                self._waiting.pop(correlation, None)
            return slot[0] if slot else None
        return wait

    def settle(self, msg: messages.Message) -> bool:
        """Hand a decoded down/spend reply to its waiter; False when nobody waits (late, or another process's)."""
        with self._lock:
            waiter = self._waiting.pop(msg.correlation or b"", None)
        if waiter is None:
            return False
        body = msg.body
        waiter[1].append(SpendReply(body["granted"], body["reason"], body["allowance"], body["as_of"]))
        waiter[0].set()
        return True

    def on_message(self, inbound: Inbound) -> None:
        """A connection handler for down/spend: decode, drop a bad reply with its reason, settle a good one."""
        try:
            msg = messages.received(inbound)
        except messages.BadMessage as e:
            log.warning("dropped %s: %s", inbound.topic, e.reason)
            return
        if not self.settle(msg):
            log.debug("a spend reply nobody here waits for (late, or for another process of this kiosk)")


def ask_over(conn: Connection, who: Identity, replies: Replies, member_id: str, amounts: Mapping[str, Any],
             timeout: float, now: Callable[[], int] = wall_ms) -> SpendReply:
    """Publish one spend request and wait for its reply; AskFailed when the hub cannot be asked in time."""
    if not conn.connected:
        raise AskFailed("not connected to head office")
    correlation = uuid.uuid4().bytes
    wait = replies.expect(correlation)
    deadline = time.monotonic() + timeout
    payload = messages.encode("spend", who.kiosk_id, now(), {"member_id": member_id, "amounts": dict(amounts)})
    try:
        conn.publish(topics.up(who.store_id, who.kiosk_id, "spend"), payload,
                     response_topic=topics.down(who.store_id, who.kiosk_id, "spend"), correlation=correlation)
    except BrokerError as e:
        wait(0)
        raise AskFailed(f"could not ask head office: {e}") from None
    reply = wait(deadline - time.monotonic())
    if reply is None:
        raise AskFailed(f"head office did not answer within {timeout:g} s")
    return reply


class LinkAsker:
    """Asks over a running agent's connection (`connection()` is its current one, None while it has none)."""

    def __init__(self, connection: Callable[[], Connection | None], who: Identity, replies: Replies,
                 now: Callable[[], int]) -> None:
        self._connection, self.who, self.replies, self.now = connection, who, replies, now

    def ask(self, member_id: str, amounts: Mapping[str, Any], timeout: float) -> SpendReply:
        """The hub's answer to spending `amounts` beyond the allowance; AskFailed when offline or too slow."""
        conn = self._connection()
        if conn is None:
            raise AskFailed("not connected to head office")
        return ask_over(conn, self.who, self.replies, member_id, amounts, timeout, self.now)


class OneShotAsker:
    """Connects for each ask and closes after: for a command-line process. `settings()` is read at the first ask,
    so a command that never spends beyond an allowance never needs the broker's password."""

    def __init__(self, settings: Callable[[], Settings], who: Identity, now: Callable[[], int] = wall_ms) -> None:
        self._settings, self.who, self.now = settings, who, now

    def ask(self, member_id: str, amounts: Mapping[str, Any], timeout: float) -> SpendReply:
        """Connect, ask, close; AskFailed when the broker or the hub cannot be reached within `timeout`."""
        deadline = time.monotonic() + timeout
        try:
            conn = Connection(self._settings())
        except (KioskError, BrokerError, OSError) as e:  # nothing the cashier can fix now: the sale is offline
            raise AskFailed(f"cannot reach head office: {e}") from None
        replies = Replies()
        conn.subscribe(topics.down(self.who.store_id, self.who.kiosk_id, "spend"), replies.on_message)
        try:
            conn.connect(max(0.1, deadline - time.monotonic()))
            return ask_over(conn, self.who, replies, member_id, amounts, deadline - time.monotonic(), self.now)
        except BrokerError as e:
            raise AskFailed(f"cannot reach head office: {e}") from None
        finally:
            conn.close()
