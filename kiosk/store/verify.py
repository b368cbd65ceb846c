"""Check the whole store: SQLite structure, every row's checksum, every projection against a fresh fold."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from core.errors import KioskError
from core.ledger import Balances, step
from kiosk.store import ledger
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
    """Integrity of the SQLite file, the event and member rows, the sequence numbers and the projections."""
    problems = [Problem("ledger.sqlite", r[0]) for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
    if problems:
        return problems  # rows cannot be trusted on a structurally broken file
    members: dict[str, Balances] = {}
    stock: dict[str, int] = {}
    last_seq: dict[str, int] = {}
    for pos, event, stored_crc, crc in ledger.all_events(conn):
        if crc != stored_crc:
            problems.append(Problem(f"event #{pos} ({event.id})", "checksum mismatch: the row was altered or damaged"))
            continue
        expected = last_seq.get(event.kiosk_id, 0) + 1
        if event.seq != expected:
            problems.append(Problem(f"event #{pos}", f"kiosk {event.kiosk_id} sequence jumps to {event.seq}, expected {expected}"))
        last_seq[event.kiosk_id] = event.seq
        try:
            step(members, stock, event)
        except KioskError as exc:
            problems.append(Problem(f"event #{pos} ({event.id})", f"replay fails: {exc}"))
    problems += _compare_balances(conn, members)
    problems += _compare_stock(conn, stock)
    for row in all_rows(conn):
        if row_crc(row[:-1]) != row[-1]:
            problems.append(Problem(f"member {row[0]}", "checksum mismatch: the record was altered or damaged"))
    return problems[:MAX_REPORTED]


def _compare_balances(conn: sqlite3.Connection, folded: dict[str, Balances]) -> list[Problem]:
    problems = []
    stored = {
        r[0]: Balances(r[1], r[2], r[3], json.loads(r[5]), r[4])
        for r in conn.execute("SELECT member_id, points, stored_value, lifetime_spend, tier, visits FROM balances")
    }
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
