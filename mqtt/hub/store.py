"""The hub's one storage interface, on SQLite (the embedded default) or PostgreSQL, chosen by URL.

`HubStore.open("sqlite:////var/lib/memberkiosk/hub.db")` or `HubStore.open("postgresql://hub@db/memberkiosk")`:
the same code and SQL run on both (mqtt.hub.dialects holds the few differences). Every write is one transaction;
`apply` takes many batches at once so a busy hub commits (and fsyncs) once per group, not once per event.
A store holds one connection: give each worker thread or process its own.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

from core.codec import from_wire
from core.directory import Record
from core.events import Event
from core.ledger import Balances
from kiosk.clock import wall_ms
from mqtt.hub import allowances, apply, balances, directory, feed, fleetdb, grants, schema
from mqtt.hub.allowances import Allowance
from mqtt.hub.apply import Ack, Batch
from mqtt.hub.dialects import Dialect, Tx, connect
from mqtt.hub.facts import HubFacts, TxCursor
from mqtt.hub.feed import Page
from mqtt.hub.grants import Amounts, Decision

RETRIES = 8  # a PostgreSQL deadlock victim runs again; more than a few in a row is a bug, not load

T = TypeVar("T")


@dataclass(frozen=True)
class KioskStatus:
    """A kiosk as the hub sees it: `watermark` (every event up to it is held), `backlog` (sequences it has sent or
    announced beyond the watermark: gaps and events still to come) and when it was last heard from (ms)."""

    kiosk_id: str
    store_id: str | None
    watermark: int
    backlog: int
    last_seen: int | None


@dataclass(frozen=True)
class ReconcileItem:
    """Something offline operation made that a manager must settle: an overdraft (`what` is the balance, `amount`
    how far below zero the event took it) or a sequence clash (`amount` is the sequence number)."""

    id: int
    event_id: str
    what: str
    member_id: str | None
    kiosk_id: str
    amount: int
    flagged_at: int


class HubStore:
    """Events, watermarks, balances, escrow, directory and reconcile list of the chain, in one database."""

    def __init__(self, db: Dialect, clock: Callable[[], int] = wall_ms, url: str | None = None) -> None:
        self.db = db
        self.clock = clock
        self.url = url
        self.facts = HubFacts()  # the sales facts' writer, its dictionary cached for this connection
        schema.create(db)

    @classmethod
    def open(cls, url: str, clock: Callable[[], int] = wall_ms) -> HubStore:
        """The store a URL names (sqlite:///PATH or postgresql://...), its tables created when new."""
        return cls(connect(url), clock, url)

    def reopen(self) -> HubStore:
        """Another connection to the same database, for another thread."""
        if self.url is None:
            raise ValueError("this hub store was opened without a URL; open it with HubStore.open to reopen it")
        return HubStore.open(self.url, self.clock)

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> HubStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, work: Callable[[Tx], T]) -> T:
        """Run `work` in a transaction, again if PostgreSQL aborted it to break a deadlock."""
        for attempt in range(RETRIES):
            try:
                with self.db.transaction() as tx:
                    return work(tx)
            except BaseException as e:
                self.facts.forget()  # fact ids it cached in the rolled-back transaction were never stored
                if not isinstance(e, self.db.retryable) or attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _read(self, work: Callable[[Tx], T]) -> T:
        with self.db.transaction(write=False) as tx:
            return work(tx)

    def apply(self, batches: Sequence[Batch]) -> list[Ack]:
        """Apply the batches in one transaction (group commit); one ack per batch, valid now that it committed."""
        return self._write(lambda tx: apply.apply(tx, batches, self.clock(), self.facts))

    def facts_rebuild(self, timezone: str | None = None, progress: Callable[[int], None] | None = None) -> int:
        """Write the sales facts again from every event held, in one transaction (in `timezone` from now on, when
        given); how many events gave facts. `progress` hears how many events each page read."""
        return self._write(lambda tx: self.facts.rebuild(tx, timezone, progress))

    def facts_timezone(self) -> str:
        """The time zone the facts count local days and hours in."""
        return self._read(self.facts.timezone)

    def facts_read(self, work: Callable[[TxCursor], T]) -> T:
        """`work` on a DB-API cursor (placeholder `?`) over the fact tables, in one read transaction: reports."""
        return self._read(lambda tx: work(TxCursor(tx)))

    def watermark(self, kiosk_id: str) -> int:
        """The highest sequence of `kiosk_id` up to which the hub holds every event (0 for a kiosk never heard)."""
        row = self._read(lambda tx: tx.one("SELECT watermark FROM kiosks WHERE kiosk_id = ?", (kiosk_id,)))
        return row[0] if row else 0

    def events(self, kiosk_id: str, after: int = 0, limit: int = 1000) -> list[Event]:
        """A kiosk's events after sequence `after`, in order, as it sent them (to restore a kiosk that lost its tail)."""
        rows = self._read(lambda tx: tx.rows("SELECT body FROM events WHERE kiosk_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                                             (kiosk_id, after, limit)))
        return [from_wire(json.loads(body)) for (body,) in rows]

    def kiosks(self) -> list[KioskStatus]:
        """Every kiosk the hub has heard from, by id."""
        rows = self._read(lambda tx: tx.rows(
            "SELECT kiosk_id, store_id, watermark, top - watermark, last_seen FROM kiosks ORDER BY kiosk_id"))
        return [KioskStatus(*row) for row in rows]

    def balances(self, member_id: str) -> Balances:
        """A member's chain-wide balances: the fold of every event the hub holds."""
        return self._read(lambda tx: balances.read(tx, member_id))

    def reconcile(self) -> list[ReconcileItem]:
        """What a manager must settle, oldest first."""
        rows = self._read(lambda tx: tx.rows(
            "SELECT id, event_id, what, member_id, kiosk_id, amount, flagged_at FROM reconcile ORDER BY id"))
        return [ReconcileItem(*row) for row in rows]

    def members_find(self, phone: str) -> list[Record]:
        """The members holding a phone number, the first claim first (two when registered offline at two kiosks)."""
        return self._read(lambda tx: directory.find_phone(tx, phone))

    def member(self, member_id: str) -> Record:
        """A member's record merged from every kiosk's changes."""
        return self._read(lambda tx: directory.record(tx, member_id))

    def register(self, kiosk_id: str, store_id: str) -> str:
        """Note the store a kiosk belongs to when the hub first hears of it; the store it is registered to."""
        return self._write(lambda tx: tx.one(
            "INSERT INTO kiosks (kiosk_id, store_id) VALUES (?, ?) ON CONFLICT (kiosk_id) DO UPDATE"
            " SET store_id = COALESCE(kiosks.store_id, excluded.store_id) RETURNING store_id", (kiosk_id, store_id)))[0]

    def pull(self, requester: str, cursors: Mapping[str, int], restore: int | None,
             directory_after: int) -> tuple[Page, Page]:
        """A kiosk's next events page and directory page (mqtt.hub.feed), read in one transaction."""
        return self._read(lambda tx: (feed.events_page(tx, requester, cursors, restore),
                                      feed.directory_page(tx, directory_after)))

    def offer(self, kiosk_id: str, member_ids: Iterable[str], share: float) -> tuple[int, dict[str, Amounts]]:
        """Raise a kiosk's allowances of members after its events were applied (mqtt.hub.grants.offer)."""
        return self._write(lambda tx: grants.offer(tx, kiosk_id, member_ids, share, self.clock()))

    def authorise(self, kiosk_id: str, member_id: str, amounts: Mapping[str, Any]) -> Decision:
        """Answer a kiosk's request to spend beyond its allowance, all or nothing (mqtt.hub.grants.authorise)."""
        return self._write(lambda tx: grants.authorise(tx, kiosk_id, member_id, amounts, self.clock()))

    def grant(self, member_id: str, kiosk_id: str, kind: str, amount: int) -> int:
        """Let a kiosk spend up to `amount` more of a member's balance offline, as far as no other kiosk was
        promised it; returns the kiosk's allowance now."""
        return self._write(lambda tx: allowances.grant(tx, member_id, kiosk_id, kind, amount, self.clock()))

    def release(self, member_id: str, kiosk_id: str, kind: str, amount: int | None = None) -> int:
        """Take back `amount` (all when None) of a kiosk's allowance; returns what it still holds."""
        return self._write(lambda tx: allowances.release(tx, member_id, kiosk_id, kind, amount, self.clock()))

    def allowances(self, member_id: str) -> list[Allowance]:
        """A member's allowances, by kiosk and kind."""
        return self._read(lambda tx: allowances.of_member(tx, member_id))

    def fleet_record(self, reports: Sequence[fleetdb.Report]) -> None:
        """Write kiosks' status, telemetry and outcome reports in one transaction (mqtt.hub.fleetdb.record)."""
        self._write(lambda tx: fleetdb.record(tx, reports, self.clock()))

    def fleet_kiosks(self, store: str | None = None) -> list[fleetdb.FleetKiosk]:
        """Every kiosk's last known state (of one store when given), by store and id."""
        return self._read(lambda tx: fleetdb.kiosks(tx, store))

    def fleet_kiosk(self, kiosk_id: str) -> fleetdb.FleetKiosk | None:
        """One kiosk's last known state, or None when the hub never heard of it."""
        return self._read(lambda tx: fleetdb.kiosk(tx, kiosk_id))

    def fleet_history(self, kiosk_id: str, limit: int = 100) -> list[fleetdb.Sample]:
        """A kiosk's latest telemetry samples, newest first."""
        return self._read(lambda tx: fleetdb.history(tx, kiosk_id, limit))

    def fleet_outcomes(self, kiosk_id: str | None = None, outcome_id: str | None = None,
                       limit: int = 100) -> list[fleetdb.Outcome]:
        """Config and command outcomes newest first, of one kiosk and/or one config or command id."""
        return self._read(lambda tx: fleetdb.outcomes(tx, kiosk_id, outcome_id, limit))
