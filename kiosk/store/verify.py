"""Check the whole store: SQLite structure, every row's checksum, every projection against a fresh fold."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from core.errors import KioskError
from core.ledger import Balances, step
from kiosk.store import directory, ledger
from kiosk.store.checksum import row_crc
from kiosk.store.documents import DOCS_FILE, load_verified
from kiosk.store.members import all_rows

MAX_REPORTED = 50


@dataclass(frozen=True)
class Problem:
    """One thing wrong, and where."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def verify_ledger(conn: sqlite3.Connection) -> list[Problem]:
    """Integrity of the SQLite file, the event and member rows, the sequence numbers and the projections.

    This kiosk's own sequence must run 1, 2, 3... in ledger order and its own events never overdraw. Events
    ingested from other kiosks arrive in any order and only for our members, so their sequences may have gaps,
    and an overdraft they cause (spending offline elsewhere) must be one that ingest flagged.
    """
    problems = [Problem("ledger.sqlite", r[0]) for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
    if problems:
        return problems  # rows cannot be trusted on a structurally broken file
    meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('kiosk_id', 'store_id')").fetchall())
    own, store_id = meta.get("kiosk_id"), meta.get("store_id")
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
    return problems[:MAX_REPORTED]


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
