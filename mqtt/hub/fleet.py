"""The hub's fleet worker: every kiosk's retained status, telemetry and config/command outcomes into the fleet tables.

It runs beside HubService in `hub serve`, on a broker connection of its own. Status is subscribed by every worker
(retained, so a worker that starts learns every kiosk's last state at once, and writing it twice is harmless);
telemetry and outcomes are shared among the workers (`$share/hub/...`). Messages are checked (mqtt.fleet.protocol)
on paho's thread and written by one thread in groups, one transaction per group, so two hundred kiosks reporting
every few seconds cost a few commits a second. A kiosk is bound to the store it first spoke for (HubStore.register),
as for sync: a message on another store's topic is dropped.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from dataclasses import replace
from typing import Callable

from kiosk.clock import wall_ms
from mqtt import topics
from mqtt.connection import Connection, Inbound, Settings
from mqtt.fleet import protocol
from mqtt.hub.enrolment import EnrolmentDesk
from mqtt.hub.fleetdb import OUTCOME, STATUS, TELEMETRY, Report
from mqtt.hub.store import HubStore

log = logging.getLogger(__name__)
STATUS_FILTER = f"{topics.ROOT}/+/+/status"
QUEUE = 10_000  # reports waiting for a commit (each ≤ a few KiB); beyond it paho's thread waits
GROUP_MAX = 500  # reports per transaction
POLL = 0.1  # seconds the writer waits for work before it looks whether it should stop
_PARSERS: dict[str, Callable[[bytes], dict]] = {STATUS: protocol.parse_state, TELEMETRY: protocol.parse_telemetry,
                                                OUTCOME: protocol.parse_outcome}


class FleetService:
    """One fleet worker: `start()` connects and records in a background thread, `stop()` writes what it holds."""

    def __init__(self, store: HubStore, settings: Settings, clock: Callable[[], int] = wall_ms) -> None:
        self.store, self.clock = store, clock
        self.dropped: Counter[str] = Counter()  # reports dropped, by reason (Malformed, WrongStore, ...)
        self.recorded: Counter[str] = Counter()  # reports written, by kind
        self._conn = Connection(replace(settings, client_id=f"{settings.client_id}-fleet", will=None))
        self._queue: queue.Queue[Report] = queue.Queue(QUEUE)
        self._stopping = threading.Event()
        self._stores: dict[str, str] = {}  # kiosk -> the store it is registered to
        self._count_lock = threading.Lock()  # the counters are updated from paho's thread and the writer
        self._writer: threading.Thread | None = None
        self._own: HubStore | None = None
        self._enrolment = EnrolmentDesk(store, self._conn, clock)  # fresh kiosks' tokens, each used once

    def start(self, timeout: float = 10.0) -> None:
        """Connect, subscribe and start writing; BrokerError (or a database error) if that fails."""
        try:
            self._own = self.store.reopen()
            self._writer = threading.Thread(target=self._write_loop, args=(self._own,), name="hub-fleet", daemon=True)
            self._writer.start()
            self._conn.connect(timeout)
            self._conn.subscribe(STATUS_FILTER, self._receive)
            for kind in (TELEMETRY, OUTCOME):
                self._conn.subscribe(topics.hub_subscription(kind), self._receive)
            self._enrolment.start()
        except BaseException:
            self.stop()
            raise
        log.info("fleet worker %s recording %s", self._conn.settings.client_id, self._conn.settings.url)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop receiving, write the reports already taken, disconnect."""
        self._enrolment.stop()
        self._conn.close()
        self._stopping.set()
        if self._writer is not None:
            self._writer.join(timeout)
            if self._writer.is_alive():
                log.warning("the fleet writer did not stop within %g s", timeout)
        if self._own is not None:
            self._own.close()
            self._own = None

    def __enter__(self) -> FleetService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # on paho's thread
    def _receive(self, m: Inbound) -> None:
        try:
            report = parse_report(m.topic, m.payload, self.clock())
        except (protocol.Malformed, topics.BadTopic) as e:
            self._drop(m.topic, type(e).__name__, str(e))
            return
        while not self._stopping.is_set():  # a full queue holds paho's thread: the broker holds the rest
            try:
                self._queue.put(report, timeout=POLL)
                return
            except queue.Full:
                continue

    # on the writer thread
    def _write_loop(self, store: HubStore) -> None:
        while True:
            try:
                group = [self._queue.get(timeout=POLL)]
            except queue.Empty:
                if self._stopping.is_set():
                    return
                continue
            while len(group) < GROUP_MAX:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(store, [r for r in group if self._registered(store, r)])

    def _registered(self, store: HubStore, r: Report) -> bool:
        known = self._stores.get(r.kiosk)
        if known is None:
            known = self._stores[r.kiosk] = store.register(r.kiosk, r.store)
        if known != r.store:
            self._drop(f"{r.store}/{r.kiosk} {r.kind}", "WrongStore", f"kiosk {r.kiosk} belongs to store {known}")
            return False
        return True

    def _write(self, store: HubStore, group: list[Report]) -> None:
        """Write the group in one transaction; if that fails, each report alone, to lose only the one at fault."""
        if not group:
            return
        try:
            store.fleet_record(group)
        except Exception:
            if len(group) > 1:
                for r in group:
                    self._write(store, [r])
                return
            log.exception("dropped the %s of %s/%s: the hub could not write it", group[0].kind, group[0].store,
                          group[0].kiosk)
            self._count(self.dropped, ["WriteFailed"])
            return
        self._count(self.recorded, [r.kind for r in group])

    def _drop(self, what: str, reason: str, detail: str) -> None:
        log.warning("dropped %s: %s", what, detail)
        self._count(self.dropped, [reason])

    def _count(self, counter: Counter[str], keys: list[str]) -> None:
        with self._count_lock:
            counter.update(keys)


def parse_report(topic: str, payload: bytes, now: int) -> Report:
    """The checked report a message carries (received at `now`); Malformed or BadTopic say why it is not one."""
    parts = topic.split("/")
    if len(parts) == 5 and parts[:2] == topics.ROOT.split("/") and parts[4] == STATUS:
        store, kiosk, kind = topics.check_id(parts[2], "store"), topics.check_id(parts[3], "kiosk"), STATUS
    else:
        route = topics.parse(topic)
        if route.direction != topics.UP or route.kind not in (TELEMETRY, OUTCOME):
            raise topics.BadTopic(f"{topic!r} is no status, telemetry or outcome topic")
        store, kiosk, kind = route.store, route.kiosk or "", route.kind
    body = _PARSERS[kind](payload)
    if kind == STATUS:
        if (body["store"], body["kiosk"]) != (store, kiosk):
            raise protocol.Malformed(f"the state of {body['store']}/{body['kiosk']} on the topic of {store}/{kiosk}")
        return Report(kind, store, kiosk, min(body["ts"], now), body)  # a retained state: when it was said
    return Report(kind, store, kiosk, now, body)
