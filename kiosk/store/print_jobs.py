"""Receipts waiting for the printer, in the ledger database: one job per own sale, plus the reprints asked for.

The receipt itself is not stored: it is built from the committed sale when it prints. A sale gets at most one
original job (a unique index), so the receipt follower may enqueue the same sale twice after a crash and it
still prints once. A test receipt (head office's `print_test`) is a job with TEST_TXN instead of a sale.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Iterable

TEST_TXN = "print-test"  # the txn of a test receipt's job: no sale, so the worker prints a test page

@dataclass(frozen=True)
class PrintJob:
    """One receipt to print (a sale's transaction id) and what happened to it so far."""

    id: int
    txn: str
    reprint: bool
    attempts: int
    next_try_ms: int
    last_error: str | None
    created_ms: int
    printed_ms: int | None

    @property
    def test(self) -> bool:
        """A test receipt, not a sale's."""
        return self.txn == TEST_TXN


_COLUMNS = "id, txn, reprint, attempts, next_try_ms, last_error, created_ms, printed_ms"


def _jobs(conn: sqlite3.Connection, where: str, params: tuple = ()) -> list[PrintJob]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM print_jobs {where}", params).fetchall()
    return [PrintJob(r[0], r[1], bool(r[2]), *r[3:]) for r in rows]


def enqueue_sales(conn: sqlite3.Connection, txns: Iterable[str], now_ms: int) -> None:
    """Queue the original receipt of each sale; a sale already queued is left as it is."""
    conn.executemany("INSERT OR IGNORE INTO print_jobs (txn, reprint, next_try_ms, created_ms) VALUES (?, 0, ?, ?)",
                     [(txn, now_ms, now_ms) for txn in txns])


def enqueue_reprint(conn: sqlite3.Connection, txn: str, now_ms: int) -> int:
    """Queue a sale's receipt again, marked as a reprint; returns the job id."""
    cur = conn.execute("INSERT INTO print_jobs (txn, reprint, next_try_ms, created_ms) VALUES (?, 1, ?, ?)",
                       (txn, now_ms, now_ms))
    return int(cur.lastrowid)


def enqueue_test(conn: sqlite3.Connection, now_ms: int) -> int:
    """Queue a test receipt (as a reprint, so any number may wait); returns the job id."""
    return enqueue_reprint(conn, TEST_TXN, now_ms)


def next_due(conn: sqlite3.Connection, now_ms: int) -> PrintJob | None:
    """The oldest unprinted job whose retry time has come."""
    jobs = _jobs(conn, "WHERE printed_ms IS NULL AND next_try_ms <= ? ORDER BY id LIMIT 1", (now_ms,))
    return jobs[0] if jobs else None


def next_retry_ms(conn: sqlite3.Connection) -> int | None:
    """When the earliest unprinted job may be tried, or None when nothing waits."""
    return conn.execute("SELECT MIN(next_try_ms) FROM print_jobs WHERE printed_ms IS NULL").fetchone()[0]


def printed(conn: sqlite3.Connection, job_id: int, now_ms: int) -> None:
    """The printer took the whole job."""
    conn.execute("UPDATE print_jobs SET printed_ms = ?, attempts = attempts + 1 WHERE id = ?", (now_ms, job_id))


def failed(conn: sqlite3.Connection, job_id: int, error: str, next_try_ms: int) -> None:
    """A try failed; the job waits until `next_try_ms`."""
    conn.execute("UPDATE print_jobs SET attempts = attempts + 1, last_error = ?, next_try_ms = ? WHERE id = ?",
                 (error, next_try_ms, job_id))


def pending(conn: sqlite3.Connection) -> list[PrintJob]:
    """Jobs still waiting for a printer, oldest first."""
    return _jobs(conn, "WHERE printed_ms IS NULL ORDER BY id")


def for_sale(conn: sqlite3.Connection, txn: str) -> list[PrintJob]:
    """Every job of one sale, the original first."""
    return _jobs(conn, "WHERE txn = ? ORDER BY id", (txn,))
