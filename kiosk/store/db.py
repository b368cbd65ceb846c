"""The SQLite connection: WAL, synchronous=FULL, one IMMEDIATE transaction per use case."""
from __future__ import annotations

import contextlib
import getpass
import os
import sqlite3
import threading
from pathlib import Path
from typing import Iterator

from core.errors import KioskError
from kiosk.store.checksum import row_crc
from kiosk.store.documents import DOCS_FILE
from kiosk.store.errors import StoreBusy, StoreDamaged, StoreFull, StorePermission
from kiosk.store import pii
from kiosk.store.schema import MIGRATIONS
from kiosk.store.witness import WITNESS_FILE, Witness

LEDGER_FILE = "ledger.sqlite"
SCHEMA = len(MIGRATIONS)
BUSY_TIMEOUT_MS = 10_000  # a write waits this long for another process's transaction, then StoreBusy
FILE_MODE = 0o640  # SQLite gives the -wal and -shm files the ledger's own mode

# SQLite's primary result codes (the low byte of sqlite_errorcode)
_PERM, _BUSY, _LOCKED, _READONLY, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 3, 5, 6, 8, 11, 13, 14, 26
_LOW_SPACE = 64 * 1024
# Tables (by name prefix) that grow with every sale, left out of the check at open (see Database.quick_check).
HISTORY_TABLES = ("events", "outbox", "print_jobs", "fact_", "notice", "sqlite_")


class Database:
    """One connection shared by the kiosk's threads under a lock; other processes coordinate through SQLite.

    `create=False` refuses a ledger with no schema (missing, zeroed) instead of making a fresh one; `migrate=False`
    leaves the schema as found (verify); a `witness` is checked at open and advanced after every commit.
    """

    def __init__(self, path: Path, check: bool = True, *, create: bool = True, migrate: bool = True,
                 witness: Witness | None = None) -> None:
        self.path, self.witness = path, witness
        self._lock = threading.RLock()
        _check_access(path)
        if not create and not path.exists():
            raise _no_ledger(path)
        if path.exists():
            _check_header(path)
        else:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
        self.conn: sqlite3.Connection | None = None
        try:
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                        timeout=BUSY_TIMEOUT_MS / 1000, factory=pii.Connection)
            self.conn.create_function("row_crc", -1, lambda *values: row_crc(values), deterministic=True)
            self.schema = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if self.schema == 0 and not create:
                raise _no_ledger(path)
            mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreDamaged(f"{path}: cannot switch to WAL mode (got {mode})")
            for pragma in ("synchronous = FULL", "foreign_keys = ON", "secure_delete = ON"):
                self.conn.execute(f"PRAGMA {pragma}")
            _make_private(path)
            if check:
                self.quick_check()
            if migrate:
                self._migrate()
            if witness is not None:
                witness.check(self.conn)
        except sqlite3.Error as exc:
            self.close()
            raise store_error(exc, path) from exc
        except BaseException:
            self.close()
            raise

    def quick_check(self) -> None:
        """SQLite's structural check of every table that does not grow with history, with its indexes: opening must
        not grow with the years. A whole-file quick_check of a 10M-event ledger takes about a minute (bench/boot.py);
        the tables that grow are read row by row after the verified checkpoint by `verify --quick`, and the whole
        file is checked nightly by `verify` (integrity_check)."""
        rows = []
        for (table,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            if not table.startswith(HISTORY_TABLES):
                rows += [f"{table}: {r[0]}" for r in self.conn.execute(f'PRAGMA quick_check("{table}")') if r[0] != "ok"]
        if rows:
            raise StoreDamaged(f"{self.path} is damaged: {'; '.join(rows[:5])}. Restore the last backup.")

    def _migrate(self) -> None:
        if self.schema > SCHEMA:
            raise StoreDamaged(f"{self.path} has schema {self.schema}, newer than this software; upgrade memberkiosk")
        if self.schema == SCHEMA:
            return  # no write lock taken: opening must not wait for (or be refused by) another writer
        with self.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
        self.schema = SCHEMA

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: commits on success (durable on return), rolls back on any exception."""
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise store_error(exc, self.path) from exc
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error) and _is_store_condition(exc):
                    raise store_error(exc, self.path) from exc
                raise
            if self.witness is not None:
                self.witness.advance(self.conn)

    @staticmethod
    @contextlib.contextmanager
    def savepoint(conn: sqlite3.Connection) -> Iterator[None]:
        """A part of the open transaction that is undone alone when it fails (one bad row of an import)."""
        conn.execute("SAVEPOINT part")
        try:
            yield
        except BaseException:
            if conn.in_transaction:  # a full disk makes SQLite roll the whole transaction back itself
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
            try:
                self.conn.execute("BEGIN")
                yield self.conn
            except sqlite3.Error as exc:
                if _is_store_condition(exc):
                    raise store_error(exc, self.path) from exc
                raise
            finally:
                if self.conn.in_transaction:
                    self.conn.execute("COMMIT")

    def checkpoint(self) -> bool:
        """Copy the WAL into the ledger and empty it (after an erasure: no old page keeps the erased data there)."""
        with self._lock:
            busy, _, _ = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy == 0

    def close(self) -> None:
        """Checkpoint and close; safe to call twice."""
        with self._lock:
            if self.conn is not None:
                with contextlib.suppress(sqlite3.ProgrammingError):
                    self.conn.close()
            if self.witness is not None:
                self.witness.close()


def existing_store(data_dir: Path) -> list[str]:
    """The files that show `data_dir` already holds a store, whatever state its ledger is in."""
    return [name for name in (DOCS_FILE, WITNESS_FILE) if (data_dir / name).exists()]


def store_error(exc: sqlite3.Error, path: Path) -> KioskError:
    """What a SQLite failure means for the person at the kiosk: busy, full, no permission, or damaged."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code in (_BUSY, _LOCKED):
        return StoreBusy(f"{path.name} is busy: another process (an import, a backup, a long command) is writing to it "
                         f"and did not finish within {BUSY_TIMEOUT_MS // 1000} s. Nothing was saved and nothing is "
                         "damaged: wait for it to finish and try again. Do not restore a backup.")
    if code == _FULL or _disk_full(path.parent):
        return StoreFull("the disk is full: nothing was saved. Free space (old logs, receipts) and try again")
    if code in (_PERM, _READONLY, _CANTOPEN) or not _writable(path):
        return _denied(path, str(exc))
    return StoreDamaged(f"{path} is damaged ({exc}); restore the last backup with 'memberkiosk restore FILE'")


def _is_store_condition(exc: sqlite3.Error) -> bool:
    """Failures about the store itself rather than about the statement (those stay what they are)."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    return code in (_PERM, _BUSY, _LOCKED, _READONLY, _CORRUPT, _FULL, _CANTOPEN, _NOTADB)


def _denied(path: Path, why: str) -> StorePermission:
    try:
        st = path.stat() if path.exists() else path.parent.stat()
        owner = f"{_user(st.st_uid)}:{_group(st.st_gid)} {st.st_mode & 0o777:o}"
    except OSError:
        owner = "unknown owner"
    return StorePermission(
        f"{path} cannot be opened for writing by user {getpass.getuser()} ({why}; {owner}). The ledger is not damaged: "
        f"run the command as the kiosk's user (sudo -u kiosk memberkiosk ...), or give the data directory back to it "
        f"(chown -R kiosk:kiosk {path.parent})")


def _user(uid: int) -> str:
    import pwd
    with contextlib.suppress(KeyError):
        return pwd.getpwuid(uid).pw_name
    return str(uid)


def _group(gid: int) -> str:
    import grp
    with contextlib.suppress(KeyError):
        return grp.getgrgid(gid).gr_name
    return str(gid)


def _writable(path: Path) -> bool:
    directory_ok = os.access(path.parent, os.W_OK | os.X_OK)  # SQLite creates the -wal and -shm files beside it
    return directory_ok and (not path.exists() or os.access(path, os.R_OK | os.W_OK))


def _check_access(path: Path) -> None:
    if path.parent.exists() and not _writable(path):
        raise _denied(path, "permission denied")


def _disk_full(directory: Path) -> bool:
    try:
        st = os.statvfs(directory)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < _LOW_SPACE


def _no_ledger(path: Path) -> StoreDamaged:
    return StoreDamaged(
        f"{path} is missing or empty, but {path.parent} holds a store: the ledger was lost or zeroed. Nothing was "
        "created over it; restore the last backup with 'memberkiosk restore FILE'")


def _make_private(path: Path) -> None:
    """Members' phones, names and PIN hashes are in these files: owner and group only."""
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):  # missing, or not ours to change (then `verify` still runs)
            mode = p.stat().st_mode & 0o777
            if mode & ~FILE_MODE:
                os.chmod(p, mode & FILE_MODE)


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
