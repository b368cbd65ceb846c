"""Backups taken while the kiosk runs (SQLite's online backup API) and restores that check before they replace."""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from pathlib import Path

from kiosk.store.db import LEDGER_FILE, Database
from kiosk.store.documents import DOCS_FILE, atomic_write, fsync_dir, load_verified
from kiosk.store.errors import StoreDamaged
from kiosk.store.lock import lock_data_dir
from kiosk.store.verify import verify_ledger

FORMAT = "memberkiosk-backup/1"


def backup(db: Database, data_dir: Path, dest: Path, now_ms: int) -> dict:
    """Write a consistent snapshot of ledger and documents to `dest` (a tar file); returns its manifest."""
    files: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(dir=data_dir) as tmp:
        snapshot = Path(tmp) / LEDGER_FILE
        target = sqlite3.connect(snapshot)
        try:
            with db.reading():
                db.conn.backup(target)
        finally:
            target.close()
        files[LEDGER_FILE] = snapshot.read_bytes()
    docs = data_dir / DOCS_FILE
    if docs.exists():
        files[DOCS_FILE] = docs.read_bytes()
    manifest = {
        "format": FORMAT,
        "created_at": now_ms,
        "files": {name: hashlib.sha256(body).hexdigest() for name, body in files.items()},
    }
    files["manifest.json"] = json.dumps(manifest, indent=2).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(body), now_ms // 1000
            tar.addfile(info, io.BytesIO(body))
    atomic_write(dest.resolve(), buf.getvalue())
    return manifest


def _read_archive(archive: Path) -> dict[str, bytes]:
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
        manifest = json.loads(files.pop("manifest.json"))
    except (OSError, tarfile.TarError, zlib.error, EOFError, KeyError, ValueError) as exc:  # zlib: a damaged gzip stream
        raise StoreDamaged(f"{archive} is not a memberkiosk backup ({exc})") from exc
    if manifest.get("format") != FORMAT or set(manifest["files"]) != set(files) or LEDGER_FILE not in files:
        raise StoreDamaged(f"{archive} is not a complete memberkiosk backup")
    for name, body in files.items():
        if hashlib.sha256(body).hexdigest() != manifest["files"][name]:
            raise StoreDamaged(f"{archive}: {name} does not match its checksum; the backup is damaged")
    return files


def restore(archive: Path, data_dir: Path, now_ms: int) -> Path:
    """Replace the store with a verified backup; the replaced files are kept in a folder whose path is returned."""
    files = _read_archive(archive)
    lock_fd = lock_data_dir(data_dir, exclusive=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=data_dir))
    try:
        for name, body in files.items():
            atomic_write(staging / name, body)
        if DOCS_FILE in files:
            load_verified(staging / DOCS_FILE)
        db = Database(staging / LEDGER_FILE)
        try:
            problems = verify_ledger(db.conn)
        finally:
            db.close()
        if problems:
            raise StoreDamaged(f"{archive} fails verification: {problems[0]}")
        kept = data_dir / f"replaced-{now_ms}"
        kept.mkdir()
        for name in (LEDGER_FILE, LEDGER_FILE + "-wal", LEDGER_FILE + "-shm", DOCS_FILE):
            if (data_dir / name).exists():
                os.replace(data_dir / name, kept / name)
        for name in files:
            os.replace(staging / name, data_dir / name)
        fsync_dir(data_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        os.close(lock_fd)
    return kept
