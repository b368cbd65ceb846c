"""Head office's fleet management on the kiosk, without the network: verified configs applied, commands recorded once,
outcomes kept until sent, and the lock that refuses every sale.

The fleet agent (mqtt/fleet/kiosk.py) checks signatures and addresses; what it hands here is the operator's. A
config applies only when its version is newer than the one of its kind applied here, and only whole: the body is
parsed before anything is written. Rules and catalog load through the sales service (as head-office documents
do), so a rules change takes effect between sales: an open basket keeps the rulebook and catalog of its first scan
up to its sale (SalesService.pricing), the next basket takes the new ones. The version and the outcome are recorded in one
transaction after the load: a stop between the two loads the same document again on its redelivery, which changes
nothing more.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import threading
import tomllib
from dataclasses import replace
from typing import Any, Callable, Mapping

from core.catalog import parse_catalog
from core.errors import KioskError, RulesError
from core.events import SYSTEM, EventDraft
from core.fields import yuan
from core.payloads import SettingsChanged
from core.rules_toml import parse_rules
from kiosk import config
from kiosk.clock import Clock
from kiosk.services.audit import fingerprint, last_result
from kiosk.services.gateway import Gateway
from kiosk.services.receipts import SETTINGS_TABLE
from kiosk.services.sales import SalesService
from kiosk.store import fleet_state
from kiosk.store.db import Database
from kiosk.store.documents import replace_table

log = logging.getLogger(__name__)
SETTINGS_FIELDS = {key.document[1]: key for key in config.SCHEMA.values()
                   if key.document is not None and key.document[0] == SETTINGS_TABLE}
DEVICES_KEY = config.SCHEMA["devices"]
RESTART = "restart"  # result["takes_effect"] of settings and devices: the UI and devices read them at start


class ConfigRefused(KioskError):
    """A config body that does not parse as its kind; nothing was changed."""


class StaleConfig(KioskError):
    """A config whose version is not newer than the one of its kind applied here (an older one, or a replay)."""


def parse_body(kind: str, fmt: str, body: str) -> Any:
    """A config body parsed as its kind (rules, catalog, prices, settings, devices); ConfigRefused says why not."""
    try:
        if kind == "rules":
            parse_rules(body)
            return body
        if kind == "catalog":
            return parse_catalog(body, fmt)
        if kind == "prices":
            return _prices(body, fmt)
        table = _mapping(body, fmt, kind)
        if kind == "devices":
            return DEVICES_KEY.check(table)
        if kind == "settings":
            return _settings(table)
    except (RulesError, ValueError) as e:
        raise ConfigRefused(f"the {kind} config does not parse: {e}") from None
    raise ConfigRefused(f"no config kind {kind!r}")


def _mapping(body: str, fmt: str, kind: str) -> dict[str, Any]:
    try:
        table = json.loads(body) if fmt == "json" else tomllib.loads(body)
    except (ValueError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"not {fmt}: {e}") from None
    if not isinstance(table, dict):
        raise ValueError(f"a {kind} config is one {fmt} table")
    return table


def _settings(table: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(table) - set(SETTINGS_FIELDS))
    if unknown:
        raise ValueError(f"unknown setting {unknown[0]!r}; settings: {', '.join(sorted(SETTINGS_FIELDS))}")
    return {field: SETTINGS_FIELDS[field].check(value) for field, value in table.items()}


def _prices(body: str, fmt: str) -> dict[str, int]:
    """New prices by SKU: csv with columns sku,price or a json object {sku: price}, prices in yuan."""
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(body)))
        if rows and set(rows[0]) != {"sku", "price"}:
            raise ValueError("prices csv has exactly the columns sku,price")
        pairs = [(r["sku"], r["price"]) for r in rows]
    else:
        table = _mapping(body, fmt, "prices")
        pairs = list(table.items())
    if not pairs:
        raise ValueError("no prices")
    return {sku: yuan(price, f"price of {sku}") for sku, price in pairs}


class FleetService:
    """The kiosk's fleet state: applied configs, commands run, outcomes to send, the lock."""

    def __init__(self, db: Database, gateway: Gateway, clock: Clock, sales: SalesService) -> None:
        self.db, self.gateway, self.clock, self.sales = db, gateway, clock, sales
        self._listeners: list[Callable[[str | None], None]] = []
        self._listeners_lock = threading.Lock()  # the UI subscribes and leaves while the agent's thread calls them

    # --- the lock ---

    def locked(self) -> str | None:
        """Why head office locked this kiosk, or None when it sells."""
        with self.db.reading() as conn:
            found = fleet_state.lock(conn)
        return found[0] if found else None

    def subscribe(self, listener: Callable[[str | None], None]) -> Callable[[], None]:
        """Call `listener(reason or None)` when this process locks or unlocks the kiosk (on the agent's thread);
        returns the call that unsubscribes."""
        with self._listeners_lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._listeners_lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)
        return unsubscribe

    # --- configs ---

    def applied(self, kind: str) -> tuple[int, str | None]:
        """(version, id) of the config of `kind` applied here; (0, None) when none."""
        with self.db.reading() as conn:
            return fleet_state.applied(conn, kind)

    def config_version(self) -> int:
        """The highest config version applied over all kinds (0 when none)."""
        with self.db.reading() as conn:
            return fleet_state.config_version(conn)

    def apply_config(self, kind: str, fmt: str, body: str, version: int, config_id: str,
                     outcome: Callable[[Mapping[str, Any]], Mapping[str, Any]]) -> dict[str, Any]:
        """Apply a verified config when newer than the applied one (else StaleConfig) and whole (else ConfigRefused);
        its outcome, built by `outcome(result)`, is queued with the version applied. Returns the result."""
        applied, _ = self.applied(kind)
        if version <= applied:
            raise StaleConfig(f"{kind} version {version} is not newer than version {applied} applied here")
        result = self._load(kind, parse_body(kind, fmt, body))
        with self.db.transaction() as conn:
            fleet_state.set_applied(conn, kind, version, config_id, self.clock.now_ms())
            fleet_state.queue_outcome(conn, outcome(result))
        log.info("head office's %s config version %d is applied", kind, version)
        return result

    def _load(self, kind: str, parsed: Any) -> dict[str, Any]:
        if kind == "rules":
            self.sales.load_rules(parsed, SYSTEM)
            return {}
        if kind == "catalog":
            self.sales.load_catalog(parsed, SYSTEM)
            return {"products": len(parsed)}
        if kind == "prices":
            return self._reprice(parsed)
        table = SETTINGS_TABLE if kind == "settings" else DEVICES_KEY.document[0]  # type: ignore[index]
        with self.gateway.unit(SYSTEM) as unit:  # recorded in the ledger for `audit log`, like `settings`
            if kind == "settings":
                unit.append([EventDraft.of(SettingsChanged(fingerprint(parsed), tuple(sorted(parsed))))])
            replace_table(self.sales.docs_db, table, [parsed])
        return {"takes_effect": RESTART}

    def _reprice(self, prices: Mapping[str, int]) -> dict[str, Any]:
        """New prices on the catalog's products; stock stays as the ledger has it."""
        catalog = self.sales.catalog()
        unknown = sorted(set(prices) - set(catalog))
        if unknown:
            raise ConfigRefused(f"the prices config names SKU {unknown[0]!r}, which is not in this kiosk's catalog")
        self.sales.load_catalog({sku: replace(p, price=prices.get(sku, p.price)) for sku, p in catalog.items()},
                                SYSTEM)
        return {"products": len(prices)}

    # --- commands ---

    def executed(self, command_id: str) -> dict[str, Any] | None:
        """The stored outcome of a command already run here, or None."""
        with self.db.reading() as conn:
            return fleet_state.executed(conn, command_id)

    def record_command(self, command_id: str, cmd: str, expires_at: int, outcome: Mapping[str, Any],
                       lock: str | None = None, unlock: bool = False) -> None:
        """Record a command as run with its outcome queued; `lock` (a reason) or `unlock` changes the lock with it."""
        with self.db.transaction() as conn:
            if lock is not None or unlock:
                fleet_state.set_lock(conn, lock, self.clock.now_ms())
            fleet_state.record_executed(conn, command_id, cmd, expires_at, outcome, self.clock.now_ms())
            fleet_state.queue_outcome(conn, outcome)
        if lock is not None or unlock:
            log.warning("head office %s this kiosk%s", "locked" if lock else "unlocked", f": {lock}" if lock else "")
            with self._listeners_lock:
                listeners = list(self._listeners)
            for listener in listeners:
                try:
                    listener(lock)
                except Exception:  # a screen's failure must not undo the lock
                    log.exception("lock listener %r failed", listener)

    # --- outcomes on their way up ---

    def record_outcome(self, outcome: Mapping[str, Any]) -> None:
        """Queue an outcome (a refusal) for head office."""
        with self.db.transaction() as conn:
            fleet_state.queue_outcome(conn, outcome)

    def unsent(self, limit: int = 50) -> list[tuple[int, dict[str, Any]]]:
        """(position, outcome) of outcomes head office does not have yet, oldest first."""
        with self.db.reading() as conn:
            return fleet_state.unsent(conn, limit)

    def sent(self, pos: int) -> None:
        """Forget an outcome the broker took."""
        with self.db.transaction() as conn:
            fleet_state.sent(conn, pos)

    def last_sale_at(self) -> int | None:
        """When this kiosk last sold (ms), for telemetry."""
        with self.db.reading() as conn:
            return fleet_state.last_sale_at(conn, self.gateway.who.kiosk_id)

    def last_verify(self) -> dict[str, Any] | None:
        """The last nightly full verify (ok, at, events, problem), for telemetry; None before the first."""
        found = last_result(self.db)
        return found.as_dict() if found else None
