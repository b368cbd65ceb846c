"""The SQLite connection: WAL, synchronous=FULL, one IMMEDIATE transaction per use case."""
from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path
from typing import Iterator

from kiosk.store.errors import StoreDamaged, StoreFull
from kiosk.store.schema import MIGRATIONS

LEDGER_FILE = "ledger.sqlite"


class Database:
    """One connection shared by the kiosk's threads under a lock; other processes coordinate through SQLite."""

    def __init__(self, path: Path, check: bool = True) -> None:
        self.path = path
        self._lock = threading.RLock()
        if path.exists():
            _check_header(path)
        try:
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
            self.conn.execute("PRAGMA busy_timeout = 10000")
            mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreDamaged(f"{path}: cannot switch to WAL mode (got {mode})")
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            if check:
                self.quick_check()
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreDamaged(f"{path} is damaged ({exc}); restore the last backup with 'memberkiosk restore FILE'") from exc

    def quick_check(self) -> None:
        """Structural check of every page; the row-level check is `verify`."""
        rows = [r[0] for r in self.conn.execute("PRAGMA quick_check")]
        if rows != ["ok"]:
            raise StoreDamaged(f"{self.path} is damaged: {'; '.join(rows[:5])}. Restore the last backup.")

    def _migrate(self) -> None:
        with self.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise StoreDamaged(f"{self.path} has schema {version}, newer than this software; upgrade memberkiosk")
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: commits on success (durable on return), rolls back on any exception."""
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _translate(exc) from exc
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):
                    raise _translate(exc) from exc
                raise

    @staticmethod
    @contextlib.contextmanager
    def savepoint(conn: sqlite3.Connection) -> Iterator[None]:
        """A part of the open transaction that is undone alone when it fails (one bad row of an import)."""
        conn.execute("SAVEPOINT part")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK TO part")
            conn.execute("RELEASE part")
            raise
        conn.execute("RELEASE part")

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A consistent read: one snapshot for all queries inside (nested inside a transaction, that one's)."""
        with self._lock:
            if self.conn.in_transaction:  # only this thread can be in it: it holds the lock
                yield self.conn
                return
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                self.conn.execute("COMMIT")

    def close(self) -> None:
        """Checkpoint and close; safe to call twice."""
        with self._lock:
            with contextlib.suppress(sqlite3.ProgrammingError):
                self.conn.close()


def _statements(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return [s for s in out if s]


def _check_header(path: Path) -> None:
    with path.open("rb") as f:
        header = f.read(16)
    if header and header != b"SQLite format 3\x00":
        raise StoreDamaged(f"{path} is not a SQLite database (header damaged); restore the last backup")


def _translate(exc: sqlite3.OperationalError) -> Exception:
    message = str(exc)
    if "full" in message:
        return StoreFull("the disk is full: nothing was saved. Free space (old logs, receipts) and try again")
    return exc
