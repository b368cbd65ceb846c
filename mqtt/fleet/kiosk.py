"""The kiosk's fleet agent: signed configs and commands in, outcomes and telemetry out, on the sync agent's connection.

It is a companion of the SyncAgent (same connection, same last will, same thread): paho's thread only queues what
arrives; the agent's thread checks it in protocol.py's order, applies or runs it through kiosk.fleet
(kiosk/services/fleet.py) and queues the outcome durably with what it reports; outcomes are published until the
broker takes them (QoS 1) and deleted only then. A retained config redelivered on reconnect that is not newer
than the applied one is the broker replaying state, not an attack: it is skipped without an outcome. Telemetry
goes up every fleet.telemetry_seconds and at once when the devices or the lock change. Without the operator's
public key (operator.pub in the key directory) the kiosk reports telemetry but subscribes to no config or command.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.errors import KioskError
from drivers.events import DeviceHealth
from kiosk import config
from kiosk.app import Kiosk
from kiosk.services.fleet import ConfigRefused, StaleConfig
from mqtt import topics
from mqtt.connection import BrokerError, Connection, Delivery, DeliveryTimeout, Inbound
from mqtt.fleet import protocol, signing
from mqtt.fleet.protocol import Failed, Refusal
from mqtt.fleet.update_fetch import Stager

if TYPE_CHECKING:
    from kiosk.runtime import DeviceRuntime
    from mqtt.agent.agent import SyncAgent

log = logging.getLogger(__name__)
RESTART_EXIT = 75  # EX_TEMPFAIL: systemd's Restart=on-failure starts the kiosk again
RESTART_GRACE = 5.0  # seconds the restart outcome may take to reach the broker before the process exits anyway
CPU_TEMP = Path("/sys/class/thermal/thermal_zone0/temp")
_DEVICE_KINDS = {"card": "reader", "scanner": "scanner", "printer": "printer"}  # runtime kind -> telemetry name
DeviceHealths = Callable[[], Mapping[str, DeviceHealth]]


class LogTail(logging.Handler):
    """The last lines this process logged, for the `logs` command."""

    def __init__(self, capacity: int = protocol.MAX_LOG_LINES) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque(maxlen=capacity)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def tail(self, n: int) -> list[str]:
        """The last `n` lines, oldest first."""
        return list(self.lines)[-n:]


class FleetAgent:
    """Head office's fleet management on the kiosk, as a companion of its sync agent."""

    def __init__(self, kiosk: Kiosk, agent: SyncAgent, telemetry_seconds: float,
                 operator_key: Ed25519PublicKey | None, devices: DeviceHealths | None = None,
                 print_test: Callable[[], None] | None = None,
                 exit_process: Callable[[int], None] = os._exit, updates: Stager | None = None) -> None:
        self.kiosk, self.agent, self.fleet, self.who = kiosk, agent, kiosk.fleet, kiosk.who
        self.telemetry_seconds, self.key = telemetry_seconds, operator_key
        self.devices, self.print_test, self.exit_process = devices, print_test, exit_process
        self.updates = updates
        if updates is not None:  # the updater finished while this kiosk was stopped: say how it went
            updates.report_last(self.fleet.record_outcome, kiosk.clock.now_ms())
        self.logs = LogTail()
        logging.getLogger().addHandler(self.logs)
        self._started = time.monotonic()
        self._conn: Connection | None = None
        self._inbox: deque[Inbound] = deque()  # filled by paho's thread, emptied by the agent's
        self._inflight: dict[int, Delivery] = {}  # outcome position -> its publish, until the broker takes it
        self._telemetry_at = 0.0  # monotonic time of the next telemetry
        self._seen: tuple[Any, ...] | None = None  # (devices, lock) last reported
        self._restart_at: float | None = None
        agent.companions.append(self)

    # --- the companion's side of the sync agent ---

    def attach(self, conn: Connection) -> None:
        """Subscribe to this kiosk's configs and commands on a new connection (not without the operator's key)."""
        self._conn = conn
        if self.key is None:
            return
        for topic_filter in protocol.kiosk_filters(self.who.store_id, self.who.kiosk_id):
            conn.subscribe(topic_filter, self._on_message)

    def link_up(self) -> None:
        """Connected again: what paho held is gone, so every unsent outcome goes again; telemetry at once."""
        self._inflight.clear()
        self._telemetry_at = 0.0

    def step(self, conn: Connection) -> float | None:
        """Handle what arrived, publish outcomes and telemetry; seconds until telemetry or a pending ack is due."""
        while self._inbox:
            self._receive(self._inbox.popleft())
        if not conn.connected:
            return None
        self._publish_outcomes(conn)
        seen = (self._device_states(), self.fleet.locked())
        if seen != self._seen or time.monotonic() >= self._telemetry_at:
            self._send_telemetry(conn, seen)
        if self._restart_at is not None and (not self._inflight and not self.fleet.unsent(1)
                                             or time.monotonic() > self._restart_at):
            log.warning("restarting at head office's command (exit %d; systemd starts the kiosk again)",
                        RESTART_EXIT)
            self.exit_process(RESTART_EXIT)
        waits = [self._telemetry_at - time.monotonic()] + ([0.05] if self._inflight else [])
        return max(0.01, min(waits))

    def close(self) -> None:
        """The agent stopped: stop keeping log lines."""
        logging.getLogger().removeHandler(self.logs)

    def use_devices(self, runtime: DeviceRuntime) -> Callable[[], None]:
        """Report the health of `runtime`'s devices and print test receipts through its print queue (the UI's
        runtime starts after this agent); returns the call that detaches it before the runtime stops."""
        self.devices, self.print_test = runtime.health_by_kind, runtime.print_test
        self.agent.wake()  # telemetry says so at once

        def detach() -> None:
            self.devices = self.print_test = None
            self.agent.wake()
        return detach

    # --- in: paho's thread queues, the agent's thread checks and acts ---

    def _on_message(self, inbound: Inbound) -> None:
        self._inbox.append(inbound)
        self.agent.wake()

    def _receive(self, inbound: Inbound) -> None:
        """Check one config or command in protocol.py's order; a refusal becomes an outcome with its reason."""
        route = topics.parse(inbound.topic)  # one of our filters: parse cannot refuse it
        claimed = signing.unverified(inbound.payload) or {}
        try:
            if self.key is None:
                raise protocol.Forged("this kiosk holds no operator key to verify with")
            doc = signing.verify(inbound.payload, self.key)
            doc = protocol.check_config(doc) if route.kind == topics.CONFIG else protocol.check_command(doc)
            protocol.check_address(doc, route, self.who.store_id, self.who.kiosk_id)
            if route.kind == topics.CONFIG:
                self._apply(doc)
            else:
                self._command(doc)
        except protocol.Stale as refusal:
            if inbound.retain:
                log.debug("retained %s config not newer than the applied one: %s", route.name, refusal.detail)
                return
            self._refused(route, claimed, refusal)
        except Refusal as refusal:
            self._refused(route, claimed, refusal)

    def _refused(self, route: topics.Route, claimed: Mapping[str, Any], refusal: Refusal) -> None:
        log.warning("refused a %s on %s: %s", route.kind, route, refusal.reason)
        name = route.name if route.kind == topics.CONFIG else claimed.get("cmd")
        self.fleet.record_outcome(protocol.refusal_outcome(route.kind, name, claimed, refusal,
                                                           self.kiosk.clock.now_ms()))

    def _apply(self, doc: Mapping[str, Any]) -> None:
        kind, version, config_id = doc["kind"], doc["version"], doc["id"]

        def applied(result: Mapping[str, Any]) -> dict[str, Any]:
            return protocol.outcome("config", kind, True, self.kiosk.clock.now_ms(), item_id=config_id,
                                    version=version, result=result)
        try:
            self.fleet.apply_config(kind, doc["format"], doc["body"], version, config_id, applied)
        except StaleConfig as e:
            raise protocol.Stale(str(e)) from None
        except ConfigRefused as e:
            raise protocol.Malformed(str(e)) from None
        except KioskError as e:
            raise Failed(f"{kind} version {version} was not applied: {e}") from None
        self.agent.publish_state()  # the retained status says the config version now applied

    def _command(self, doc: Mapping[str, Any]) -> None:
        now = self.kiosk.clock.now_ms()
        protocol.check_fresh(doc, now)
        before = self.fleet.executed(doc["id"])
        if before is not None:
            log.info("command %s %s came again: reporting its outcome, not running it twice", doc["cmd"], doc["id"])
            self.fleet.record_outcome(before)
            return
        cmd, args = doc["cmd"], doc["args"]
        lock: dict[str, Any] = {}
        ok, reason, result = True, None, {}
        try:
            result, lock = self._run(cmd, args, doc["id"])
        except Refusal as e:
            ok, reason = False, e.reason
        except (KioskError, BrokerError) as e:
            ok, reason = False, Failed(str(e)).reason
        outcome = protocol.outcome("command", cmd, ok, self.kiosk.clock.now_ms(), item_id=doc["id"], reason=reason,
                                   result=result)
        self.fleet.record_command(doc["id"], cmd, doc["expires_at"], outcome, **lock)
        if cmd == "restart" and ok:
            self._restart_at = time.monotonic() + RESTART_GRACE

    def _run(self, cmd: str, args: Mapping[str, Any], command_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Run a command: (its result, the lock change to record with it)."""
        if cmd == "update":  # staged here; the root updater's outcome follows at the next start
            if self.updates is None:
                raise Failed("this kiosk takes no updates (no operator key)")
            return self.updates.stage(command_id, args), {}
        if cmd == "lock":
            return {"locked": args["reason"]}, {"lock": args["reason"]}
        if cmd == "unlock":
            return {"locked": None}, {"unlock": True}
        if cmd == "logs":
            return {"lines": self.logs.tail(args.get("lines", 100))}, {}
        if cmd == "sync_now":
            self.agent.sync_now()
            return {}, {}
        if cmd == "reload_config":
            self._resubscribe_configs()
            return {"config_version": self.fleet.config_version()}, {}
        if cmd == "print_test":
            if self.print_test is None:
                raise Failed("no printer runs in this process (the sync agent alone)")
            self.print_test()
            return {}, {}
        return {}, {}  # restart: the outcome first, then the process exits in step()

    def _resubscribe_configs(self) -> None:
        """Subscribe to the config topics again: the broker sends the retained configs, newer ones apply."""
        conn = self._conn
        if conn is None or self.key is None:
            return
        for topic_filter in protocol.kiosk_filters(self.who.store_id, self.who.kiosk_id):
            if topic_filter.endswith(f"/{topics.CONFIG}/+"):
                conn.unsubscribe(topic_filter)
                conn.subscribe(topic_filter, self._on_message)

    # --- out ---

    def _publish_outcomes(self, conn: Connection) -> None:
        """Publish unsent outcomes (QoS 1); each is deleted once the broker took it."""
        for pos, delivery in list(self._inflight.items()):
            try:
                delivery.wait(0)
            except DeliveryTimeout:
                continue
            except BrokerError as e:  # refused by the ACL: kept, and tried again on the next connection
                log.error("the broker refused an outcome: %s", e)
                continue
            self.fleet.sent(pos)
            del self._inflight[pos]
        topic = topics.up(self.who.store_id, self.who.kiosk_id, "outcome")
        for pos, outcome in self.fleet.unsent(50):
            if pos not in self._inflight:
                self._inflight[pos] = conn.publish(topic, protocol.encode(outcome))

    def _send_telemetry(self, conn: Connection, seen: tuple[Any, ...]) -> None:
        devices, locked = seen
        status = self.kiosk.chain.status()
        body = {"version": protocol.software_version(), "uptime_s": int(time.monotonic() - self._started),
                "unacked": status["unacked"], "last_sync_at": status["last_ack_at"], "devices": devices,
                "disk_free": shutil.disk_usage(self.kiosk.data_dir).free, "cpu_temp": cpu_temp(),
                "last_sale_at": self.fleet.last_sale_at(), "config_version": self.fleet.config_version(),
                "locked": locked, "verify": self.fleet.last_verify(),
                "update": self.updates.last_outcome() if self.updates is not None else None}
        conn.publish(topics.up(self.who.store_id, self.who.kiosk_id, "telemetry"), protocol.encode(body), qos=0)
        self._seen, self._telemetry_at = seen, time.monotonic() + self.telemetry_seconds

    def _device_states(self) -> dict[str, str]:
        found = self.devices() if self.devices is not None else {}
        states = {name: "absent" for name in _DEVICE_KINDS.values()}
        for kind, health in found.items():
            if kind in _DEVICE_KINDS:
                states[_DEVICE_KINDS[kind]] = device_state(health)
        return states


def device_state(health: DeviceHealth) -> str:
    """A driver's health as telemetry says it: ok, offline, paper_out or cover_open."""
    if health.state == "gone":
        return "offline"
    reason = health.reason.lower()
    if health.state == "degraded" and "paper" in reason:
        return "paper_out"
    if health.state == "degraded" and "cover" in reason:
        return "cover_open"
    return "ok"


def cpu_temp(path: Path = CPU_TEMP) -> float | None:
    """The CPU temperature in °C where the platform reports one (a Raspberry Pi does), else None."""
    try:
        return int(path.read_text().strip()) / 1000
    except (OSError, ValueError):
        return None


def operator_key(kiosk: Kiosk, cfg: config.Config) -> Ed25519PublicKey | None:
    """The operator's public key from operator.pub in the key directory, checked against fleet.operator_key_sha256
    when that is set; None (fleet commands off, logged) when the kiosk holds none."""
    return pinned_operator_key(kiosk.keys.directory, cfg)


def pinned_operator_key(key_dir: Path, cfg: config.Config) -> Ed25519PublicKey | None:
    """operator.pub in `key_dir`, checked against fleet.operator_key_sha256 when set; None when there is none."""
    path = key_dir / signing.PUBLIC_FILE
    if not path.exists():
        log.warning("no operator key at %s: this kiosk reports its health but takes no config or command", path)
        return None
    key = signing.load_public(path)
    pinned = cfg["fleet.operator_key_sha256"]
    if pinned is not None and signing.fingerprint(key) != pinned:
        raise signing.KeyFileError(f"{path} is not the operator key fleet.operator_key_sha256 names "
                                   f"({cfg.layer('fleet.operator_key_sha256')}): enrol this kiosk again")
    return key


def riding_on(agent: SyncAgent | None) -> FleetAgent | None:
    """The fleet agent riding on `agent` (None without a sync agent)."""
    companions = agent.companions if agent is not None else []
    return next((c for c in companions if isinstance(c, FleetAgent)), None)


def attach(agent: SyncAgent, kiosk: Kiosk, cfg: config.Config, **kwargs: Any) -> FleetAgent:
    """The fleet agent riding on `agent`, with this kiosk's operator key and telemetry interval."""
    key = operator_key(kiosk, cfg)
    if key is not None and "updates" not in kwargs:
        kwargs["updates"] = Stager(kiosk.data_dir, cfg["update.root"], key, protocol.software_version,
                                   cfg["update.max_bundle_mb"] << 20, cfg["update.fetch_seconds"])
    return FleetAgent(kiosk, agent, cfg["fleet.telemetry_seconds"], key, **kwargs)
