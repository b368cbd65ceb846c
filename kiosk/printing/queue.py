"""The durable print queue: a receipt waits here until a printer has taken it, across restarts and outages.

Its own SQLite file (WAL, synchronous=FULL) beside the ledger, so a jammed printer or a full queue can never
hold a checkout's transaction open, and a sale is never undone because its receipt did not print.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from core.errors import NotFound
from core.receipt import Receipt, from_dict, to_dict

QUEUE_FILE = "print-queue.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sale_id     TEXT NOT NULL,
    receipt     TEXT NOT NULL,
    reprint     INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'printed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_ms INTEGER NOT NULL,
    last_error  TEXT,
    created_ms  INTEGER NOT NULL,
    printed_ms  INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, next_try_ms);
CREATE INDEX IF NOT EXISTS jobs_sale ON jobs (sale_id);
"""


@dataclass(frozen=True)
class PrintJob:
    """One queued receipt and what happened to it so far."""

    id: int
    sale_id: str
    receipt: Receipt
    reprint: bool
    state: str
    attempts: int
    next_try_ms: int
    last_error: str | None
    created_ms: int
    printed_ms: int | None


class PrintQueue:
    """Jobs in a SQLite file; safe to use from the worker thread and the app thread at once."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> "PrintQueue":
        """The queue file of a kiosk's data directory."""
        return cls(data_dir / QUEUE_FILE)

    def close(self) -> None:
        """Close the file; every change is already durable."""
        with self._lock:
            self._db.close()

    def _write(self, sql: str, params: tuple) -> sqlite3.Cursor:
        with self._lock, self._db:
            return self._db.execute(sql, params)

    def _read(self, sql: str, params: tuple = ()) -> list[PrintJob]:
        with self._lock:
            rows = self._db.execute(f"SELECT * FROM jobs {sql}", params).fetchall()
        return [PrintJob(r[0], r[1], from_dict(json.loads(r[2])), bool(r[3]), *r[4:]) for r in rows]

    def enqueue(self, sale_id: str, receipt: Receipt, now_ms: int, reprint: bool = False) -> int:
        """Queue a receipt for printing; durable when this returns. Returns the job id."""
        cur = self._write(
            "INSERT INTO jobs (sale_id, receipt, reprint, next_try_ms, created_ms) VALUES (?, ?, ?, ?, ?)",
            (sale_id, json.dumps(to_dict(receipt), ensure_ascii=False), int(reprint), now_ms, now_ms))
        return int(cur.lastrowid)

    def reprint(self, sale_id: str, now_ms: int) -> int:
        """Queue the sale's receipt again, marked as a reprint."""
        jobs = self.for_sale(sale_id)
        if not jobs:
            raise NotFound(f"no receipt was ever queued for sale {sale_id}")
        return self.enqueue(sale_id, jobs[0].receipt, now_ms, reprint=True)

    def next_due(self, now_ms: int) -> PrintJob | None:
        """The oldest pending job whose retry time has come."""
        jobs = self._read("WHERE state = 'pending' AND next_try_ms <= ? ORDER BY id LIMIT 1", (now_ms,))
        return jobs[0] if jobs else None

    def next_retry_ms(self) -> int | None:
        """When the earliest pending job may be tried, or None when nothing waits."""
        with self._lock:
            row = self._db.execute("SELECT MIN(next_try_ms) FROM jobs WHERE state = 'pending'").fetchone()
        return row[0]

    def printed(self, job_id: int, now_ms: int) -> None:
        """The printer took the whole job."""
        self._write("UPDATE jobs SET state = 'printed', printed_ms = ?, attempts = attempts + 1 WHERE id = ?",
                    (now_ms, job_id))

    def failed(self, job_id: int, error: str, next_try_ms: int) -> None:
        """A try failed; the job waits until `next_try_ms`."""
        self._write("UPDATE jobs SET attempts = attempts + 1, last_error = ?, next_try_ms = ? WHERE id = ?",
                    (error, next_try_ms, job_id))

    def pending(self) -> list[PrintJob]:
        """Jobs still waiting for a printer, oldest first."""
        return self._read("WHERE state = 'pending' ORDER BY id")

    def for_sale(self, sale_id: str) -> list[PrintJob]:
        """Every job for one sale, first one first."""
        return self._read("WHERE sale_id = ? ORDER BY id", (sale_id,))
