"""The hub's network loop: kiosks' events and directory changes group-committed and acked, spends and pulls answered.

Two broker connections per worker: a bulk one for up/events and up/directory, whose paho thread may wait on the
bounded commit queue (backpressure), and a quick one for up/spend and up/pull, so an authorisation never queues
behind a backlog of events. Every subscription is shared (`$share/hub/...`): workers started on other machines
over one PostgreSQL split the load. Every message is validated (mqtt.messages.decode, a ReplayGuard, and the
store the kiosk first spoke for); a bad one is logged with its reason, counted in `dropped`, and the hub goes on.
Nothing lives only in memory: an ack is sent after the commit, a kiosk resends what was not acked, and pulls read
the database, so a worker killed at any instant loses nothing.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any, Callable

from kiosk.clock import wall_ms
from mqtt import messages, topics
from mqtt.connection import BrokerError, Connection, Inbound, Settings, Will
from mqtt.hub import feed
from mqtt.hub.apply import Batch
from mqtt.hub.store import HubStore
from mqtt.messages import BadMessage, Message, ReplayGuard, WrongSender

log = logging.getLogger(__name__)
SENDER = feed.SENDER
QUEUE = 256  # messages waiting for a commit, each ≤ 240 KiB (≤ 60 MiB in all); beyond it paho's thread waits
REQUESTS = 500  # spend or pull requests waiting; beyond it a request is dropped (the kiosk asks again)
ALLOWANCE_CHUNK = 1000  # members per down/allowances message (a schema allows 10,000)
POLL = 0.1  # seconds a worker thread waits for work before it looks whether it should stop


class Overloaded(BadMessage):
    """A request dropped because the hub already has too many waiting."""


class HubService:
    """One hub worker: `start()` connects and serves in background threads, `stop()` ends them cleanly."""

    def __init__(self, store: HubStore, settings: Settings, clock: Callable[[], int] = wall_ms, share: float = 0.5,
                 group_max: int = 200, group_wait: float = 0.005) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"allowance share {share} must be between 0 and 1")
        self.store, self.clock, self.share = store, clock, share
        self.group_max, self.group_wait = group_max, group_wait
        self.dropped: Counter[str] = Counter()  # dropped messages by reason class (Malformed, Replayed, ...)
        self.handled: Counter[str] = Counter()  # messages committed or answered by kind, and events_new
        self._count_lock = threading.Lock()
        self._stopping = threading.Event()
        self._commits: queue.Queue[Message] = queue.Queue(QUEUE)
        self._requests = {"spend": queue.Queue[Message](REQUESTS), "pull": queue.Queue[Message](REQUESTS)}
        self._stores: dict[str, str] = {}  # kiosk -> the store it is registered to (never changes)
        self._bulk = Connection(replace(settings, will=Will(topics.HUB_STATUS, topics.OFFLINE)),
                                on_state=self._on_bulk_state)
        self._quick = Connection(replace(settings, client_id=f"{settings.client_id}-q", will=None))
        self._threads: list[threading.Thread] = []
        self._own_stores: list[HubStore] = []

    def start(self, timeout: float = 10.0) -> None:
        """Connect, subscribe and start serving; BrokerError (or a database error) if that fails."""
        try:
            spend_store, pull_store = self.store.reopen(), self.store.reopen()
            self._own_stores = [spend_store, pull_store]
            self._spawn("hub-commit", self._commit_loop)
            self._spawn("hub-spend", self._request_loop, "spend", spend_store, self._answer_spend)
            self._spawn("hub-pull", self._request_loop, "pull", pull_store, self._answer_pull)
            self._bulk.connect(timeout)
            guard = ReplayGuard()
            for kind in ("events", "directory"):
                self._bulk.subscribe(topics.hub_subscription(kind), self._receiver(guard, self._enqueue_commit))
            self._quick.connect(timeout)
            guard = ReplayGuard()
            for kind in ("spend", "pull"):
                self._quick.subscribe(topics.hub_subscription(kind), self._receiver(guard, self._enqueue_request))
        except BaseException:
            self.stop()
            raise
        log.info("hub worker %s serving %s", self._bulk.settings.client_id, self._bulk.settings.url)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking messages, finish the commit in progress (its acks go out), say offline, disconnect."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("hub thread %s did not stop within %g s", thread.name, timeout)
        if self._bulk.connected:
            try:
                self._bulk.publish(topics.HUB_STATUS, topics.OFFLINE, retain=True).wait(1.0)
            except BrokerError as e:
                log.warning("could not say offline: %s", e)
        self._quick.close()
        self._bulk.close()
        for store in self._own_stores:
            store.close()
        self._own_stores = []

    def __enter__(self) -> HubService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # receiving, on paho's threads
    def _receiver(self, guard: ReplayGuard, enqueue: Callable[[Message], None]) -> Callable[[Inbound], None]:
        def receive(m: Inbound) -> None:
            if self._stopping.is_set():
                return  # not acked: the kiosk sends it again to whichever worker runs
            try:
                msg = guard.check(messages.decode(m.topic, m.payload, response_topic=m.response_topic,
                                                  correlation=m.correlation))
            except BadMessage as e:
                self._drop(m.topic, e)
                return
            enqueue(msg)
        return receive

    def _enqueue_commit(self, msg: Message) -> None:
        while not self._stopping.is_set():  # a full queue holds paho's thread: the broker holds the rest
            try:
                self._commits.put(msg, timeout=POLL)
                return
            except queue.Full:
                continue

    def _enqueue_request(self, msg: Message) -> None:
        try:
            self._requests[msg.route.kind].put_nowait(msg)
        except queue.Full:
            self._drop(_topic(msg), Overloaded(f"{REQUESTS} {msg.route.kind} requests already wait"))

    def _drop(self, topic: str, reason: BadMessage) -> None:
        log.warning("dropped %s: %s", topic, reason.reason)
        self._count(self.dropped, type(reason).__name__)

    def _count(self, counter: Counter[str], key: str, n: int = 1) -> None:
        with self._count_lock:
            counter[key] += n

    def _on_bulk_state(self, up: bool) -> None:
        if up:  # after every (re)connect: the broker may have lost the retained status, or a will replaced it
            self._bulk.publish(topics.HUB_STATUS, topics.ONLINE, retain=True)

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _registered(self, store: HubStore, msg: Message) -> bool:
        """Whether the message came on the topic of the store its kiosk first spoke for (else it is dropped)."""
        kiosk, claimed = msg.route.kiosk or "", msg.route.store
        known = self._stores.get(kiosk)
        if known is None:
            known = self._stores[kiosk] = store.register(kiosk, claimed)
        if known != claimed:
            self._drop(_topic(msg), WrongSender(f"kiosk {kiosk} belongs to store {known}, not {claimed}"))
            return False
        return True

    # committing, on the commit thread
    def _commit_loop(self) -> None:
        while not self._stopping.is_set():
            group = self._take()
            if group:
                try:
                    self._commit([m for m in group if self._registered(self.store, m)])
                except Exception:
                    log.exception("the hub could not commit %d messages; the kiosks will send them again", len(group))

    def _take(self) -> list[Message]:
        """Up to group_max messages, waiting at most group_wait for more once the first came."""
        try:
            group = [self._commits.get(timeout=POLL)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.group_wait
        while len(group) < self.group_max:
            try:
                group.append(self._commits.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return group

    def _commit(self, group: list[Message]) -> None:
        """Apply the group in one transaction; a group that fails is applied message by message, to drop only the
        one that cannot be applied. Then one ack per kiosk, then the allowances."""
        if not group:
            return
        batches = [_batch(m) for m in group]
        try:
            acks = self.store.apply(batches)
        except Exception as e:
            if len(group) == 1:
                log.error("dropped %s: the hub could not apply it: %s", _topic(group[0]), e, exc_info=True)
                self._count(self.dropped, "ApplyFailed")
                return
            for m in group:
                self._commit([m])
            return
        now = self.clock()
        acked: dict[str, dict[str, Any]] = {}  # kiosk -> its ack: the last one of the group has the watermark
        stores: dict[str, str] = {}
        fresh: dict[str, set[str]] = defaultdict(set)  # kiosk -> members of its events new to the hub
        for m, ack in zip(group, acks):
            kiosk, stores[ack.kiosk_id] = ack.kiosk_id, m.route.store
            body = acked.setdefault(kiosk, {"directory": None})
            body.update(acked_seq=ack.watermark, resend_from=ack.resend_from)
            if m.route.kind == "directory":
                body["directory"] = max(body["directory"] or 0, m.body.upto)
            elif ack.new:
                fresh[kiosk].update(e.member_id for e in m.body.items if e.member_id is not None)
            self._count(self.handled, m.route.kind)
            self._count(self.handled, "events_new", ack.new)
        for kiosk, body in acked.items():
            self._bulk.publish(topics.down(stores[kiosk], kiosk, "acks"), messages.encode("acks", SENDER, now, body))
        for kiosk, members in sorted(fresh.items()):
            self._send_allowances(stores[kiosk], kiosk, sorted(members))

    def _send_allowances(self, store_id: str, kiosk: str, members: list[str]) -> None:
        for i in range(0, len(members), ALLOWANCE_CHUNK):
            as_of, offered = self.store.offer(kiosk, members[i:i + ALLOWANCE_CHUNK], self.share)
            body = {"epoch": self.clock(), "as_of": as_of, "allowances": offered}
            self._bulk.publish(topics.down(store_id, kiosk, "allowances"),
                               messages.encode("allowances", SENDER, body["epoch"], body))

    # requests, on their own threads
    def _request_loop(self, kind: str, store: HubStore, answer: Callable[[HubStore, Message], None]) -> None:
        requests = self._requests[kind]
        while not self._stopping.is_set():
            try:
                msg = requests.get(timeout=POLL)
            except queue.Empty:
                continue
            try:
                if self._registered(store, msg):
                    answer(store, msg)
                    self._count(self.handled, kind)
            except Exception:
                log.exception("the hub could not answer a %s request of %s", kind, msg.route.kiosk)

    def _answer_spend(self, store: HubStore, msg: Message) -> None:
        """Grant the extra amounts all or nothing; reply on the asker's own down/spend with its correlation data."""
        route = msg.route
        d = store.authorise(route.kiosk or "", msg.body["member_id"], msg.body["amounts"])
        body = {"granted": d.granted, "reason": d.reason, "allowance": d.allowance, "as_of": d.as_of}
        self._quick.publish(topics.down(route.store, route.kiosk or "", "spend"),
                            messages.encode("spend", SENDER, self.clock(), body), correlation=msg.correlation)

    def _answer_pull(self, store: HubStore, msg: Message) -> None:
        """One directory page and one events page after the kiosk's cursors (possibly empty: it is current)."""
        route, body = msg.route, msg.body
        events, changes = store.pull(route.kiosk or "", body["events"], body["restore"], body["directory"])
        now = self.clock()
        self._quick.publish(topics.down(route.store, route.kiosk or "", "directory"),
                            feed.payload("directory", "changes", changes, now))
        self._quick.publish(topics.down(route.store, route.kiosk or "", "events"),
                            feed.payload("events", "events", events, now))


def _batch(msg: Message) -> Batch:
    """The store's batch for an up/events or up/directory message."""
    kiosk = msg.route.kiosk or ""
    if msg.route.kind == "events":
        return Batch(kiosk, msg.body.items, head=msg.body.head)
    return Batch(kiosk, changes=msg.body.items)


def _topic(msg: Message) -> str:
    return topics.up(msg.route.store, msg.route.kiosk or "", msg.route.kind)
