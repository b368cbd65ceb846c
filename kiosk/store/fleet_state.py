"""Fleet state in SQLite: config versions applied, commands run and their outcomes, outcomes not yet sent, the lock.

An outcome is queued in the same transaction as what it reports (a config applied, a command run), so a kiosk that
stops at any instant either did not act or will still tell head office that it did. A command is remembered until
it expires: after that a second delivery is refused as expired before anyone looks it up. Call writers inside a
transaction.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any, Mapping

from core.codec import dumps


def applied(conn: sqlite3.Connection, kind: str) -> tuple[int, str | None]:
    """(version, id) of the config of `kind` applied here; (0, None) when none was."""
    row = conn.execute("SELECT version, id FROM fleet_configs WHERE kind = ?", (kind,)).fetchone()
    return (row[0], row[1]) if row else (0, None)


def config_versions(conn: sqlite3.Connection) -> dict[str, int]:
    """The applied version of each config kind."""
    return dict(conn.execute("SELECT kind, version FROM fleet_configs ORDER BY kind"))


def config_version(conn: sqlite3.Connection) -> int:
    """The highest version applied over all kinds (0 when none): what the kiosk's state reports."""
    return conn.execute("SELECT COALESCE(MAX(version), 0) FROM fleet_configs").fetchone()[0]


def set_applied(conn: sqlite3.Connection, kind: str, version: int, config_id: str, now: int) -> None:
    """Record that config `config_id` of `kind` at `version` is applied."""
    conn.execute("INSERT INTO fleet_configs (kind, version, id, applied_at) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT (kind) DO UPDATE SET version = excluded.version, id = excluded.id, "
                 "applied_at = excluded.applied_at", (kind, version, config_id, now))


def executed(conn: sqlite3.Connection, command_id: str) -> dict[str, Any] | None:
    """The outcome of a command run here before, or None."""
    row = conn.execute("SELECT outcome FROM fleet_commands WHERE id = ?", (command_id,)).fetchone()
    return json.loads(row[0]) if row else None


def record_executed(conn: sqlite3.Connection, command_id: str, cmd: str, expires_at: int,
                    outcome: Mapping[str, Any], now: int) -> None:
    """Remember a command run and its outcome until it expires; forget those already expired."""
    conn.execute("DELETE FROM fleet_commands WHERE expires_at < ?", (now,))
    conn.execute("INSERT INTO fleet_commands (id, cmd, expires_at, outcome) VALUES (?, ?, ?, ?)",
                 (command_id, cmd, expires_at, dumps(outcome)))


def queue_outcome(conn: sqlite3.Connection, outcome: Mapping[str, Any]) -> None:
    """Keep an outcome until head office has it."""
    conn.execute("INSERT INTO fleet_outbox (outcome) VALUES (?)", (dumps(outcome),))


def unsent(conn: sqlite3.Connection, limit: int) -> list[tuple[int, dict[str, Any]]]:
    """(position, outcome) of outcomes not yet published, oldest first."""
    return [(pos, json.loads(text)) for pos, text in
            conn.execute("SELECT pos, outcome FROM fleet_outbox ORDER BY pos LIMIT ?", (limit,))]


def sent(conn: sqlite3.Connection, pos: int) -> None:
    """Forget an outcome the broker has taken."""
    conn.execute("DELETE FROM fleet_outbox WHERE pos = ?", (pos,))


def lock(conn: sqlite3.Connection) -> tuple[str, int] | None:
    """(reason, since) while the kiosk is locked, else None."""
    row = conn.execute("SELECT reason, since FROM fleet_lock WHERE id = 1").fetchone()
    return (row[0], row[1]) if row else None


def set_lock(conn: sqlite3.Connection, reason: str | None, now: int) -> None:
    """Lock the kiosk with `reason`, or unlock it with None."""
    if reason is None:
        conn.execute("DELETE FROM fleet_lock")
    else:
        conn.execute("INSERT INTO fleet_lock (id, reason, since) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE "
                     "SET reason = excluded.reason, since = excluded.since", (reason, now))


def last_sale_at(conn: sqlite3.Connection, kiosk_id: str) -> int | None:
    """The time (ms) of this kiosk's last sale, or None."""
    row = conn.execute("SELECT ts FROM events WHERE type = 'sale.completed' AND kiosk_id = ? ORDER BY ts DESC "
                       "LIMIT 1", (kiosk_id,)).fetchone()  # backwards along (type, ts): own sales are the recent ones
    return row[0] if row else None
