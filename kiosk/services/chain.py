"""Chain sync's kiosk side, without the network: every piece of state the sync agent reads and writes, durably.

The agent (mqtt/agent/) owns the connection and calls these: the ledger is its outbox (own events by sequence,
own directory changes by feed position), the hub's acknowledgements, pages and allowances are stored here, each
in one transaction with what they move, so a kiosk that stops at any instant resumes from what is on disk and
nothing lives only in memory. Head-office documents (rules, catalog) load through the sales service, once per
version.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

from core.catalog import parse_catalog
from core.directory import Change
from core.errors import KioskError, RulesError
from core.events import SYSTEM, Event
from kiosk.clock import Clock
from kiosk.services.gateway import Gateway
from kiosk.services.sales import SalesService
from kiosk.store import chain_state, directory, ingest as ingest_rows
from kiosk.store.chain_state import ChainState
from kiosk.store.db import Database
from kiosk.store.directory import DirectoryReport
from kiosk.store.ingest import IngestReport

log = logging.getLogger(__name__)

# (document name, format) -> how it loads; a name or format not here is refused
_FORMATS = {("rules", "toml"), ("catalog", "csv"), ("catalog", "json")}


class DocumentRefused(KioskError):
    """A head-office document this kiosk cannot apply (unknown, or invalid); nothing was changed."""


class ChainSync:
    """The durable state of chain sync; the agent's only way into the kiosk's store."""

    def __init__(self, db: Database, gateway: Gateway, clock: Clock, sales: SalesService) -> None:
        self.db, self.gateway, self.clock, self.sales = db, gateway, clock, sales
        self.kiosk_id = gateway.who.kiosk_id

    def head(self) -> int:
        """This kiosk's highest sequence (0 when none)."""
        with self.db.reading() as conn:
            return chain_state.head(conn, self.kiosk_id)

    def outbox(self, after_seq: int, limit: int) -> list[Event]:
        """Own events with seq > `after_seq`, in sequence order, at most `limit`."""
        with self.db.reading() as conn:
            return chain_state.own_events(conn, self.kiosk_id, after_seq, limit)

    def directory_outbox(self, after_pos: int, limit: int) -> list[tuple[int, Change]]:
        """(local feed position, change) of changes made here after `after_pos`, personal fields in clear."""
        with self.db.reading() as conn:
            return chain_state.own_changes(conn, self.kiosk_id, after_pos, limit)

    def state(self) -> ChainState:
        """The link's durable state."""
        with self.db.reading() as conn:
            return chain_state.state(conn)

    def record_ack(self, acked_seq: int, directory: int | None) -> ChainState:
        """Store the hub's acknowledgement (never backwards). An ack above this ledger's head means the ledger lost
        events the hub holds: the lost tail is set and the gateway refuses every unit until it is restored."""
        with self.db.transaction() as conn:
            head, was = chain_state.head(conn, self.kiosk_id), chain_state.lost_tail(conn)
            chain_state.record_ack(conn, acked_seq, directory, head, self.clock.now_ms())
            found = chain_state.state(conn)
        if found.lost_tail != was:
            log.error("head office holds events of this kiosk up to %d, and its ledger ends at %d: restored from an "
                      "old backup? Nothing is written until 'memberkiosk sync restore'", acked_seq, head)
        return found

    def apply_events_page(self, events: Sequence[Event], upto: Mapping[str, int],
                          restoring: bool = False) -> IngestReport:
        """Ingest a page of the hub's events and move the origin cursors in one transaction; `restoring` takes this
        kiosk's own lost events back (contiguous above its head), and clears the lost tail once they are all here."""
        with self.db.transaction() as conn:
            report = ingest_rows.ingest(conn, self.gateway.who, events, self.clock.now_ms(), self.gateway.chain,
                                        restoring=restoring)
            chain_state.advance_cursors(conn, {o: s for o, s in upto.items() if o != self.kiosk_id})
            head = chain_state.head(conn, self.kiosk_id)
            if chain_state.clear_lost_tail(conn, head):
                log.warning("this kiosk's lost events are restored up to %d: selling again", head)
        if report.new:
            self.gateway.notify()
        return report

    def apply_directory_page(self, changes: Sequence[Change], upto: int) -> DirectoryReport:
        """Take a page of the hub's directory feed and move the position held in it, in one transaction."""
        with self.db.transaction() as conn:
            report = directory.ingest(conn, changes, self.clock.now_ms())
            chain_state.advance_hub_directory(conn, upto)
        return report

    def set_allowances(self, epoch: int, as_of: int, allowances: Mapping[str, Mapping[str, Any]]) -> int:
        """Replace each listed member's whole allowance unless the stored one is newer by (as_of, epoch); returns
        how many members' allowances changed."""
        with self.db.transaction() as conn:
            return sum(chain_state.put_allowance(conn, member, amounts, as_of, epoch)
                       for member, amounts in sorted(allowances.items()))

    def set_connected(self, connected: bool) -> None:
        """Record whether the link to the broker is up (and since when it is what it is)."""
        with self.db.transaction() as conn:
            chain_state.set_connected(conn, connected, self.clock.now_ms())

    def pull_request(self, restore: bool = False) -> dict[str, Any]:
        """The body of up/pull: the cursors held, and with `restore` this kiosk's own head to restore above."""
        with self.db.reading() as conn:
            found = chain_state.state(conn)
            head = chain_state.head(conn, self.kiosk_id) if restore else None
        return {"events": found.cursors, "directory": found.hub_directory, "restore": head}

    def apply_document(self, name: str, fmt: str, version: int, text: str) -> bool:
        """Load a head-office rulebook (toml) or catalog (csv, json) when `version` is newer than the one applied;
        whether it was loaded. A bad document raises DocumentRefused and changes nothing. The version is recorded
        after the load: a stop between the two loads the same version again, which changes nothing more."""
        if (name, fmt) not in _FORMATS:
            raise DocumentRefused(f"head-office document {name!r} in format {fmt!r} is not one this kiosk applies "
                                  f"(rules as toml, catalog as csv or json)")
        with self.db.reading() as conn:
            applied = chain_state.document_version(conn, name)
        if version <= applied:
            return False
        try:
            if name == "rules":
                self.sales.load_rules(text, SYSTEM)  # validated before anything is written
            else:
                self.sales.load_catalog(parse_catalog(text, fmt), SYSTEM)
        except RulesError as exc:
            raise DocumentRefused(f"head office's {name} version {version} was refused, the kiosk keeps version "
                                  f"{applied}: {exc}") from exc
        with self.db.transaction() as conn:
            chain_state.set_document_version(conn, name, version, self.clock.now_ms())
        log.info("head office's %s version %d is loaded", name, version)
        return True

    def status(self) -> dict[str, Any]:
        """What `memberkiosk sync status` shows: the link, what the hub has not acknowledged, cursors, allowances."""
        with self.db.reading() as conn:
            found = chain_state.state(conn)
            head = chain_state.head(conn, self.kiosk_id)
            unsent = chain_state.count_own_changes(conn, self.kiosk_id, found.directory_acked)
            allowances = chain_state.all_allowances(conn)
            documents = chain_state.document_versions(conn)
        return {
            "connected": found.connected, "since": found.connected_since, "unacked": max(0, head - found.acked_seq),
            "acked_seq": found.acked_seq, "last_ack_at": found.last_ack_at, "head": head, "lost_tail": found.lost_tail,
            "cursors": found.cursors,
            "directory": {"acked": found.directory_acked, "unacked": unsent, "hub": found.hub_directory},
            "allowances": [{"member_id": m, "kind": kind, "amount": n, "as_of": a.as_of}
                           for m, a in allowances for kind, n in sorted(a.amounts.items())],
            "documents": documents,
        }
