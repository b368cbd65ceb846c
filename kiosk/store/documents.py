"""TinyDB documents (catalog, rules, settings, devices) on a storage that survives power loss.

TinyDB's JSONStorage rewrites its file in place, so a power cut mid-write leaves a torn file. Ours writes a
temp file, fsyncs it, renames it over the old one and fsyncs the directory: a crash leaves the old or the
new version. The file carries a SHA-256 of its content, so a flipped byte is reported, never loaded.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage

from kiosk.store.errors import StoreDamaged, StoreFull

DOCS_FILE = "documents.json"
FORMAT = "memberkiosk-documents/1"


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


class AtomicJSONStorage(Storage):
    """A TinyDB storage: atomic replace on write, checksum verified on read, parsed data cached by file identity."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._cache_key: tuple[int, int, int] | None = None
        self._cache: dict[str, Any] | None = None

    def read(self) -> dict[str, Any] | None:
        """The stored tables, or None for a new file; StoreDamaged when the checksum or JSON is wrong."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key != self._cache_key:
            self._cache = load_verified(self.path)
            self._cache_key = key
        return json.loads(json.dumps(self._cache))  # callers may mutate what they get

    def write(self, data: dict[str, Any]) -> None:
        """Replace the file atomically and durably."""
        body = json.dumps(data, sort_keys=True, ensure_ascii=False)
        envelope = json.dumps({"format": FORMAT, "sha256": _digest(body), "data": data}, sort_keys=True, ensure_ascii=False)
        atomic_write(self.path, envelope.encode())
        self._cache_key = None

    def close(self) -> None:
        """Nothing is held open between calls."""


def load_verified(path: Path) -> dict[str, Any]:
    """Parse a documents file and check its SHA-256; raise StoreDamaged naming the file otherwise."""
    hint = "restore the last backup with 'memberkiosk restore FILE' or push the documents again"
    try:
        envelope = json.loads(path.read_bytes().decode())
        data = envelope["data"]
        if envelope.get("format") != FORMAT:
            raise StoreDamaged(f"{path} has an unknown format {envelope.get('format')!r}")
        expected = envelope["sha256"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise StoreDamaged(f"{path} is damaged (not valid JSON: {exc}); {hint}") from exc
    if _digest(json.dumps(data, sort_keys=True, ensure_ascii=False)) != expected:
        raise StoreDamaged(f"{path} is damaged (checksum mismatch); {hint}")
    return data


def atomic_write(path: Path, content: bytes) -> None:
    """Write content to path so that a crash at any instant leaves either the old or the new file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno == 28:  # ENOSPC
            raise StoreFull(f"the disk is full: {path.name} was not changed. Free space and try again") from exc
        raise


def fsync_dir(directory: Path) -> None:
    """Make renames in `directory` durable: without it a power cut can bring back the old name."""
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def open_documents(data_dir: Path) -> TinyDB:
    """The kiosk's TinyDB on the atomic storage; reading it once checks the file is intact."""
    for tmp in data_dir.glob(f".{DOCS_FILE}.*.tmp"):
        if not _alive(int(tmp.name.split(".")[-2])):  # left by a writer killed mid-write; never loaded
            tmp.unlink(missing_ok=True)
    db = TinyDB(data_dir / DOCS_FILE, storage=AtomicJSONStorage)
    db.storage.read()
    return db


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def replace_table(db: TinyDB, name: str, docs: list[dict[str, Any]]) -> None:
    """Replace a whole table in ONE atomic write (truncate + insert would be two, with an empty table between)."""
    data = db.storage.read() or {}
    data[name] = {str(i): doc for i, doc in enumerate(docs, start=1)}
    db.storage.write(data)
    table = db.table(name)
    table.clear_cache()
    table._next_id = None  # what TinyDB's own truncate() does so the next insert recounts ids
