"""Signing with the kiosk's Ed25519 key and checking others' signatures (sync files, backups)."""
from __future__ import annotations

import base64

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class KioskKey:
    """This kiosk's signing key (kiosk/store/keyring.py keeps it outside the data directory)."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private

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

