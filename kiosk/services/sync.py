"""Sync: ingest of events and member changes made elsewhere, and sync by file between kiosks of one store.

A sync file holds every event and member-directory change this kiosk holds (its own and those it ingested),
or those after the positions a previous export covered. It is signed with the kiosk's Ed25519 key. Trust is on
first use: the first file from a kiosk id teaches us its key, and a later file from that id signed by another key
is refused (`sync forget KIOSK` after a kiosk is reinstalled). Files are exchanged between kiosks of one store
only: a kiosk of another store gets our members' events through the hub, which knows whose events it may have.
Member changes travel with phone, name and birthday sealed under the chain's pii key (kiosk/store/pii.py): a
kiosk without that key refuses the file rather than storing what it cannot open.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from core import directory as changes_
from core.codec import BadEvent, dumps, from_wire, to_wire
from core.directory import BadChange
from core.errors import KioskError
from core.events import Event
from kiosk.clock import Clock
from kiosk.services.gateway import Gateway
from kiosk.services.keys import KioskKey, signed_by
from kiosk.store.keyring import KeyRing
from kiosk.store import cursors, directory, ingest as ingest_rows, peers, pii
from kiosk.store.db import Database
from kiosk.store.directory import DirectoryReport
from kiosk.store.documents import atomic_write
from kiosk.store.ingest import IngestReport

FORMAT = "memberkiosk-sync"
VERSION = 1
_DOMAIN = b"memberkiosk-sync/1\n"  # what the signature covers, before the body: never a valid signature of anything else
BATCH = 1000
_READ = 10_000


class SyncFileRefused(KioskError):
    """A sync file that is damaged, altered, from another store, or signed by a key we do not trust for its kiosk."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did: events new, duplicate and flagged; member changes new, duplicate and in conflict."""

    kiosk_id: str
    events: IngestReport
    members: DirectoryReport

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {**asdict(self.events), "members": asdict(self.members), "from": self.kiosk_id}


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote, and the positions it covered (the next `--since` starts after them)."""

    path: Path
    events: int
    changes: int
    covers: dict[str, list[int]]


class SyncService:
    """Ingest, and sync by signed file."""

    def __init__(self, db: Database, gateway: Gateway, clock: Clock, keys: KeyRing) -> None:
        self.db, self.gateway, self.who, self.clock, self.keys = db, gateway, gateway.who, clock, keys

    def ingest(self, events: Iterable[Event], batch: int = BATCH) -> IngestReport:
        """Take events made elsewhere, `batch` per transaction; duplicates are ignored, overdrafts flagged."""
        report, pending = IngestReport(), list(events)
        for i in range(0, len(pending), batch):
            with self.db.transaction() as conn:
                report.add(ingest_rows.ingest(conn, self.who, pending[i:i + batch], self.clock.now_ms(),
                                              self.gateway.chain))
            self.gateway.notify()
        return report

    def export(self, path: Path, since: Path | None = None) -> ExportReport:
        """Write a signed file of every event and member change held here, or those after the previous export."""
        key = KioskKey(self.keys.signing())
        start = self._covered_by(since, key) if since else {"events": 0, "directory": 0}
        with self.db.reading() as conn:
            upto = {"events": cursors.max_pos(conn), "directory": directory.max_pos(conn)}
            events = _events_between(conn, start["events"], upto["events"])
            sealer = pii.key_of(conn)
            changes = [sealer.seal_change(c) for _pos, c in directory.changes_after(conn, start["directory"])]
        covers = {name: [start[name], upto[name]] for name in upto}
        body = {"format": FORMAT, "version": VERSION, "kiosk_id": self.who.kiosk_id, "store_id": self.who.store_id,
                "public_key": key.public, "made_at": self.clock.now_ms(), "covers": covers,
                "events": [to_wire(e) for e in events], "directory": [changes_.to_wire(c) for c in changes]}
        signed = {"signed": body, "signature": key.sign(_DOMAIN + dumps(body).encode())}
        atomic_write(path, (dumps(signed) + "\n").encode())
        return ExportReport(path, len(events), len(changes), covers)

    def import_file(self, path: Path) -> ImportReport:
        """Ingest a sync file from another kiosk of this store, all or nothing; importing it again changes nothing."""
        body = _read(path)
        sender = body["kiosk_id"]
        if body["store_id"] != self.who.store_id:
            raise SyncFileRefused(
                f"{path} comes from store {body['store_id']}, and this kiosk belongs to store {self.who.store_id}: "
                "files are exchanged between kiosks of one store; other stores sync through the hub")
        try:
            events = [from_wire(d) for d in _list(body, "events")]
            changes = [changes_.from_wire(d) for d in _list(body, "directory")]
        except (BadEvent, BadChange) as exc:
            raise SyncFileRefused(f"{path} was signed by {sender} but holds a malformed record ({exc}); nothing imported") from exc
        try:
            changes = [pii.key_of(self.db.conn).open_change(c) for c in changes]
        except pii.PersonalDataLocked as exc:
            raise SyncFileRefused(f"{path}: the member records from {sender} cannot be opened ({exc}); kiosks that "
                                  "exchange files need the chain's pii.key in their key dirs. Nothing imported") from exc
        with self.db.transaction() as conn:
            self._trust(conn, path, sender, body["public_key"])
            now = self.clock.now_ms()
            members = directory.ingest(conn, changes, now)
            report = ingest_rows.ingest(conn, self.who, events, now, self.gateway.chain)
        self.gateway.notify()
        return ImportReport(sender, report, members)

    def forget(self, kiosk_id: str) -> bool:
        """Forget the key remembered for a kiosk (it was reinstalled with a new key); its next file teaches the new one."""
        with self.db.transaction() as conn:
            return peers.forget(conn, kiosk_id)

    def flags(self) -> dict[str, list[dict[str, Any]]]:
        """What sync flagged for staff: overdrafts caused by spending elsewhere, and clashing phones or cards."""
        with self.db.reading() as conn:
            return {
                "overdrafts": [dict(zip(("event_id", "what", "member_id", "amount", "flagged_at"), r))
                               for r in ingest_rows.overdrafts(conn)],
                "conflicts": [dict(zip(("member_id", "field", "value", "kept_by", "flagged_at"), r))
                              for r in directory.conflicts(conn)],
            }

    def _trust(self, conn: sqlite3.Connection, path: Path, sender: str, public_key: str) -> None:
        if sender == self.who.kiosk_id:
            if public_key != KioskKey(self.keys.signing()).public:
                raise SyncFileRefused(f"{path} claims to come from this kiosk ({sender}) but is not signed by its key")
            return
        known = peers.key_of(conn, sender)
        if known is None:
            peers.remember(conn, sender, self.who.store_id, public_key, self.clock.now_ms())
        elif known != public_key:
            raise SyncFileRefused(
                f"{path} is signed by a different key than the one kiosk {sender} used before: refused. If {sender} was "
                f"reinstalled, run 'memberkiosk sync forget {sender}' and import again")

    def _covered_by(self, previous: Path, key: KioskKey) -> dict[str, int]:
        body = _read(previous)
        if body["kiosk_id"] != self.who.kiosk_id or body["public_key"] != key.public:
            raise SyncFileRefused(f"{previous} was not exported by this kiosk; --since takes this kiosk's previous export")
        covers = body.get("covers")
        try:
            return {name: int(covers[name][1]) for name in ("events", "directory")}
        except (TypeError, KeyError, IndexError, ValueError):
            raise SyncFileRefused(f"{previous} does not say which positions it covered") from None


def _read(path: Path) -> dict[str, Any]:
    """The signed body of a sync file, after checking its form and its signature."""
    try:
        outer = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SyncFileRefused(f"cannot read {path} as a memberkiosk sync file ({exc})") from exc
    body = outer.get("signed") if isinstance(outer, dict) else None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise SyncFileRefused(f"{path} is not a memberkiosk sync file")
    if body.get("version") != VERSION:
        raise SyncFileRefused(f"{path} is a sync file of version {body.get('version')}; this software reads "
                              f"version {VERSION}: upgrade memberkiosk")
    sender, public_key, signature = body.get("kiosk_id"), body.get("public_key"), outer.get("signature")
    if not all(isinstance(v, str) for v in (sender, public_key, signature, body.get("store_id"))):
        raise SyncFileRefused(f"{path} has no signer: refused")
    if not signed_by(public_key, _DOMAIN + dumps(body).encode(), signature):
        raise SyncFileRefused(f"{path} was altered after kiosk {sender} signed it (the signature does not match): "
                              f"refused, nothing imported. Export it again at {sender}")
    return body


def _list(body: dict[str, Any], name: str) -> list[Any]:
    value = body.get(name, [])
    if not isinstance(value, list):
        raise SyncFileRefused(f"the sync file's {name} is not a list")
    return value


def _events_between(conn: sqlite3.Connection, after: int, upto: int) -> list[Event]:
    found: list[Event] = []
    while after < upto:
        batch = [(p, e) for p, e in cursors.events_after(conn, after, _READ) if p <= upto]
        if not batch:
            break
        found += [e for _p, e in batch]
        after = batch[-1][0]
    return found
