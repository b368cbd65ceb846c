"""The doctor's quick store check: what can have changed since the last full verify, in about constant time.

SQLite's quick_check of every page, the witness (the ledger still ends where its last commit did), the documents
checksum, and the row checksums and audit links of the newest events. `memberkiosk verify`, the full fold of
every event, runs nightly; a technician's doctor run must answer in seconds on a ledger of years.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from core.errors import KioskError
from kiosk.services.audit import last_result
from kiosk.services.doctor.finding import Finding
from kiosk.store import checkpoint
from kiosk.store.audit import Chain, has_chain
from kiosk.store.db import LEDGER_FILE, SCHEMA, Database, existing_store
from kiosk.store.keyring import KeyRing
from kiosk.store.verify import Problem, verify_documents, verify_witness
from kiosk.store.witness import WITNESS_FILE, Witness

TAIL = 1000  # the newest events whose checksums and links are checked
AUDIT_KEY = "audit"
FIX = ("run `memberkiosk verify` and `memberkiosk audit verify` for the full report, then restore the last backup "
       "with `memberkiosk restore FILE --staff NO` (kiosk stopped)")


def check_store(data_dir: Path, key_dir: Path) -> list[Finding]:
    """The quick integrity check of the ledger, its witness and the documents, opening nothing for writing."""
    if not (data_dir / LEDGER_FILE).exists() and not existing_store(data_dir):
        return [Finding("store", "warn", f"no store at {data_dir} yet",
                        "a kiosk before its enrolment or first start has none; otherwise check kiosk.data_dir "
                        "or --data-dir")]
    key_file = key_dir / f"{AUDIT_KEY}.key"
    if not key_file.exists():  # KeyRing would make a new one, and nothing signed by the old key would verify
        return [Finding("store", "fault", f"the audit key {key_file} is missing: the ledger's witness and audit "
                                          "chain cannot be checked", f"restore {key_dir} from its safe copy")]
    try:
        audit_key = KeyRing(key_dir).secret(AUDIT_KEY)
        db = Database(data_dir / LEDGER_FILE, check=False, create=False, migrate=False)
    except (KioskError, OSError) as exc:
        return [Finding("store", "fault", str(exc), FIX)]
    try:
        problems = quick_problems(db, Witness(data_dir / WITNESS_FILE, audit_key), Chain(audit_key))
        nightly = _last_verify(db)
    finally:
        db.close()
    problems += verify_documents(data_dir)
    if problems:
        return [Finding("store", "fault", "; ".join(str(p) for p in problems[:5]), FIX,
                        {"problems": [str(p) for p in problems]})]
    if db.schema < SCHEMA:
        return [Finding("store", "warn", f"{LEDGER_FILE} has schema {db.schema}, this software {SCHEMA}",
                        "start the kiosk once: it upgrades the ledger, then run doctor again")]
    if nightly is not None and not nightly.ok:
        return [Finding("store", "warn", f"the last full verify ({_at(nightly.at)}) failed: {nightly.problem}", FIX,
                        nightly.as_dict())]
    return [Finding("store", "ok", f"quick check passed: tables, witness, documents, and the newest {TAIL} events' "
                                   "checksums and audit links (`memberkiosk verify` checks everything)")]


def _last_verify(db: Database) -> checkpoint.VerifyResult | None:
    """The nightly full verify's recorded result; None before the first, or when it cannot be read (the quick check
    reports that)."""
    try:
        return last_result(db) if db.schema == SCHEMA else None
    except (KioskError, sqlite3.Error, ValueError, TypeError):
        return None


def _at(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))


def quick_problems(db: Database, witness: Witness, chain: Chain) -> list[Problem]:
    """SQLite's page check, the witness, and the newest events' checksums and links."""
    try:
        db.quick_check()
    except KioskError as exc:
        return [Problem(LEDGER_FILE, str(exc))]  # rows of a broken file cannot be trusted
    problems = verify_witness(witness, db.conn)
    if db.schema == SCHEMA and has_chain(db.conn):
        try:
            problems += tail_problems(db.conn, chain)
        except (sqlite3.Error, ValueError, TypeError) as exc:
            problems.append(Problem(LEDGER_FILE, f"the newest events cannot be read ({exc})"))
    return problems


def tail_problems(conn: sqlite3.Connection, chain: Chain, tail: int = TAIL) -> list[Problem]:
    """The newest `tail` events whose row checksum or audit link does not verify, oldest first."""
    pos, link = checkpoint.link_at(conn, checkpoint.head(conn)[0] - tail)
    return [Problem(where, what) for where, what in checkpoint.problems_after(conn, chain, pos, link)[1]]
