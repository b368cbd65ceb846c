"""The hub's tables, the same on SQLite and PostgreSQL: events by id, kiosk watermarks, balances, escrow, directory.

Events are kept whole (`body` is the canonical wire JSON) so the hub can pass them on byte for byte; `balances` is
the fold of `events` (core.ledger), a cache the hub could rebuild; `reconcile` lists what a manager must settle.
`directory.pos` numbers the directory feed in commit order, so a kiosk's cursor into it never skips a change.
"""
from __future__ import annotations

from core.ledger import DEFAULT_TIER
from kiosk.facts import schema as facts_schema
from mqtt.hub import facts
from mqtt.hub.dialects import Dialect, Tx

VERSION = 2  # 2: the sales facts (mqtt.hub.facts); an older hub would apply events without writing them
DIRECTORY_POS = "directory_pos"  # the meta row that numbers the directory feed, locked by each applying transaction

TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, store_id TEXT NOT NULL,"
    " seq BIGINT NOT NULL, ts BIGINT NOT NULL, type TEXT NOT NULL, member_id TEXT, body TEXT NOT NULL,"
    " applied_at BIGINT NOT NULL, UNIQUE (kiosk_id, seq))",
    "CREATE INDEX IF NOT EXISTS events_member ON events (member_id)",
    "CREATE TABLE IF NOT EXISTS kiosks (kiosk_id TEXT PRIMARY KEY, store_id TEXT,"
    " watermark BIGINT NOT NULL DEFAULT 0, top BIGINT NOT NULL DEFAULT 0, last_seen BIGINT)",
    "CREATE TABLE IF NOT EXISTS balances (member_id TEXT PRIMARY KEY, points BIGINT NOT NULL DEFAULT 0,"
    " stored_value BIGINT NOT NULL DEFAULT 0, lifetime_spend BIGINT NOT NULL DEFAULT 0,"
    f" visits TEXT NOT NULL DEFAULT '{{}}', tier TEXT NOT NULL DEFAULT '{DEFAULT_TIER}',"
    " tier_ts BIGINT NOT NULL DEFAULT 0, tier_kiosk TEXT NOT NULL DEFAULT '', tier_seq BIGINT NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS reconcile (id {serial}, event_id TEXT NOT NULL, what TEXT NOT NULL, member_id TEXT,"
    " kiosk_id TEXT NOT NULL, amount BIGINT NOT NULL, flagged_at BIGINT NOT NULL, UNIQUE (event_id, what))",
    "CREATE TABLE IF NOT EXISTS allowances (member_id TEXT NOT NULL, kiosk_id TEXT NOT NULL, kind TEXT NOT NULL,"
    " amount BIGINT NOT NULL CHECK (amount >= 0), updated_at BIGINT NOT NULL, PRIMARY KEY (member_id, kiosk_id, kind))",
    "CREATE TABLE IF NOT EXISTS directory (id TEXT PRIMARY KEY, member_id TEXT NOT NULL, kiosk_id TEXT NOT NULL,"
    " ts BIGINT NOT NULL, kind TEXT NOT NULL, fields TEXT NOT NULL, pos BIGINT NOT NULL UNIQUE)",
    "CREATE INDEX IF NOT EXISTS directory_member ON directory (member_id)",
    f"INSERT INTO meta (key, value) VALUES ('{DIRECTORY_POS}', '0') ON CONFLICT DO NOTHING",
    "CREATE TABLE IF NOT EXISTS members (member_id TEXT PRIMARY KEY, phone TEXT, erased_at BIGINT)",
    "CREATE INDEX IF NOT EXISTS members_phone ON members (phone)",
    # the fleet (mqtt.hub.fleetdb): each kiosk's last state, a bounded telemetry history, config/command outcomes
    "CREATE TABLE IF NOT EXISTS fleet_kiosks (kiosk TEXT PRIMARY KEY, store TEXT NOT NULL,"
    " online BOOLEAN NOT NULL DEFAULT FALSE, version TEXT, config_version BIGINT NOT NULL DEFAULT 0, unacked BIGINT,"
    " last_seen BIGINT, devices TEXT NOT NULL DEFAULT '{}', disk_free BIGINT, telemetry TEXT)",
    "CREATE TABLE IF NOT EXISTS fleet_telemetry (pos {serial}, kiosk TEXT NOT NULL, at BIGINT NOT NULL,"
    " body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS fleet_telemetry_kiosk ON fleet_telemetry (kiosk, pos)",
    "CREATE TABLE IF NOT EXISTS fleet_outcomes (pos {serial}, id TEXT, kiosk TEXT NOT NULL, type TEXT NOT NULL,"
    " name TEXT, ok BOOLEAN NOT NULL, reason TEXT, version BIGINT, result TEXT NOT NULL DEFAULT '{}',"
    " at BIGINT NOT NULL, received_at BIGINT NOT NULL, UNIQUE (id, kiosk))",
    "CREATE INDEX IF NOT EXISTS fleet_outcomes_kiosk ON fleet_outcomes (kiosk, pos)",
    *facts_schema.TABLES,  # the kiosks' fact tables, over every store
    facts.initial_meta(),
)


class NewerSchema(RuntimeError):
    """The hub database was written by a newer memberkiosk; this one must not touch it."""


def create(db: Dialect) -> None:
    """Create the tables a new database lacks and check an existing one's version."""
    with db.transaction() as tx:
        if db.schema_lock:
            tx.run(db.schema_lock)
        for statement in TABLES:
            tx.run(statement.replace("{serial}", db.serial))
        _check_version(tx)


def _check_version(tx: Tx) -> None:
    row = tx.one("SELECT value FROM meta WHERE key = 'schema'")
    if row is None:
        tx.run("INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(VERSION),))
    elif int(row[0]) > VERSION:
        raise NewerSchema(f"the hub database has schema {row[0]}, newer than this memberkiosk's {VERSION}: upgrade it")
    elif int(row[0]) < VERSION:  # the tables above were added; history's facts come from `hub facts rebuild`
        tx.run("UPDATE meta SET value = ? WHERE key = 'schema'", (str(VERSION),))
