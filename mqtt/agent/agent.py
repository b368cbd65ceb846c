"""The kiosk's sync loop: its ledger up to the hub, what the hub holds down to it, over one MQTT v5 connection.

One thread of its own does all the work that touches the database, in the order things happened: paho's thread
only decodes what arrives (a bad message is logged with its reason and dropped), hands spend replies to the
waiting asker (the asker waits inside a sale's transaction, so paho's thread must never wait for the database)
and queues the rest for the loop. Nothing lives only in memory: the ledger is the outbox, acks and cursors are
stored by ChainSync, and after any restart the loop rewinds to what the hub acknowledged and pulls from its
cursors. A v5 refusal (a bad password, an ACL) or a failed TLS handshake stops the agent with `error` set:
retrying the same credentials cannot help, and a kiosk that hangs silently is worse than one that says why.
Companions (the fleet agent) ride on the same connection and thread: they subscribe on each new connection and
do their work in each step of the loop. The retained status is JSON (mqtt/fleet/protocol.py state_payload):
"online" at each connect, and "offline" as the last will and at a clean stop.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from dataclasses import replace
from typing import Any, Callable, Iterator, Protocol

from core.errors import KioskError
from kiosk import config
from kiosk.app import Kiosk
from kiosk.background import BackgroundLoop
from mqtt import messages, topics
from mqtt.agent.asker import LinkAsker, Replies
from mqtt.agent.outbox import Lane, Rows
from mqtt.agent.settings import broker_settings
from mqtt.connection import (BadBrokerUrl, BrokerError, BrokerUnreachable, Connection, Delivery, DeliveryTimeout,
                             Inbound, NotAuthorized, Refused, Settings, TlsFailed)
from mqtt.fleet import kiosk as fleet
from mqtt.fleet.protocol import software_version, state_payload

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 5.0  # one try to connect; the loop tries again with backoff until stopped
POLL = 1.0  # seconds between looks at the ledger when no commit of this process woke us (another process's)
PULL_TIMEOUT = 10.0  # a pull the hub has not answered in this long is sent again
_FATAL = (Refused, TlsFailed, BadBrokerUrl)
_DOWN = ("acks", "events", "directory", "allowances", "spend")  # what the hub sends this kiosk's agent


class SyncRefused(KioskError):
    """The broker refused this kiosk (its login or ACL) or its TLS: the agent stopped, since retrying cannot help."""


class RestoreIncomplete(KioskError):
    """`sync restore` did not get back everything head office holds of this kiosk in time."""


class Companion(Protocol):
    """Work that rides on the agent's connection and thread (the fleet agent)."""

    def attach(self, conn: Connection) -> None:
        """Subscribe on a new connection (before it connects)."""

    def link_up(self) -> None:
        """The link is up (again): send what waits."""

    def step(self, conn: Connection) -> float | None:
        """Do the work due, on the agent's thread; seconds until it is due again (None: when woken)."""

    def close(self) -> None:
        """The agent stopped."""


class SyncAgent(BackgroundLoop):
    """Runs the kiosk's sync on its own thread: `start()`/`stop()`, or `run_until(event)` in the foreground."""

    thread_name = "sync-agent"

    def __init__(self, kiosk: Kiosk, settings: Settings, clock: Callable[[], int], window: int = 8,
                 ack_timeout: float = 5.0, pull_seconds: float = 2.0) -> None:
        super().__init__()
        self.kiosk, self.chain, self.who, self.settings = kiosk, kiosk.chain, kiosk.who, settings
        self.clock, self.pull_seconds = clock, pull_seconds
        self.error: BrokerError | None = None  # what stopped the agent for good
        self.dropped = 0  # messages received and dropped (malformed, oversized, replayed, refused by the store)
        self.caught_up = threading.Event()  # the last pull was answered and nothing more was left
        self.replies = Replies()
        self.asker = LinkAsker(lambda: self._conn, self.who, self.replies, clock)
        self._conn: Connection | None = None
        self._inbox: deque[messages.Message] = deque()  # bounded by what we asked for: acks of a window, pages of a pull
        self._links: deque[bool] = deque()  # link changes seen on paho's thread, handled here in order
        self._deliveries: deque[Delivery] = deque()  # publishes whose PUBACK may still refuse them
        self._guard = messages.ReplayGuard(10_000)
        self._restoring = False
        self._pulled_at = -PULL_TIMEOUT
        self._awaiting: set[str] = set()  # feeds the last pull has not been answered on yet
        self._more: set[str] = set()  # feeds whose last page said more
        self.companions: list[Companion] = []
        self._companions_due: list[float | None] = []
        state, store, me = self.chain.state(), self.who.store_id, self.who.kiosk_id
        self.events = Lane("events", topics.up(store, me, "events"), self._read_events, self._pack_events,
                           state.acked_seq, window, ack_timeout)
        self.directory = Lane("directory", topics.up(store, me, "directory"), self.chain.directory_outbox,
                              self._pack_changes, state.directory_acked, window, ack_timeout)
        kiosk.gateway.subscribe(self.wake)  # a sale committed here goes up now, not at the next poll

    # --- the foreground ways to run it (the commands) ---

    def run_until(self, stop: threading.Event) -> None:
        """Run until `stop` is set (a signal handler sets it); SyncRefused when the broker refused this kiosk."""
        self.start()
        try:
            while not stop.wait(0.2) and self.running:
                pass
        finally:
            self.stop()
        self._raise_error()

    def restore(self, timeout: float) -> dict[str, Any]:
        """Pull this kiosk's own events back from the hub until its lost tail is restored (or none was lost)."""
        before = self.chain.head()
        self._restoring = True
        deadline = time.monotonic() + timeout
        self.start()
        try:
            while self.running:
                if self.caught_up.wait(0.1) and self.chain.state().lost_tail is None:
                    break
                if time.monotonic() > deadline:
                    lost = self.chain.state().lost_tail
                    raise RestoreIncomplete(
                        f"head office did not send back this kiosk's events up to {lost} within {timeout:g} s"
                        if lost else f"head office did not answer within {timeout:g} s; is it running?")
        finally:
            self.stop()
        self._raise_error()
        head = self.chain.head()
        return {"restored": head - before, "head": head, "lost_tail": self.chain.state().lost_tail}

    def sync_now(self) -> None:
        """Pull from head office and publish what waits at once (a command from head office asks for it)."""
        self._pulled_at = -PULL_TIMEOUT
        self.wake()

    def state(self, state: str) -> bytes:
        """This kiosk's retained status: online or offline, with its version and the config version applied."""
        return state_payload(state, software_version(), self.who.store_id, self.who.kiosk_id,
                             self.kiosk.fleet.config_version(), self.clock())

    def publish_state(self) -> None:
        """Publish the online status again (its config version changed)."""
        if self._conn is not None and self._conn.connected:
            self._publish(topics.status(self.who.store_id, self.who.kiosk_id), self.state("online"), retain=True)

    @property
    def running(self) -> bool:
        """Whether the loop's thread is alive (it ends when stopped, or on a refusal)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def connection(self) -> Connection | None:
        """The current connection, for a test or the status screen."""
        return self._conn

    def _raise_error(self) -> None:
        if self.error is None:
            return
        hint = ("; check this kiosk's broker password (sync.password_file) and the broker's password file and ACL"
                if isinstance(self.error, NotAuthorized) else "")
        raise SyncRefused(f"sync stopped: {self.error}{hint}")

    # --- the loop, on the agent's thread ---

    def _run(self) -> None:
        try:
            if self._connect():
                self._serve()
        except _FATAL as e:
            self.error = e
            log.error("sync stopped: %s", e)
        finally:
            self._goodbye()

    def _connect(self) -> bool:
        """Connect, trying again with backoff while the broker is out of reach; False when stopped first."""
        delay, reported = self.settings.reconnect_min, False
        while not self._stop.is_set():
            settings = self.settings
            if settings.will is not None:  # the will says the config version of now, not of the agent's start
                settings = replace(settings, will=replace(settings.will, payload=self.state("offline")))
            try:
                conn = Connection(settings, on_state=self._on_link)
            except OSError as e:  # the CA file: missing, unreadable or not PEM
                raise TlsFailed(f"cannot use the CA file {self.settings.ca_file} (sync.ca_file): {e}") from None
            # one filter per kind, not down/+, which overlaps the fleet agent's down/command: a broker may deliver
            # a message once per matching subscription
            for kind in _DOWN:
                conn.subscribe(topics.down(self.who.store_id, self.who.kiosk_id, kind), self._on_message)
            conn.subscribe(topics.store_documents(self.who.store_id), self._on_message)
            for companion in self.companions:
                companion.attach(conn)
            try:
                conn.connect(CONNECT_TIMEOUT)
            except BrokerUnreachable as e:
                (log.debug if reported else log.warning)("head office out of reach, trying again: %s", e)
                reported = True
                self._stop.wait(delay)
                delay = min(delay * 2, self.settings.reconnect_max)
                continue
            self._conn = conn
            return True
        return False

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._next_wait())
            self._wake.clear()
            try:
                self._step()
            except _FATAL:
                raise
            except Exception:  # a store that is busy or a bug: logged with its traceback, tried again
                log.exception("the sync loop failed; trying again in a second")
                self._stop.wait(1.0)

    def _step(self) -> None:
        conn = self._conn
        assert conn is not None
        if conn.error is not None:
            raise conn.error  # a reconnect was refused (the password changed): paho gave up
        while self._links:
            self._link_changed(self._links.popleft())
        while self._inbox:
            self._handle(self._inbox.popleft())
        if not conn.connected:
            return
        self._check_deliveries()
        for lane in (self.events, self.directory):
            if lane.check_timeout():
                log.info("no ack from head office for %s in %g s; sending again from %d", lane.name,
                         lane.ack_timeout, lane.acked)
            lane.pump(self._publish)
        now = time.monotonic()
        if now - self._pulled_at >= (PULL_TIMEOUT if self._awaiting else self.pull_seconds):
            self._pull()
        self._companions_due = [companion.step(conn) for companion in self.companions]

    def _next_wait(self) -> float:
        waits = [POLL, self._pulled_at + (PULL_TIMEOUT if self._awaiting else self.pull_seconds) - time.monotonic()]
        waits += [due for due in (self.events.due_in, self.directory.due_in) if due is not None]
        waits += [due for due in self._companions_due if due is not None]
        return max(0.01, min(waits))

    def _link_changed(self, up: bool) -> None:
        self.chain.set_connected(up)
        if not up:
            return
        self._deliveries.clear()
        for lane in (self.events, self.directory):
            lane.rewind()  # what paho held for the old link is gone; the hub dedupes what arrives twice
        self._publish(topics.status(self.who.store_id, self.who.kiosk_id), self.state("online"), retain=True)
        self._pull()
        for companion in self.companions:
            companion.link_up()

    def _goodbye(self) -> None:
        """Say offline (a clean disconnect leaves no last will) and close."""
        for companion in self.companions:
            companion.close()
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.connected:
                conn.publish(topics.status(self.who.store_id, self.who.kiosk_id), self.state("offline"),
                             retain=True).wait(1.0)
        except BrokerError as e:
            log.info("could not say offline before closing: %s", e)
        conn.close()
        try:
            self.chain.set_connected(False)
        except KioskError as e:
            log.warning("could not record the link as down: %s", e)

    # --- up ---

    def _publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        assert self._conn is not None
        self._deliveries.append(self._conn.publish(topic, payload, retain=retain))

    def _check_deliveries(self) -> None:
        """Raise a PUBACK's refusal (the ACL said no); forget the publishes the broker took."""
        while self._deliveries:
            try:
                self._deliveries[0].wait(0)
            except DeliveryTimeout:
                return
            self._deliveries.popleft()

    def _read_events(self, after: int, limit: int) -> Rows:
        return [(e.seq, e) for e in self.chain.outbox(after, limit)]

    def _pack_events(self, rows: Rows) -> Iterator[tuple[bytes, int]]:
        head = self.chain.head()
        for payload, batch in messages.event_batches(self.who.kiosk_id, self.clock(), [e for _, e in rows], head):
            yield payload, batch[-1].seq

    def _pack_changes(self, rows: Rows) -> Iterator[tuple[bytes, int]]:
        """Directory changes, each message saying the feed position it reaches (its `upto`)."""
        while rows:
            first = next(messages.change_batches(self.who.kiosk_id, self.clock(), [c for _, c in rows],
                                                 upto=rows[-1][0]))
            fits = len(first[1])
            if fits < len(rows):  # too big for one message: `upto` must be the position of the part that fits
                first = next(messages.change_batches(self.who.kiosk_id, self.clock(), first[1],
                                                     upto=rows[fits - 1][0]))
            yield first[0], rows[fits - 1][0]
            rows = rows[fits:]

    def _pull(self) -> None:
        """Ask the hub for what this kiosk lacks, from its cursors (its own lost tail too when restoring)."""
        body = self.chain.pull_request(restore=self._restoring)
        payload = messages.encode("pull", self.who.kiosk_id, self.clock(), body)
        self._publish(topics.up(self.who.store_id, self.who.kiosk_id, "pull"), payload)
        self._pulled_at, self._awaiting = time.monotonic(), {"events", "directory"}
        self.caught_up.clear()

    # --- down ---

    def _on_link(self, up: bool) -> None:
        """paho's thread: the link went up or down; the loop records it."""
        self._links.append(up)
        self._wake.set()

    def _on_message(self, inbound: Inbound) -> None:
        """paho's thread: decode and check; a spend reply goes to its asker, the rest to the loop."""
        try:
            msg = messages.received(inbound)
            if msg.route.kind != "documents":  # retained documents come again on every subscribe: kept by version
                self._guard.check(msg)
        except messages.BadMessage as e:
            self.dropped += 1
            log.warning("dropped %s: %s", inbound.topic, e.reason)
            return
        if msg.route.kind == "spend":
            if not self.replies.settle(msg):
                log.info("a spend reply came after its asker gave up; dropped")
            return
        self._inbox.append(msg)
        self._wake.set()

    def _handle(self, msg: messages.Message) -> None:
        """Apply one message from the hub; one the store refuses is logged with its reason and dropped."""
        try:
            _HANDLERS[msg.route.kind](self, msg.body)
        except (KioskError, ValueError) as e:
            self.dropped += 1
            log.warning("dropped %s: %s", msg.route.kind, e)

    def _on_ack(self, body: dict[str, Any]) -> None:
        state = self.chain.record_ack(body["acked_seq"], body["directory"])  # durable before the window moves
        self.events.ack(state.acked_seq)
        if state.directory_acked is not None:
            self.directory.ack(state.directory_acked)
        if body["resend_from"] is not None:
            self.events.resend_from(body["resend_from"])
        if state.lost_tail is not None:
            log.error("head office holds this kiosk's events up to %d, beyond its ledger: run `memberkiosk sync "
                      "restore`", state.lost_tail)

    def _on_events(self, page: messages.Batch) -> None:
        self.chain.apply_events_page(list(page.items), page.upto, restoring=self._restoring)
        self._answered("events", page.more)

    def _on_directory(self, page: messages.Batch) -> None:
        self.chain.apply_directory_page(list(page.items), page.upto)
        self._answered("directory", page.more)

    def _answered(self, feed: str, more: bool) -> None:
        """A page of one feed came: pull again at once when a pull is answered and a feed has more."""
        self._awaiting.discard(feed)
        (self._more.add if more else self._more.discard)(feed)
        if self._awaiting:
            return
        if self._more:
            self._pull()
        else:
            self.caught_up.set()

    def _on_allowances(self, body: dict[str, Any]) -> None:
        self.chain.set_allowances(body["epoch"], body["as_of"], body["allowances"])

    def _on_document(self, body: dict[str, Any]) -> None:
        self.chain.apply_document(body["name"], body["format"], body["version"], body["text"])


_HANDLERS: dict[str, Callable[[SyncAgent, Any], None]] = {
    "acks": SyncAgent._on_ack,
    "events": SyncAgent._on_events,
    "directory": SyncAgent._on_directory,
    "allowances": SyncAgent._on_allowances,
    "documents": SyncAgent._on_document,
}


@contextlib.contextmanager
def syncing(kiosk: Kiosk, cfg: config.Config) -> Iterator[SyncAgent | None]:
    """The sync agent running beside the kiosk UI when a broker is configured, its asker attached; stopped after.

    A kiosk sells offline whatever goes wrong here: a sync configuration it cannot use is logged, not raised.
    """
    if cfg["sync.broker"] is None:
        yield None
        return
    try:
        agent = SyncAgent(kiosk, broker_settings(kiosk, cfg), kiosk.clock.now_ms, pull_seconds=cfg["sync.pull_seconds"])
        fleet.attach(agent, kiosk, cfg)
    except KioskError as e:
        log.error("the kiosk runs offline: %s", e)
        yield None
        return
    agent.start()
    kiosk.set_asker(agent.asker)
    try:
        yield agent
    finally:
        kiosk.set_asker(None)
        agent.stop()
