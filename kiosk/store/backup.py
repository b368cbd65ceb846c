"""Signed backups taken while the kiosk runs, and restores that check everything before they touch the live files.

A backup is a tar.gz of exactly four members: the ledger (SQLite's online backup API), the documents, a manifest
naming the kiosk, its public key and each file's SHA-256, and the manifest's Ed25519 signature. This module reads
and writes that shape; whose key may sign what a kiosk restores is decided by the caller (kiosk/services/backups.py).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from core.errors import KioskError
from kiosk.store import meta
from kiosk.store.db import LEDGER_FILE, Database
from kiosk.store.documents import DOCS_FILE, atomic_write, fsync_dir, load_verified
from kiosk.store.errors import StoreDamaged
from kiosk.store.keyring import KeyRing
from kiosk.store.ledger import Identity
from kiosk.store.lock import lock_data_dir
from kiosk.store.pii import bind
from kiosk.store.verify import verify_ledger
from kiosk.store.witness import WITNESS_FILE

FORMAT = "memberkiosk-backup/2"
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
MEMBERS = (LEDGER_FILE, DOCS_FILE, MANIFEST, SIGNATURE)  # nothing else is ever read from an archive
_DOMAIN = b"memberkiosk-backup/2\n"  # what the signature covers, before the manifest: never a valid signature of a sync file
# What a restore replaces. The witness names the replaced ledger's last commit; the restored one gets its own at open.
_LIVE = (LEDGER_FILE, LEDGER_FILE + "-wal", LEDGER_FILE + "-shm", WITNESS_FILE, DOCS_FILE)


class BackupRefused(StoreDamaged):
    """An archive that is damaged, altered, not a backup, or not this kiosk's; nothing was restored."""


class RestoreFailed(KioskError):
    """A restore that stopped while swapping files; the live files were put back as they were."""


class Signer(Protocol):
    """What signs a backup: kiosk/services/keys.py KioskKey."""

    @property
    def public(self) -> str: ...

    def sign(self, message: bytes) -> str: ...


@dataclass(frozen=True)
class Backup:
    """An archive whose members, manifest and checksums are in order; its signature is for the caller to judge."""

    path: Path
    manifest: dict[str, Any]
    signed: bytes  # the message the signature covers
    signature: str
    files: dict[str, bytes]

    @property
    def who(self) -> Identity:
        """The kiosk and store whose ledger this is."""
        return Identity(self.manifest["kiosk_id"], self.manifest["store_id"])

    @property
    def public_key(self) -> str:
        """The public key (base64) of the kiosk that says it made this backup."""
        return self.manifest["public_key"]


def backup(db: Database, data_dir: Path, dest: Path, now_ms: int, signer: Signer) -> dict[str, Any]:
    """Write a signed, consistent snapshot of ledger and documents to the file `dest`; returns its manifest."""
    files: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(dir=data_dir) as tmp:
        snapshot = Path(tmp) / LEDGER_FILE
        target = sqlite3.connect(snapshot)
        try:
            with db.reading():
                db.conn.backup(target)
            who = meta.identity(target)
        finally:
            target.close()
        files[LEDGER_FILE] = snapshot.read_bytes()
    docs = data_dir / DOCS_FILE
    if docs.exists():
        files[DOCS_FILE] = docs.read_bytes()
    manifest = {
        "format": FORMAT,
        "created_at": now_ms,
        "kiosk_id": who["kiosk_id"],
        "store_id": who["store_id"],
        "public_key": signer.public,
        "files": {name: hashlib.sha256(body).hexdigest() for name, body in files.items()},
    }
    files[MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True).encode()
    files[SIGNATURE] = signer.sign(_DOMAIN + files[MANIFEST]).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(body), now_ms // 1000, 0o640
            tar.addfile(info, io.BytesIO(body))
    atomic_write(dest.resolve(), buf.getvalue())
    return manifest


def read_backup(archive: Path) -> Backup:
    """Read an archive that holds exactly a backup's members, each once and a plain file, with intact checksums."""
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            members = tar.getmembers()
            _check_names(archive, members)
            files = {m.name: tar.extractfile(m).read() for m in members}  # type: ignore[union-attr]
    except (OSError, tarfile.TarError, zlib.error, EOFError) as exc:  # zlib: a damaged gzip stream
        raise BackupRefused(f"{archive} is not a memberkiosk backup ({exc})") from exc
    raw_manifest = files.pop(MANIFEST, b"")
    try:
        manifest = json.loads(raw_manifest)
        fmt = manifest.get("format")
    except (ValueError, AttributeError) as exc:
        raise BackupRefused(f"{archive} is not a memberkiosk backup (no readable manifest)") from exc
    if fmt == "memberkiosk-backup/1":
        raise BackupRefused(f"{archive} was made by an older memberkiosk without a signature, so nothing proves it "
                            "was not altered; it cannot be restored. Restore a backup taken since the upgrade")
    signature = files.pop(SIGNATURE, b"")
    sums = manifest.get("files")
    if (fmt != FORMAT or not signature or not isinstance(sums, dict) or set(sums) != set(files)
            or LEDGER_FILE not in files
            or not all(isinstance(manifest.get(k), str) for k in ("kiosk_id", "store_id", "public_key"))):
        raise BackupRefused(f"{archive} is not a complete memberkiosk backup")
    for name, body in files.items():
        if hashlib.sha256(body).hexdigest() != sums[name]:
            raise BackupRefused(f"{archive}: {name} does not match its checksum; the backup is damaged")
    return Backup(archive, manifest, _DOMAIN + raw_manifest, signature.decode("ascii", "replace").strip(), files)


def _check_names(archive: Path, members: list[tarfile.TarInfo]) -> None:
    """Refuse any member a backup never holds: other names, paths, links, devices, a name twice."""
    seen: set[str] = set()
    for m in members:
        if m.name not in MEMBERS or not m.isreg() or m.name in seen:
            kind = "a second copy of" if m.name in seen else "a file" if m.isreg() else "a link or special file"
            raise BackupRefused(f"{archive} holds {kind} '{m.name}', which a memberkiosk backup never holds; "
                                "it was altered or is not a backup. Nothing was restored")
        seen.add(m.name)


def live_identity(data_dir: Path) -> Identity | None:
    """The kiosk the live ledger belongs to, read without changing it; None when there is none or it cannot be read."""
    path = data_dir / LEDGER_FILE
    if not path.exists():
        return None
    # Without a WAL the file is the whole ledger: `immutable` reads it without making -wal and -shm beside it.
    options = "mode=ro" if Path(f"{path}-wal").exists() else "mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{options}", uri=True)
        try:
            ids = meta.identity(conn)
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return Identity(ids["kiosk_id"], ids["store_id"]) if ids else None


def restore(backup: Backup, data_dir: Path, now_ms: int, approve: Callable[[Identity | None], None],
            keys: KeyRing) -> Path:
    """Replace the store with a verified backup; the replaced files are kept in a folder whose path is returned.

    `approve` is called with the live store's identity under the exclusive lock and raises to refuse. Nothing
    live is touched until the staged copy passed every check, and a failure while swapping puts the live files back.
    """
    lock_fd = lock_data_dir(data_dir, exclusive=True)
    try:
        approve(live_identity(data_dir))
        staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=data_dir))
        try:
            _stage(backup, staging, keys)
            return _swap(data_dir, staging, list(backup.files), data_dir / f"replaced-{now_ms}")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        os.close(lock_fd)


def _stage(backup: Backup, staging: Path, keys: KeyRing) -> None:
    """Write the backup's files to `staging` and check them as `verify` would (its personal data with our pii key)."""
    for name, body in backup.files.items():
        atomic_write(staging / name, body)
    if DOCS_FILE in backup.files:
        load_verified(staging / DOCS_FILE)
    db = Database(staging / LEDGER_FILE, create=False)  # a backup with an empty ledger is no backup
    try:
        bind(db.conn, keys)
        problems = verify_ledger(db.conn)
        ids = meta.identity(db.conn)
    finally:
        db.close()
    if problems:
        raise BackupRefused(f"{backup.path} fails verification: {problems[0]}")
    if Identity(ids.get("kiosk_id", ""), ids.get("store_id", "")) != backup.who:
        raise BackupRefused(f"{backup.path}: the ledger inside is not the one of kiosk {backup.who.kiosk_id} its "
                            "manifest names; it was altered")


def _swap(data_dir: Path, staging: Path, names: list[str], kept: Path) -> Path:
    """Move the live files into `kept` and the staged ones into place, undoing every move if one fails."""
    kept.mkdir(mode=0o750)
    done: list[tuple[Path, Path]] = []
    try:
        for src, dst in [(data_dir / n, kept / n) for n in _LIVE] + [(staging / n, data_dir / n) for n in names]:
            if src.exists():
                os.replace(src, dst)
                done.append((src, dst))
        fsync_dir(kept)
        fsync_dir(data_dir)
    except BaseException as exc:
        for src, dst in reversed(done):
            os.replace(dst, src)
        fsync_dir(data_dir)
        with contextlib.suppress(OSError):
            kept.rmdir()  # empty again; were an undo to fail, it would hold live files and must stay
        if isinstance(exc, OSError):
            raise RestoreFailed(f"could not move {exc.filename} ({exc.strerror}); the live files were put back as "
                                "they were and nothing was restored") from exc
        raise
    return kept
