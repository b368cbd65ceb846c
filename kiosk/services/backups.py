"""Backups signed with this kiosk's key, and restores that take only this kiosk's own or, when told, a kiosk it replaces."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import KioskError
from kiosk.clock import Clock
from kiosk.services.keys import KioskKey, signed_by
from kiosk.store.backup import BackupRefused, backup, read_backup, restore
from kiosk.store.db import Database
from kiosk.store.keyring import KeyRing
from kiosk.store.ledger import Identity


class BackupNotWritten(KioskError):
    """The backup file could not be written where it was asked for; the store is unchanged."""


@dataclass(frozen=True)
class Restored:
    """What a restore did: where the replaced files are, and whether this kiosk took over another one."""

    kept: Path
    kiosk: Identity  # who this data directory belongs to now
    before: Identity | None  # who it belonged to before (None: nobody, or the ledger could not be read)
    public_key: str  # the key that signed the backup
    key_changed: bool  # signed by another kiosk's key: this hardware now signs for that kiosk

    @property
    def took_over(self) -> bool:
        """Whether this kiosk is now another kiosk, or signs for one that another key signed for."""
        return self.key_changed or (self.before is not None and self.before != self.kiosk)


def take_backup(db: Database, who: Identity, keys: KeyRing, clock: Clock, dest: Path) -> tuple[Path, dict[str, Any]]:
    """Write a signed backup to `dest`, or into it when it is a folder; returns the file written and its manifest."""
    if dest.is_dir():
        dest = dest / f"memberkiosk-{who.kiosk_id}-{clock.local():%Y%m%d-%H%M%S}.tar.gz"
    if not dest.parent.is_dir():
        raise BackupNotWritten(f"the folder {dest.parent} does not exist: mount the USB stick or create the folder")
    try:
        return dest, backup(db, db.path.parent, dest, clock.now_ms(), KioskKey(keys.signing()))
    except OSError as exc:
        raise BackupNotWritten(f"cannot write {dest} ({exc.strerror}); nothing was written") from exc


def restore_backup(archive: Path, data_dir: Path, keys: KeyRing, now_ms: int, replace_kiosk: bool = False) -> Restored:
    """Restore a backup this kiosk signed of this kiosk; another kiosk's only with `replace_kiosk`.

    With `replace_kiosk` the signature is checked against the key the backup carries, so an altered backup is
    still refused; the caller tells the operator what changed.
    """
    found = read_backup(archive)
    if not signed_by(found.public_key, found.signed, found.signature):
        raise BackupRefused(f"{archive}: the signature does not match the manifest, so the backup was altered after "
                            "it was made. Nothing was restored")
    key_changed = found.public_key != KioskKey(keys.signing()).public
    retake = f"If this hardware replaces kiosk {found.who.kiosk_id} for good, run: memberkiosk restore {archive} --replace-kiosk"
    if key_changed and not replace_kiosk:
        raise BackupRefused(f"{archive} is a backup of kiosk {found.who.kiosk_id} signed with another kiosk's key, not "
                            f"this one's; restoring it would give two kiosks one id. Nothing was restored. {retake}")
    seen: list[Identity | None] = []

    def approve(live: Identity | None) -> None:
        seen.append(live)
        if live is not None and live != found.who and not replace_kiosk:
            raise BackupRefused(f"{archive} is a backup of kiosk {found.who.kiosk_id} of store {found.who.store_id}, "
                                f"and this data directory belongs to kiosk {live.kiosk_id} of store {live.store_id}. "
                                f"Nothing was restored. {retake}")

    kept = restore(found, data_dir, now_ms, approve, keys)
    return Restored(kept, found.who, seen[0], found.public_key, key_changed)
