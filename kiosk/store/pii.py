"""Personal data at rest: phone, name and birthday sealed with AES-GCM, phones found through a keyed hash.

The key is the 32-byte secret `pii.key` of the key ring (outside the data directory, root:kiosk 0640). Two keys
are derived from it with HKDF under separate labels: the AES-GCM key that seals values, and the HMAC-SHA256 key
of the phone index. A sealed value is the text `pii1.<key id>.<base64url(nonce | ciphertext | tag)>`; it is bound
to its member and field (the associated data), so a value moved to another row or column does not open.

The chain: every kiosk that is given the same `pii.key` (the hub hands one chain-wide key to each kiosk it
enrols; tests copy one file into both key dirs) computes the same phone index and opens every other kiosk's
sealed values, so a member registered in one store is found by phone in another, and member changes travel
sealed in sync files. A kiosk never enrolled makes its own key on first use. Rotation (not built): the ring keeps
the old key as `pii.<key id>.key` beside the new `pii.key`; values name the key that sealed them, so both open,
and a step at open re-seals every row and recomputes the phone index under the new key in one transaction,
then drops the old key file once the hub confirms every kiosk has rotated.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import sqlite3
from dataclasses import replace
from typing import Any, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.directory import Change
from core.errors import KioskError
from kiosk.store.keyring import KeyRing

KEY_NAME = "pii"  # the key ring's pii.key
SEALED = ("phone", "name", "birthday")  # the personal fields sealed wherever they are stored or shipped
PREFIX = "pii1"
_NONCE = 12


class PersonalDataLocked(KioskError):
    """Personal data that this kiosk's key cannot open: another key sealed it, or it was altered."""


def _derive(secret: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"memberkiosk/{label}".encode()).derive(secret)


class PiiKey:
    """Seals and opens personal fields, and computes the phone index, under one pii secret."""

    def __init__(self, secret: bytes) -> None:
        self._aead = AESGCM(_derive(secret, "pii/aes-gcm/v1"))
        self._index = _derive(secret, "pii/phone-index/v1")
        self.key_id = _derive(secret, "pii/key-id/v1")[:4].hex()

    def seal(self, member_id: str, field: str, value: str | None) -> str | None:
        """The sealed text of a field's value (None stays None)."""
        if value is None:
            return None
        nonce = os.urandom(_NONCE)
        body = self._aead.encrypt(nonce, value.encode(), _aad(member_id, field))
        return f"{PREFIX}.{self.key_id}.{base64.urlsafe_b64encode(nonce + body).decode()}"

    def open(self, member_id: str, field: str, stored: str | None) -> str | None:
        """The value a sealed text holds; text written before encryption at rest is returned as it is."""
        if not is_sealed(stored):
            return stored
        self.check_sealer(member_id, stored)
        body = stored.split(".", 2)[2]
        try:
            raw = base64.urlsafe_b64decode(body)
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], _aad(member_id, field)).decode()
        except (ValueError, InvalidTag) as exc:
            raise PersonalDataLocked(f"the {field} of member {member_id} was altered or damaged and cannot be "
                                     "opened; restore the last backup") from exc

    def check_sealer(self, member_id: str, stored: str) -> None:
        """PersonalDataLocked unless this key sealed the value (the key id it names is ours)."""
        key_id = stored.split(".", 2)[1]
        if key_id != self.key_id:
            raise PersonalDataLocked(
                f"the personal data of member {member_id} was sealed with pii key {key_id}, but this kiosk's "
                f"pii.key is {self.key_id}: put back the pii.key it was sealed with (kiosks of one chain share it)")

    def phone_index(self, phone: str) -> bytes:
        """The keyed hash a phone is looked up by (the same at every kiosk holding this key)."""
        return hmac.new(self._index, phone.encode(), hashlib.sha256).digest()

    def seal_fields(self, member_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A directory change's fields with the personal ones sealed."""
        return {k: self.seal(member_id, k, v) if k in SEALED and isinstance(v, str) else v for k, v in fields.items()}

    def open_fields(self, member_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A directory change's fields with the personal ones opened."""
        return {k: self.open(member_id, k, v) if k in SEALED and isinstance(v, str) else v for k, v in fields.items()}

    def seal_change(self, c: Change) -> Change:
        """A directory change as it travels in a sync file: personal fields sealed."""
        return replace(c, fields=self.seal_fields(c.member_id, c.fields))

    def open_change(self, c: Change) -> Change:
        """A directory change from a sync file, opened (PersonalDataLocked when another chain's key sealed it)."""
        return replace(c, fields=self.open_fields(c.member_id, c.fields))


def is_sealed(stored: object) -> bool:
    """Whether a stored value is sealed text (and not plaintext from before encryption at rest)."""
    return isinstance(stored, str) and stored.startswith(PREFIX + ".")


def is_sealed_store(conn: sqlite3.Connection) -> bool:
    """Whether every row here is sealed and indexed: the schema has the phone index and the step at open is done."""
    found = {name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE name IN ('members_phone_index', 'pii_unsealed')")}
    return found == {"members_phone_index"}


def _aad(member_id: str, field: str) -> bytes:
    return f"{member_id}\x1f{field}".encode()


class Connection(sqlite3.Connection):
    """A SQLite connection that carries the key its personal data is sealed with (`bind` at open)."""

    pii: PiiKey | None = None


def bind(conn: sqlite3.Connection, keys: KeyRing) -> PiiKey:
    """Give a connection of Database the key ring's pii key; the member and directory rows read it from there."""
    if not isinstance(conn, Connection):
        raise TypeError("personal data needs a connection made by kiosk.store.db.Database")
    conn.pii = PiiKey(keys.secret(KEY_NAME))
    return conn.pii


def key_of(conn: sqlite3.Connection) -> PiiKey:
    """The pii key bound to this connection."""
    key = getattr(conn, "pii", None)
    if key is None:
        raise PersonalDataLocked("the personal-data key was not loaded for this store (open it through Kiosk.open)")
    return key
