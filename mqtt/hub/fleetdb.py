"""The fleet's tables (mqtt.hub.schema): what each kiosk last said of itself, its recent telemetry, its outcomes.

`fleet_kiosks` is one row per kiosk, overwritten by each status and telemetry message (a retained status delivered
again after a hub restart writes the same row again); `fleet_telemetry` keeps the last HISTORY samples per kiosk for
the console's health history; `fleet_outcomes` keeps each config or command outcome once per (id, kiosk), so an
outcome reported again (a command delivered twice) is one row.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from mqtt.hub.dialects import Tx

HISTORY = 1000  # telemetry samples kept per kiosk: over 8 hours at the default 30 s
STATUS, TELEMETRY, OUTCOME = "status", "telemetry", "outcome"


@dataclass(frozen=True)
class Report:
    """One message a kiosk sent about itself, checked: its kind, who sent it, when (hub ms) and its payload."""

    kind: str
    store: str
    kiosk: str
    at: int
    body: Mapping[str, Any]


@dataclass(frozen=True)
class FleetKiosk:
    """A kiosk as `fleet status` shows it; `telemetry` is its last sample whole (None before the first)."""

    store: str
    kiosk: str
    online: bool
    version: str | None
    config_version: int
    unacked: int | None
    last_seen: int | None
    devices: dict[str, str] = field(default_factory=dict)
    disk_free: int | None = None
    telemetry: dict[str, Any] | None = None


@dataclass(frozen=True)
class Sample:
    """One telemetry message of a kiosk, as received at `at` (hub ms)."""

    at: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What a kiosk reported of a config or command (`id` is None when the kiosk could not read it)."""

    id: str | None
    kiosk: str
    type: str
    name: str | None
    ok: bool
    reason: str | None
    version: int | None
    result: dict[str, Any]
    at: int
    received_at: int


_LATEST = ("last_seen = CASE WHEN fleet_kiosks.last_seen IS NULL OR excluded.last_seen > fleet_kiosks.last_seen"
           " THEN excluded.last_seen ELSE fleet_kiosks.last_seen END")


def record(tx: Tx, reports: Sequence[Report], now: int) -> None:
    """Write a group of reports in arrival order: rows updated, samples and outcomes added, history trimmed."""
    sampled: set[str] = set()
    for r in reports:
        if r.kind == STATUS:
            _status(tx, r)
        elif r.kind == TELEMETRY:
            _telemetry(tx, r)
            sampled.add(r.kiosk)
        elif r.kind == OUTCOME:
            _outcome(tx, r, now)
        else:
            raise ValueError(f"no fleet report of kind {r.kind!r}")
    for kiosk in sorted(sampled):
        tx.run("DELETE FROM fleet_telemetry WHERE kiosk = ? AND pos <= (SELECT pos FROM fleet_telemetry"
               " WHERE kiosk = ? ORDER BY pos DESC LIMIT 1 OFFSET ?)", (kiosk, kiosk, HISTORY))


def _status(tx: Tx, r: Report) -> None:
    b = r.body
    tx.run("INSERT INTO fleet_kiosks (kiosk, store, online, version, config_version, last_seen)"
           " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kiosk) DO UPDATE SET online = excluded.online,"
           f" version = excluded.version, config_version = excluded.config_version, {_LATEST}",
           (r.kiosk, r.store, b["state"] == "online", b.get("version"), b.get("config_version", 0), r.at))


def _telemetry(tx: Tx, r: Report) -> None:
    b, text = r.body, json.dumps(r.body, ensure_ascii=False, sort_keys=True)
    tx.run("INSERT INTO fleet_kiosks (kiosk, store, online, version, config_version, unacked, last_seen, devices,"
           " disk_free, telemetry) VALUES (?, ?, TRUE, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kiosk) DO UPDATE SET"
           " version = excluded.version, config_version = excluded.config_version, unacked = excluded.unacked,"
           f" devices = excluded.devices, disk_free = excluded.disk_free, telemetry = excluded.telemetry, {_LATEST}",
           (r.kiosk, r.store, b.get("version"), b.get("config_version", 0), b.get("unacked"), r.at,
            json.dumps(b.get("devices") or {}, sort_keys=True), b.get("disk_free"), text))
    tx.run("INSERT INTO fleet_telemetry (kiosk, at, body) VALUES (?, ?, ?)", (r.kiosk, r.at, text))


def _outcome(tx: Tx, r: Report, now: int) -> None:
    b = r.body
    tx.run("INSERT INTO fleet_outcomes (id, kiosk, type, name, ok, reason, version, result, at, received_at)"
           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id, kiosk) DO UPDATE SET ok = excluded.ok,"
           " reason = excluded.reason, result = excluded.result, at = excluded.at, received_at = excluded.received_at"
           " WHERE excluded.at > fleet_outcomes.at",  # a later outcome of a command (an update installed) replaces
           # its first (staged); the same outcome reported again changes nothing
           (b.get("id"), r.kiosk, b["type"], b.get("name"), bool(b["ok"]), b.get("reason"), b.get("version"),
            json.dumps(b.get("result") or {}, ensure_ascii=False, sort_keys=True), b.get("at", r.at), now))


_KIOSK_COLUMNS = "store, kiosk, online, version, config_version, unacked, last_seen, devices, disk_free, telemetry"


def kiosks(tx: Tx, store: str | None = None) -> list[FleetKiosk]:
    """Every kiosk the hub has heard of (or those of one store), by store and id."""
    where, params = (" WHERE store = ?", (store,)) if store else ("", ())
    return [_kiosk(row) for row in tx.rows(f"SELECT {_KIOSK_COLUMNS} FROM fleet_kiosks{where} ORDER BY store, kiosk",
                                           params)]


def kiosk(tx: Tx, kiosk_id: str) -> FleetKiosk | None:
    """One kiosk's row, or None when the hub never heard of it."""
    row = tx.one(f"SELECT {_KIOSK_COLUMNS} FROM fleet_kiosks WHERE kiosk = ?", (kiosk_id,))
    return _kiosk(row) if row else None


def history(tx: Tx, kiosk_id: str, limit: int = 100) -> list[Sample]:
    """A kiosk's latest telemetry samples, newest first."""
    rows = tx.rows("SELECT at, body FROM fleet_telemetry WHERE kiosk = ? ORDER BY pos DESC LIMIT ?", (kiosk_id, limit))
    return [Sample(at, json.loads(body)) for at, body in rows]


def outcomes(tx: Tx, kiosk_id: str | None = None, outcome_id: str | None = None, limit: int = 100) -> list[Outcome]:
    """Outcomes newest first, of one kiosk and/or of one config or command id."""
    clauses = [(c, v) for c, v in (("kiosk = ?", kiosk_id), ("id = ?", outcome_id)) if v is not None]
    where = " WHERE " + " AND ".join(c for c, _ in clauses) if clauses else ""
    rows = tx.rows("SELECT id, kiosk, type, name, ok, reason, version, result, at, received_at FROM fleet_outcomes"
                   f"{where} ORDER BY pos DESC LIMIT ?", (*(v for _, v in clauses), limit))
    return [Outcome(*row[:4], bool(row[4]), row[5], row[6], json.loads(row[7]), row[8], row[9]) for row in rows]


def _kiosk(row: tuple) -> FleetKiosk:
    store, kiosk_id, online, version, config_version, unacked, last_seen, devices, disk_free, telemetry = row
    return FleetKiosk(store, kiosk_id, bool(online), version, config_version, unacked, last_seen, json.loads(devices),
                      disk_free, json.loads(telemetry) if telemetry else None)
