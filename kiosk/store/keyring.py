"""The kiosk's keys, kept in a directory of their own outside the data directory (and so outside its backups).

- `kiosk.pem`: the Ed25519 key that signs what this kiosk hands to others (sync files, backups).
- `<name>.key`: 32 random bytes per purpose (e.g. `audit` for the HMAC chain, `pii` for personal data at rest).
A key is made the first time it is asked for, written whole or not at all (two processes racing keep one), and
readable by the owner only; `pii.key` also by the group, since a chain's installer provisions it root:kiosk 0640 (the
kiosk service reads it and cannot replace it; the same file on every kiosk of the chain, see kiosk/store/pii.py). A key that exists but cannot be read is an error, never silently replaced: replacing
it would orphan what it signed or encrypted.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.errors import KioskError
from kiosk.store.documents import fsync_dir

SIGNING_FILE = "kiosk.pem"  # PKCS#8 PEM
SECRET_BYTES = 32
GROUP_READABLE = {"pii"}  # secrets the kiosk group reads from a root-owned file


class KeyDamaged(KioskError):
    """A key file exists but cannot be used; what it protects cannot be checked or read without it."""


class KeyRing:
    """The keys in one directory (config `kiosk.key_dir`, env MEMBERKIOSK_KEY_DIR)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def signing(self) -> Ed25519PrivateKey:
        """This kiosk's Ed25519 signing key, made when first needed."""
        path = self._ensure(SIGNING_FILE, lambda: Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise KeyDamaged(f"{path} cannot be read ({exc}); restore {self.directory} from its safe copy") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyDamaged(f"{path} is not an Ed25519 key; restore {self.directory} from its safe copy")
        return key

    def secret(self, name: str) -> bytes:
        """The 32-byte secret called `name`, made when first needed."""
        path = self._ensure(f"{name}.key", lambda: os.urandom(SECRET_BYTES), 0o640 if name in GROUP_READABLE else 0o600)
        raw = path.read_bytes()
        if len(raw) != SECRET_BYTES:
            raise KeyDamaged(f"{path} is damaged ({len(raw)} bytes, not {SECRET_BYTES}); restore {self.directory} "
                             "from its safe copy")
        return raw

    def _ensure(self, name: str, make: Callable[[], bytes], mode: int = 0o600) -> Path:
        path = self.directory / name
        if path.exists():
            return path
        self.directory.mkdir(mode=0o750, parents=True, exist_ok=True)
        tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            os.write(fd, make())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails when another process made the key first: theirs is the key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        fsync_dir(self.directory)
        return path
