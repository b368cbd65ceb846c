"""Check the whole store: SQLite structure, every row's checksum, every projection against a fresh fold."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from core.errors import KioskError
from core.ledger import Balances, step
from kiosk.store import directory, ledger, meta
from kiosk.store.checksum import row_crc
from kiosk.store.db import LEDGER_FILE, SCHEMA, Database
from kiosk.store.documents import DOCS_FILE, load_verified
from kiosk.store.errors import StoreDamaged
from kiosk.store.keyring import KeyRing
from kiosk.store.members import all_rows
from kiosk.store.pii import bind
from kiosk.store.witness import WITNESS_FILE, Witness

MAX_REPORTED = 50
LEDGER = LEDGER_FILE
# What reading a damaged file raises: SQLite's own errors ("database disk image is malformed", "malformed JSON"
# from an expression index, "Could not decode to UTF-8"), and a row's JSON or types that no longer parse.
_UNREADABLE = (sqlite3.Error, ValueError, TypeError, KeyError)


@dataclass(frozen=True)
class Problem:
    """One thing wrong, and where."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass(frozen=True)
class Report:
    """What verify found, and what it could not check yet (a ledger whose schema the kiosk has not upgraded)."""

    problems: list[Problem]
    note: str | None = None


def verify_store(data_dir: Path, audit_key: bytes, keys: KeyRing | None = None) -> Report:
    """Every check, on the files as they are: nothing is created, migrated or repaired; busy or denied raise.
    Member records are opened with the key ring's pii key (without it, each one is reported unreadable)."""
    problems = verify_documents(data_dir)
    try:
        db = Database(data_dir / LEDGER_FILE, check=False, create=False, migrate=False)
    except StoreDamaged as exc:  # a file SQLite cannot open has no rows to check
        return Report([Problem(LEDGER, str(exc)), *problems])
    note = None
    try:
        if keys is not None:
            bind(db.conn, keys)
        if db.schema < SCHEMA:  # the kiosk upgrades it when it opens it; its rows are checked after that
            note = f"{LEDGER} has schema {db.schema}, this software {SCHEMA}: its rows are checked once the kiosk upgraded it"
            problems += verify_structure(db.conn)
        else:
            problems += verify_ledger(db.conn)
        problems += verify_witness(Witness(data_dir / WITNESS_FILE, audit_key), db.conn)
    finally:
        db.close()
    return Report(problems[:MAX_REPORTED], note)


def verify_ledger(conn: sqlite3.Connection) -> list[Problem]:
    """Integrity of the SQLite file, the event and member rows, the sequence numbers and the projections.

    This kiosk's own sequence must run 1, 2, 3... in ledger order and its own events never overdraw. Events
    ingested from other kiosks arrive in any order and only for our members, so their sequences may have gaps,
    and an overdraft they cause (spending offline elsewhere) must be one that ingest flagged.
    """
    problems = verify_structure(conn)
    if problems:
        return problems  # rows cannot be trusted on a structurally broken file
    try:
        problems += _verify_meta(conn)
        problems += _verify_rows(conn)
    except _UNREADABLE as exc:
        problems.append(Problem(LEDGER, f"rows cannot be read ({type(exc).__name__}: {exc}): the file is damaged; "
                                        "restore the last backup"))
    return problems[:MAX_REPORTED]


def verify_structure(conn: sqlite3.Connection) -> list[Problem]:
    """SQLite's integrity check of every page and index, as problems (a file too damaged to check is one)."""
    try:
        return [Problem(LEDGER, r[0]) for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
    except _UNREADABLE as exc:
        return [Problem(LEDGER, f"damaged ({exc}); restore the last backup")]


def verify_witness(witness: Witness, conn: sqlite3.Connection) -> list[Problem]:
    """Whether the ledger still holds the last commit its witness saw, and is this data directory's own."""
    try:
        problem = witness.problem(conn)
    except KioskError as exc:
        problem = str(exc)
    except _UNREADABLE as exc:
        problem = f"the ledger's end cannot be read ({exc})"
    return [Problem(WITNESS_FILE, problem)] if problem else []


def _verify_meta(conn: sqlite3.Connection) -> list[Problem]:
    """Every meta row's checksum, and a member counter at or past every member number it handed out."""
    bad = meta.damaged(conn)
    problems = [Problem(f"meta {key}", "checksum mismatch: the value was altered or damaged") for key in bad]
    own = None if "kiosk_id" in bad else meta.get(conn, "kiosk_id")
    if own is None or "member_counter" in bad:
        return problems
    counter = int(meta.get(conn, "member_counter") or 0)
    numbers = [int(m.rpartition("-")[2]) for (m,) in conn.execute(
        "SELECT member_id FROM members WHERE substr(member_id, 1, length(?) + 1) = ? || '-'", (own, own))
        if m.rpartition("-")[2].isdigit()]
    if numbers and max(numbers) > counter:
        problems.append(Problem("meta member_counter", f"is {counter} but member number {own}-{max(numbers):06d} "
                                                       "exists: the next registration would reuse a number"))
    return problems


def _verify_rows(conn: sqlite3.Connection) -> list[Problem]:
    problems: list[Problem] = []
    ids = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('kiosk_id', 'store_id')").fetchall())
    own, store_id = ids.get("kiosk_id"), ids.get("store_id")
    flagged = set(conn.execute("SELECT event_id, what FROM overdrafts").fetchall())
    members: dict[str, Balances] = {}
    stock: dict[str, int] = {}
    last_seq = 0
    for pos, event, stored_crc, crc in ledger.all_events(conn):
        if crc != stored_crc:
            problems.append(Problem(f"event #{pos} ({event.id})", "checksum mismatch: the row was altered or damaged"))
            continue
        if event.kiosk_id == own:
            if event.seq != last_seq + 1:
                problems.append(Problem(f"event #{pos}", f"kiosk {own} sequence jumps to {event.seq}, expected {last_seq + 1}"))
            last_seq = event.seq
        for short in step(members, stock, event, store_id):
            if event.kiosk_id == own:
                problems.append(Problem(f"event #{pos} ({event.id})", f"replay fails: {short.what} goes {short.amount} below zero"))
            elif (event.id, short.what) not in flagged:
                problems.append(Problem(f"event #{pos} ({event.id})",
                                        f"overdraft of {short.what} by {short.amount} from kiosk {event.kiosk_id} is not flagged"))
    problems += _compare_balances(conn, members)
    problems += _compare_stock(conn, stock)
    damaged = {row[0] for row in all_rows(conn) if row_crc(row[:-1]) != row[-1]}
    problems += [Problem(f"member {m}", "checksum mismatch: the record was altered or damaged") for m in sorted(damaged)]
    problems += [Problem(f"member {m}", what) for m, what in directory.mismatches(conn) if m not in damaged]
    return problems


def _compare_balances(conn: sqlite3.Connection, folded: dict[str, Balances]) -> list[Problem]:
    problems = []
    stored = {r[0]: ledger.balances_from_row(r[1:])
              for r in conn.execute(f"SELECT member_id, {ledger.BALANCE_COLUMNS} FROM balances")}
    for member_id in sorted(set(stored) | set(folded)):
        have, want = stored.get(member_id), folded.get(member_id)
        if have != want:
            problems.append(Problem(f"balances of {member_id}", f"projection {have} but the ledger folds to {want}"))
    return problems


def _compare_stock(conn: sqlite3.Connection, folded: dict[str, int]) -> list[Problem]:
    stored = dict(conn.execute("SELECT sku, qty FROM stock").fetchall())
    return [
        Problem(f"stock of {sku}", f"projection {stored.get(sku)} but the ledger folds to {folded.get(sku)}")
        for sku in sorted(set(stored) | set(folded))
        if stored.get(sku) != folded.get(sku)
    ]


def verify_documents(data_dir: Path) -> list[Problem]:
    """The TinyDB documents file loads and matches its checksum."""
    path = data_dir / DOCS_FILE
    if not path.exists():
        return []
    try:
        load_verified(path)
    except KioskError as exc:
        return [Problem(DOCS_FILE, str(exc))]
    return []
