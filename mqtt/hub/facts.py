"""The sales facts at the hub: the kiosks' fact tables (kiosk.facts) over every store, kept in the hub's database.

Facts are written in the transaction that applies the events, for the events it really added, so the hub's dedupe
by event id makes them exactly-once: a batch delivered twice writes nothing the second time. A refund finds its
sale in the hub's `events`. Writers serialise on one meta row (`facts`), which also holds the facts' time zone
and a generation that a rebuild moves on, so every worker's cached dictionary ids stay those of the database.
The time zone is a hub setting kept in that row (default Asia/Shanghai, not the server's zone: a head-office
server often runs on UTC, which would put a shop's evening sales on the next day); `hub facts rebuild --timezone`
changes it and rewrites the facts.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any, Callable, Iterator, Sequence

from core.codec import from_wire
from core.events import Event
from core.facts import gives_facts
from core.payloads import BadPayload
from kiosk.clock import zone
from kiosk.facts import schema as facts_schema
from kiosk.facts.writer import FactWriter
from mqtt.hub.dialects import Params, Tx

DEFAULT_TIMEZONE = "Asia/Shanghai"
META_KEY = "facts"  # the meta row writers lock: {"generation": n, "timezone": name}
PAGE = 5000  # events read at a time by a rebuild
log = logging.getLogger(__name__)


def initial_meta() -> str:
    """The facts' meta row of a new hub database, as SQL."""
    return (f"INSERT INTO meta (key, value) VALUES ('{META_KEY}', "
            f"'{json.dumps({'generation': 0, 'timezone': DEFAULT_TIMEZONE})}') ON CONFLICT DO NOTHING")


class TxCursor:
    """A DB-API cursor over whichever hub transaction is bound to it, taking `?` on SQLite and PostgreSQL alike (the
    dialect translates): what kiosk.facts and kiosk.reports are written against."""

    def __init__(self, tx: Tx | None = None) -> None:
        self.tx = tx
        self._cur: Any = None

    def execute(self, sql: str, params: Params = ()) -> TxCursor:
        """Run a statement in the bound transaction."""
        assert self.tx is not None, "bind a transaction first"
        self._cur = self.tx.execute(sql, params)
        return self

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Run a statement once per row of parameters."""
        assert self.tx is not None, "bind a transaction first"
        self.tx.many(sql, rows)

    def fetchone(self) -> tuple | None:
        return self._cur.fetchone()

    def fetchall(self) -> list[tuple]:
        return self._cur.fetchall()

    def fetchmany(self, size: int) -> list[tuple]:
        return self._cur.fetchmany(size)


class HubFacts:
    """The fact writer of one hub connection: its dictionary cache lives as long as the connection."""

    def __init__(self) -> None:
        self._cursor = TxCursor()
        self._writer = FactWriter(self._cursor, "?", self._resolve)
        self._generation: int | None = None
        self._tz: dt.tzinfo | None = None

    def forget(self) -> None:
        """Drop the cached dictionary: the transaction that wrote with it did not commit."""
        self._writer.forget()
        self._generation = None

    def write(self, tx: Tx, events: Sequence[Event]) -> int:
        """Write the facts of events this transaction added (in stamp order); how many gave facts."""
        wanted = [e for e in events if gives_facts(e)]
        if not wanted:
            return 0
        self._lock(tx)
        try:
            return self._writer.write(wanted, self._tz)
        except BadPayload:  # nothing was written yet: find the unreadable events, skip them, write the rest
            return sum(self._one(e) for e in wanted)

    def _one(self, event: Event) -> int:
        try:
            return self._writer.write([event], self._tz)
        except BadPayload as e:
            log.warning("hub facts: event %s of kiosk %s (%s) gives no facts: %s", event.id, event.kiosk_id,
                        event.type, e)
            return 0

    def rebuild(self, tx: Tx, timezone: str | None = None, progress: Callable[[int], None] | None = None) -> int:
        """Delete every fact row and write them again from the hub's events (in the zone given, else the one
        set); how many events gave facts."""
        meta = _meta(tx, lock=True)
        if timezone is not None:
            zone(timezone)  # an unknown name is refused before anything is deleted
            meta["timezone"] = timezone
        meta["generation"] += 1
        tx.run("UPDATE meta SET value = ? WHERE key = ?", (json.dumps(meta), META_KEY))
        facts_schema.clear(self._cursor_on(tx))
        self.forget()
        self._lock(tx)
        written = 0
        for page in _pages(tx):
            written += self.write(tx, page)
            if progress is not None:
                progress(len(page))
        return written

    def timezone(self, tx: Tx) -> str:
        """The zone local days and hours are counted in."""
        return _meta(tx)["timezone"]

    def _cursor_on(self, tx: Tx) -> TxCursor:
        self._cursor.tx = tx
        return self._cursor

    def _lock(self, tx: Tx) -> None:
        """Take the writers' lock for this transaction; reload the cache when a rebuild changed the ids."""
        self._cursor_on(tx)
        meta = _meta(tx, lock=True)
        if meta["generation"] != self._generation:
            self._writer.forget()
            self._generation, self._tz = meta["generation"], zone(meta["timezone"])

    def _resolve(self, event_id: str) -> tuple[str, int] | None:
        tx = self._cursor.tx
        assert tx is not None
        row = tx.one("SELECT kiosk_id, seq FROM events WHERE id = ?", (event_id,))
        return (row[0], row[1]) if row else None


def _meta(tx: Tx, lock: bool = False) -> dict[str, Any]:
    row = tx.one(f"SELECT value FROM meta WHERE key = ?{tx.lock if lock else ''}", (META_KEY,))
    assert row is not None, "the hub schema creates the facts' meta row"
    return json.loads(row[0])


def _pages(tx: Tx) -> Iterator[list[Event]]:
    """Every event the hub holds in stamp order (a sale before its refunds), PAGE at a time."""
    last: tuple[int, str, int] = (-1, "", -1)
    while True:
        rows = tx.rows("SELECT ts, kiosk_id, seq, body FROM events WHERE ts > ? OR (ts = ? AND (kiosk_id > ?"
                       " OR (kiosk_id = ? AND seq > ?))) ORDER BY ts, kiosk_id, seq LIMIT ?",
                       (last[0], last[0], last[1], last[1], last[2], PAGE))
        if not rows:
            return
        last = rows[-1][:3]
        yield [from_wire(json.loads(body)) for *_key, body in rows]
