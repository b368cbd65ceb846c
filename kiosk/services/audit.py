"""The audit: who did what (`audit log`), and whether the ledger is still the one the kiosk wrote (`audit verify`)."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from core import events as ev, payloads as p
from core.codec import dumps
from core.errors import KioskError
from core.events import Event
from core.money import format_fen
from kiosk.clock import Clock
from kiosk.store import audit, checkpoint, ledger
from kiosk.store.audit import GENESIS, Break, Chain
from kiosk.store.db import LEDGER_FILE, SCHEMA, Database
from kiosk.store.errors import StoreDamaged
from kiosk.store.keyring import KeyRing
from kiosk.store.verify import verify_store, verify_witness
from kiosk.store.witness import WITNESS_FILE, Witness

MAX_BREAKS = 50
AUDIT_KEY = "audit"
RECORD_BUSY_MS = 2000  # how long recording a verify's result waits for the kiosk's write lock
QUICK_LIMIT = 100_000  # events since the checkpoint a start checks at most (a few seconds); the nightly does the rest
# What `audit log` lists: money moved by hand, overrides, member records changed, prices and rules changed.
AUDITED = (ev.TOPPED_UP, ev.SALE_REFUNDED, ev.OVERRIDE, ev.BALANCE_SETTLED, ev.POINTS_ADJUSTED, ev.MEMBER_EDITED,
           ev.MEMBER_ERASED, ev.CARD_BLOCKED, ev.PIN_UNLOCKED, ev.STOCK_ADJUSTED, ev.RULES_LOADED, ev.CATALOG_LOADED,
           ev.SETTINGS_CHANGED)
# Reading a damaged file raises these (see kiosk/store/verify.py); the report names them instead of a traceback.
_UNREADABLE = (sqlite3.Error, ValueError, TypeError)

log = logging.getLogger(__name__)


def fingerprint(document: Any) -> str:
    """The SHA-256 hex digest an event records of a document: of a text's UTF-8 bytes (so `sha256sum rules.toml`
    matches), else of its canonical JSON."""
    raw = document if isinstance(document, str) else dumps(document)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One line of the audit log: an event, its position and local time, and what it did in words."""

    pos: int
    event: Event
    at: dt.datetime
    what: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        e = self.event
        return {"pos": self.pos, "at": self.at.isoformat(sep=" ", timespec="seconds"), "ts": e.ts,
                "kiosk_id": e.kiosk_id, "operator": e.operator, "type": e.type, "member_id": e.member_id,
                "event_id": e.id, "txn": e.txn, "what": self.what, "data": dict(e.data), "deltas": dict(e.deltas)}

    def __str__(self) -> str:
        e = self.event
        member = f" member {e.member_id}" if e.member_id else ""
        return f"{self.at:%Y-%m-%d %H:%M:%S}  {e.kiosk_id}  {e.operator or '(unknown)'}  {self.what}{member}"


def audit_log(db: Database, clock: Clock, staff: str | None = None, start: dt.date | None = None,
              end: dt.date | None = None) -> list[Entry]:
    """The audited events from local day `start` through `end` (inclusive, either open), of one operator if given."""
    start_ms = clock.day_bounds(start)[0] if start else 0
    end_ms = clock.day_bounds(end)[1] if end else 2 ** 62
    with db.reading() as conn:
        found = audit.events_by(conn, AUDITED, start_ms, end_ms, staff)
        sales = {e.data.get("sale") for _, e in found if e.type == ev.SALE_REFUNDED}
        numbers = {sale: ledger.txn_number(first[0]) for sale in sales if (first := ledger.txn_events(conn, sale))}
    return [Entry(pos, e, clock.local(e.ts), describe(e, numbers)) for pos, e in found]


def describe(event: Event, sale_numbers: dict[str, str] | None = None) -> str:
    """What an audited event did, in words for the shop's manager."""
    try:
        payload = p.of(event)
    except p.BadPayload:
        return event.type
    say = _SAYS.get(type(payload))
    return say(payload, event, sale_numbers or {}) if say else event.type


def _topped_up(x: p.ToppedUp, _e: Event, _n: dict) -> str:
    bonus = (f" + bonus {format_fen(x.bonus_value)}" if x.bonus_value else "") + (
        f" + {x.bonus_points} points" if x.bonus_points else "")
    return f"top-up {format_fen(x.amount)}{bonus}" + (f" ({x.source})" if x.source else "")


def _refunded(x: p.SaleRefunded, _e: Event, numbers: dict) -> str:
    tenders = [f"{name} {format_fen(fen)}" for name, fen in
               (("cash", x.cash), ("stored value", x.stored_value), ("external", x.external)) if fen]
    return (f"refund of sale {numbers.get(x.sale, x.sale)} lines {', '.join(str(n + 1) for n in x.lines)}: "
            f"{', '.join(tenders) or 'nothing paid back'}" + (f", {x.points_back} points back" if x.points_back else ""))


_SAYS: dict[type, Callable[[Any, Event, dict], str]] = {
    p.ToppedUp: _topped_up,
    p.SaleRefunded: _refunded,
    p.Override: lambda x, _e, _n: f"override: {x.what}",
    p.BalanceSettled: lambda x, _e, _n: (f"balance settled before erasure: {format_fen(x.cash)} paid out in cash, "
                                         f"{x.points} points given up"),
    p.PointsAdjusted: lambda x, e, _n: f"points {e.deltas.get('points', 0):+d} by hand: {x.reason}",
    p.MemberEdited: lambda x, _e, _n: f"member record edited: {', '.join(x.fields)}",
    p.MemberErased: lambda _x, _e, _n: "member's personal data erased",
    p.CardBlocked: lambda x, _e, _n: f"card {x.uid} blocked ({x.reason})",
    p.PinUnlocked: lambda x, _e, _n: f"PIN lock of staff {x.staff_no} lifted",
    p.StockAdjusted: lambda x, e, _n: f"stock of {len(e.deltas.get('stock', {}))} products set ({x.reason})",
    p.RulesLoaded: lambda x, _e, _n: f"rulebook loaded (sha256 {x.sha256[:16]})",
    p.CatalogLoaded: lambda x, _e, _n: f"catalog of {x.products} products loaded (sha256 {x.sha256[:16]})",
    p.SettingsChanged: lambda x, _e, _n: f"settings changed: {', '.join(x.keys)} (sha256 {x.sha256[:16]})",
}


@dataclass(frozen=True)
class ChainReport:
    """What `audit verify` found: events checked, the links that break (first first), and other problems."""

    events: int
    breaks: list[Break] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the chain and the ledger's end both verify."""
        return not self.breaks and not self.problems

    def lines(self) -> list[str]:
        """The report for a person: the first broken position first."""
        return [*(f"audit chain broken at {b}" for b in self.breaks), *self.problems]


def verify_chain(data_dir: Path, key: bytes, key_dir: Path) -> ChainReport:
    """Walk the chain of the ledger as it is on disk (nothing created, migrated or linked) and check its end against
    the witness: an edited, deleted, inserted or reordered event, or a lost tail, is reported."""
    try:
        db = Database(data_dir / LEDGER_FILE, check=False, create=False, migrate=False)
    except StoreDamaged as exc:
        return ChainReport(0, problems=[str(exc)])
    try:
        return _walk(db, Chain(key), Witness(data_dir / WITNESS_FILE, key), key_dir)
    except _UNREADABLE as exc:  # the end of the read (its COMMIT) on a damaged file
        return ChainReport(0, problems=[f"{LEDGER_FILE}: events cannot be read ({type(exc).__name__}: {exc}); the "
                                        "file is damaged: run 'memberkiosk verify'"])
    finally:
        db.close()


def _walk(db: Database, chain: Chain, witness: Witness, key_dir: Path) -> ChainReport:
    with db.reading() as conn:
        if not audit.has_chain(conn):
            return ChainReport(0, problems=[f"{LEDGER_FILE} has no audit chain yet (schema {db.schema}): it is added "
                                            "and linked when the kiosk next opens it; run 'memberkiosk verify'"])
        try:
            count, unlinked = conn.execute("SELECT COUNT(*), COUNT(*) - COUNT(link) FROM events").fetchone()
            found = list(audit.breaks(conn, chain))
        except _UNREADABLE as exc:
            return ChainReport(0, problems=[f"{LEDGER_FILE}: events cannot be read ({type(exc).__name__}: {exc}); "
                                            "the file is damaged: run 'memberkiosk verify'"])
        problems = [str(p) for p in verify_witness(witness, conn)]
    if count and len(found) == count and not unlinked:
        problems.append(f"no event's link verifies: unless someone rewrote the whole ledger, the audit key in "
                        f"{key_dir} is not the one this ledger was written with; restore that key directory")
    return ChainReport(count, found[:MAX_BREAKS], problems)


@dataclass(frozen=True)
class VerifyReport:
    """What `verify` (full) or `verify --quick` found: the problems (first first), events checked, and what it left."""

    problems: list[str]
    events: int
    note: str | None = None

    @property
    def ok(self) -> bool:
        """Whether everything checked verifies."""
        return not self.problems


def full_verify(data_dir: Path, keys: KeyRing, now_ms: int) -> VerifyReport:
    """Every check (`verify_store`: structure, rows, projections, witness, documents; and the audit chain), then the
    result recorded for doctor and head office and, when it passed, the checkpoint set where the ledger ended before
    the checks began (events committed meanwhile are checked by the next quick verify)."""
    key = keys.secret(AUDIT_KEY)
    start = _head(data_dir, key)
    store = verify_store(data_dir, key, keys)
    problems = [str(p) for p in store.problems]
    report = verify_chain(data_dir, key, keys.directory)
    problems += [line for line in report.lines() if line not in problems]  # the witness is checked by both
    result = checkpoint.VerifyResult(not problems, now_ms, report.events, problems[0] if problems else None)
    note = store.note
    if store.note is None and start is not None:
        recorded = _record(data_dir, key, result, replace(start, at=now_ms) if result.ok else None)
        note = None if recorded is None else f"the result was not recorded: {recorded}"
    return VerifyReport(problems, report.events, note)


def quick_verify(data_dir: Path, key: bytes, now_ms: int) -> VerifyReport:
    """What changed since the verified checkpoint: the checkpoint's own event, every newer event's checksum and audit
    link, the witness and SQLite's check of the tables that do not grow with history; a pass moves the checkpoint.
    Over QUICK_LIMIT events since it, only the newest QUICK_LIMIT are checked and it stays for the nightly verify."""
    try:
        db = Database(data_dir / LEDGER_FILE, check=False, create=False, migrate=False)
    except StoreDamaged as exc:
        return VerifyReport([str(exc)], 0)
    chain, witness = Chain(key), Witness(data_dir / WITNESS_FILE, key)
    try:
        db.quick_check()
        with db.reading() as conn:
            problems = [str(p) for p in verify_witness(witness, conn)]
            if problems or db.schema < SCHEMA or not audit.has_chain(conn):
                note = None if problems else f"{LEDGER_FILE} has schema {db.schema}: checked once the kiosk upgraded it"
                return VerifyReport(problems, 0, note)
            try:
                found = checkpoint.read(conn, key)
            except StoreDamaged as exc:
                return VerifyReport([str(exc)], 0)
            stale = found and checkpoint.mismatch(conn, found, chain)
            if stale:
                return VerifyReport([stale], 0)
            pos, link = (found.pos, found.link) if found else (0, GENESIS)
            end = checkpoint.head(conn)
            skipped = max(0, end[0] - pos - QUICK_LIMIT)
            if skipped:
                pos, link = checkpoint.link_at(conn, end[0] - QUICK_LIMIT)
            checked, bad = checkpoint.problems_after(conn, chain, pos, link)
            mark = witness.read()
    except _UNREADABLE as exc:
        return VerifyReport([f"{LEDGER_FILE}: cannot be read ({type(exc).__name__}: {exc}); run 'memberkiosk verify'"], 0)
    except StoreDamaged as exc:
        return VerifyReport([str(exc)], 0)
    finally:
        db.close()
    problems = [f"{where}: {what}" for where, what in bad[:MAX_BREAKS]]
    note = (f"{skipped} events since the last verified point were not checked at start: the nightly full verify "
            "checks them" if skipped else None)
    if not problems and not skipped:
        moved = checkpoint.Checkpoint(*end, mark.pos if mark else 0, now_ms)
        failed = _record(data_dir, key, None, moved)
        note = None if failed is None else f"the checkpoint was not moved: {failed}"
    return VerifyReport(problems, checked, note)


def last_result(db: Database) -> checkpoint.VerifyResult | None:
    """The last full verify's result (doctor, telemetry); None before the first."""
    with db.reading() as conn:
        return checkpoint.read_result(conn)


def _head(data_dir: Path, key: bytes) -> checkpoint.Checkpoint | None:
    """The ledger's end and its witness now, as a checkpoint (None when the ledger cannot be opened or has no chain)."""
    try:
        db = Database(data_dir / LEDGER_FILE, check=False, create=False, migrate=False)
    except KioskError:
        return None
    try:
        with db.reading() as conn:
            if db.schema < SCHEMA or not audit.has_chain(conn):
                return None
            end = checkpoint.head(conn)
        mark = Witness(data_dir / WITNESS_FILE, key).read()
    except (KioskError, *_UNREADABLE):
        return None
    finally:
        db.close()
    return checkpoint.Checkpoint(*end, mark.pos if mark else 0, 0)


def _record(data_dir: Path, key: bytes, result: checkpoint.VerifyResult | None,
            moved: checkpoint.Checkpoint | None) -> str | None:
    """Write a verify's result and/or the new checkpoint; why not, when the store refuses (busy, full, read-only)."""
    try:
        db = Database(data_dir / LEDGER_FILE, check=False, create=False, migrate=False)
    except KioskError as exc:
        return str(exc)
    try:
        db.conn.execute(f"PRAGMA busy_timeout = {RECORD_BUSY_MS}")  # a verify is not worth holding a sale up for
        with db.transaction() as conn:
            if result is not None:
                checkpoint.write_result(conn, result)
            if moved is not None:
                checkpoint.write(conn, key, moved)
    except KioskError as exc:
        log.warning("verify result not recorded: %s", exc)
        return str(exc)
    finally:
        db.close()
    return None
