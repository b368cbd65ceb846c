"""The kiosk's Ed25519 key pair, which signs its sync files; made when first needed and kept in the data directory."""
from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.errors import KioskError
from kiosk.store.documents import fsync_dir

KEY_FILE = "sync-key.pem"  # PKCS#8, readable by the kiosk's user only


class KeyDamaged(KioskError):
    """The kiosk's key file cannot be read."""


class KioskKey:
    """This kiosk's signing key."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private

    @classmethod
    def load_or_create(cls, data_dir: Path) -> "KioskKey":
        """The key in `data_dir`, made there (mode 0600) the first time; two processes racing keep one key."""
        path = data_dir / KEY_FILE
        if not path.exists():
            _create(path)
        try:
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise KeyDamaged(f"{path} cannot be read ({exc}); restore it from the backup, or delete it to make a new "
                             "key (other kiosks will then refuse this kiosk's files until told to forget the old key)") from exc
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyDamaged(f"{path} is not an Ed25519 key")
        return cls(private)

    @property
    def public(self) -> str:
        """The public key as base64 of its 32 raw bytes."""
        raw = self._private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def sign(self, message: bytes) -> str:
        """The signature of `message`, base64."""
        return base64.b64encode(self._private.sign(message)).decode()


def signed_by(public: str, message: bytes, signature: str) -> bool:
    """Whether `signature` (base64) over `message` was made with the key whose public half is `public` (base64)."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public, validate=True))
        key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _create(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process made the key first: then that one is the key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    fsync_dir(path.parent)
