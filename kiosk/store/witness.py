"""The ledger's witness: a file beside it naming the last committed event, so a ledger that lost its tail shows.

SQLite keeps the newest commits in `ledger.sqlite-wal` until a checkpoint. Deleting, truncating or damaging that
file takes them away without an error: SQLite reads such a WAL as ending earlier. The witness is written after
every commit that moved the ledger's end: the kiosk id and the position and id of the last event, under an HMAC
with the kiosk's audit key (kept outside the data dir), so it cannot be lowered, forged or brought from another
kiosk. Open and verify require the ledger to still hold that event.

Decided: the witness is written after SQLite's COMMIT, so it may lag the ledger by the last commit (a crash
between the two), never lead it; a ledger ahead of its witness is fine, one behind it lost commits. Each write
goes to the page cache at once, so a killed process leaves it exact; it is fdatasync'ed at most once a second
(SYNC_INTERVAL_S) and at close, not at every commit: a second fsync per commit doubled its cost (bench/witness.py),
so after a power cut the witness may lag by up to that second of commits, which is never a false alarm. It has
two slots written alternately: a torn write spoils one slot and the other, older, stands. A missing witness (a
store older than the witness, or one just restored) is written afresh at open.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from kiosk.store.errors import StoreDamaged

WITNESS_FILE = "ledger.witness"
FORMAT = "memberkiosk-witness/1"
SLOT = 256  # two slots; one sector each on any disk, so a torn write spoils at most the slot being written
SYNC_INTERVAL_S = 1.0

log = logging.getLogger(__name__)

_LAST = ("SELECT (SELECT value FROM meta WHERE key = 'kiosk_id'), e.pos, e.id FROM (SELECT 1)"
         " LEFT JOIN (SELECT pos, id FROM events ORDER BY pos DESC LIMIT 1) e")


@dataclass(frozen=True)
class Mark:
    """Where the ledger ended at a commit: its kiosk, and the position and id of its last event (0, '' when none)."""

    kiosk_id: str
    pos: int
    event_id: str


def ledger_end(conn: sqlite3.Connection) -> Mark:
    """The mark of the ledger as this connection sees it."""
    kiosk_id, pos, event_id = conn.execute(_LAST).fetchone()
    return Mark(kiosk_id or "", pos or 0, event_id or "")


class Witness:
    """The witness file of one ledger, checked at open and advanced after each commit."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path, self._key = path, key
        self._fd: int | None = None
        self._written: Mark | None = None
        self._mine: tuple[tuple[int, int], int, Mark] | None = None  # (file stamp, generation, mark) of our last write
        self._synced = 0.0  # time.monotonic() of the last fdatasync

    def read(self) -> Mark | None:
        """The newest intact mark, None when there is no witness file; StoreDamaged when no slot verifies."""
        try:
            with self.path.open("rb") as f:
                raw = f.read(2 * SLOT)
        except FileNotFoundError:
            return None
        slots = _parse(self._key, raw)
        if not slots:
            raise StoreDamaged(
                f"{self.path} does not verify under this kiosk's audit key: it was altered, or the key in the key "
                f"directory was replaced. Restore the key directory; if the ledger is known good, move {self.path.name} "
                "aside and it is written afresh")
        return max(slots, key=lambda s: s[0])[1]

    def problem(self, conn: sqlite3.Connection) -> str | None:
        """What is wrong with the ledger according to its witness, or None (no witness is not a problem)."""
        mark = self.read()
        if mark is None:
            return None
        return _compare(conn, mark)

    def check(self, conn: sqlite3.Connection) -> None:
        """At open: raise StoreDamaged when the ledger lost its tail or was replaced; write a missing witness."""
        problem = self.problem(conn)
        if problem:
            raise StoreDamaged(problem)
        self.advance(conn)

    def advance(self, conn: sqlite3.Connection) -> None:
        """After a commit: record the ledger's new end, when it moved (never backwards, whoever wrote it)."""
        mark = ledger_end(conn)
        if mark == self._written:
            return
        try:
            self._write(mark)
            if time.monotonic() - self._synced >= SYNC_INTERVAL_S:
                self._sync()
        except OSError as exc:  # the commit stands; the witness lags until the next commit writes it
            log.warning("cannot write %s (%s); it lags the ledger until the next commit", self.path, exc)
            return
        self._written = mark

    def _write(self, mark: Mark) -> None:
        fd = self._open()
        fcntl.flock(fd, fcntl.LOCK_EX)  # other processes on this data dir advance it too
        try:
            st = os.fstat(fd)
            if self._mine is not None and self._mine[0] == (st.st_mtime_ns, st.st_size):
                gen, top = self._mine[1], self._mine[2]  # nobody wrote since our last write: no need to re-read it
            else:
                slots = _parse(self._key, os.pread(fd, 2 * SLOT, 0))
                gen, top = max(slots, key=lambda s: s[0]) if slots else (0, None)
            if top is not None and (top == mark or top.pos > mark.pos):
                return  # another process already recorded this end, or a later one
            gen += 1
            os.pwrite(fd, _encode(self._key, gen, mark), (gen % 2) * SLOT)
            st = os.fstat(fd)
            self._mine = ((st.st_mtime_ns, st.st_size), gen, mark)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _open(self) -> int:
        if self._fd is None:
            created = not self.path.exists()
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o640)
            if created:  # the file's name must survive a power cut, not only its content
                dir_fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        return self._fd

    def _sync(self) -> None:
        os.fdatasync(self._fd)
        self._synced = time.monotonic()

    def close(self) -> None:
        """Make the last mark durable and release the file; safe to call twice."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self._sync()
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _compare(conn: sqlite3.Connection, mark: Mark) -> str | None:
    end = ledger_end(conn)
    restore = "restore the last backup with 'memberkiosk restore FILE'"
    if mark.kiosk_id and end.kiosk_id != mark.kiosk_id:
        return (f"ledger.sqlite is not this data directory's ledger: it belongs to kiosk '{end.kiosk_id or '(none)'}' "
                f"but kiosk '{mark.kiosk_id}' wrote here. The file was replaced; {restore}")
    if mark.pos == 0:
        return None
    row = conn.execute("SELECT id FROM events WHERE pos = ?", (mark.pos,)).fetchone()
    if row is None:
        return (f"ledger.sqlite lost committed events: it ends at event #{end.pos} but event #{mark.pos} "
                f"({mark.event_id}) was committed (ledger.sqlite-wal deleted, truncated or damaged?). {restore.capitalize()} "
                "and enter again what was done since; to accept the loss instead, move ledger.witness aside")
    if row[0] != mark.event_id:
        return (f"ledger.sqlite was replaced: event #{mark.pos} is {row[0]}, but {mark.event_id} was committed there; "
                f"{restore}")
    return None


def _body(gen: int, mark: Mark) -> bytes:
    return json.dumps([FORMAT, gen, mark.kiosk_id, mark.pos, mark.event_id], ensure_ascii=False).encode()


def _encode(key: bytes, gen: int, mark: Mark) -> bytes:
    body = _body(gen, mark)
    line = body + b"\t" + hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    if len(line) >= SLOT:
        raise ValueError(f"witness mark too long for its slot: {mark}")
    return line.ljust(SLOT - 1) + b"\n"


def _parse(key: bytes, raw: bytes) -> list[tuple[int, Mark]]:
    """The (generation, mark) of every slot whose HMAC verifies."""
    slots = []
    for start in (0, SLOT):
        body, _, mac = raw[start:start + SLOT].rstrip().partition(b"\t")
        if not hmac.compare_digest(hmac.new(key, body, hashlib.sha256).hexdigest().encode(), mac):
            continue
        fmt, gen, kiosk_id, pos, event_id = json.loads(body)
        if fmt == FORMAT:
            slots.append((gen, Mark(kiosk_id, pos, event_id)))
    return slots
