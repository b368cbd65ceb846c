"""The chain operator's Ed25519 key: key files, signing configs and commands, verifying them on a kiosk.

`operator.key` is the private key as PKCS#8 PEM encrypted under a passphrase (it signs what every kiosk obeys, so
a copy of the file alone must be useless); `operator.pub` is the public key as base64 of its 32 raw bytes, the
form a kiosk holds in its key directory and an enrolment token carries. A signed message is canonical JSON
{"signed": payload, "sig": base64 signature over DOMAIN + canonical JSON of the payload}; the domain keeps a
fleet signature from ever being valid as anything else the same key might sign (an enrolment token signs with
its own prefix through `sign(..., domain=...)`).
"""
from __future__ import annotations

import base64
import binascii
import getpass
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.codec import dumps
from core.errors import KioskError
from kiosk.store.documents import atomic_write
from mqtt.fleet.protocol import Forged, Malformed, Target, json_object, new_config
from mqtt.messages import MAX_PAYLOAD

DOMAIN = b"memberkiosk-fleet/1\n"
PRIVATE_FILE, PUBLIC_FILE = "operator.key", "operator.pub"
PASSPHRASE_ENV = "MEMBERKIOSK_OPERATOR_PASSPHRASE"
MIN_PASSPHRASE = 8

__all__ = ["DOMAIN", "Forged", "KeyFileError", "init_keys", "load_private", "load_public", "public_text",
           "fingerprint", "read_passphrase", "sign", "verify"]


class KeyFileError(KioskError):
    """An operator key file that is missing, damaged, already there, or locked by another passphrase."""


def init_keys(directory: Path, passphrase: bytes) -> tuple[Path, Path]:
    """Write a new operator key pair into `directory`; refuses to replace an existing one (kiosks trust it)."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeyFileError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    private, public = directory / PRIVATE_FILE, directory / PUBLIC_FILE
    for path in (private, public):
        if path.exists():
            raise KeyFileError(f"{path} exists: every kiosk trusts that key, so it is never replaced here; "
                               "move it away first if you really mean to start a new chain key")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(passphrase))
    atomic_write(private, pem)
    os.chmod(private, 0o600)
    atomic_write(public, (public_text(key.public_key()) + "\n").encode())
    os.chmod(public, 0o644)
    return private, public


def load_private(path: Path, passphrase: bytes) -> Ed25519PrivateKey:
    """The operator's private key from `path` (a file, or the directory holding operator.key)."""
    path = path / PRIVATE_FILE if path.is_dir() else path
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
    except OSError as e:
        raise KeyFileError(f"cannot read the operator key {path} ({e.strerror}); run `memberkiosk fleet keys init`"
                           " or give --key-dir") from None
    except (ValueError, TypeError):
        raise KeyFileError(f"cannot open the operator key {path}: wrong passphrase, or not a PEM key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an Ed25519 key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    """The operator's public key from `path` (a file, or the directory holding operator.pub)."""
    path = path / PUBLIC_FILE if path.is_dir() else path
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as e:
        raise KeyFileError(f"cannot read the operator's public key {path} ({e}): enrol this kiosk, or copy "
                           f"{PUBLIC_FILE} from head office into the key directory") from None
    try:
        return public_key(text)
    except ValueError as e:
        raise KeyFileError(f"{path}: {e}") from None


def public_key(text: str) -> Ed25519PublicKey:
    """A public key from base64 of its 32 raw bytes; ValueError says what is wrong."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64 of an Ed25519 public key") from None
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key has 32 bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_text(key: Ed25519PublicKey) -> str:
    """base64 of the public key's 32 raw bytes."""
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the public key's raw bytes: what fleet.operator_key_sha256 pins."""
    return hashlib.sha256(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).hexdigest()


def read_passphrase(confirm: bool = False) -> bytes:
    """The passphrase from $MEMBERKIOSK_OPERATOR_PASSPHRASE, the terminal (asked twice with `confirm`), or stdin."""
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV].encode()
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise KeyFileError(f"no passphrase: give it on stdin's first line or in ${PASSPHRASE_ENV}")
        return line.encode()
    first = getpass.getpass("operator key passphrase: ")
    if confirm and getpass.getpass("again: ") != first:
        raise KeyFileError("the two passphrases differ; nothing was written")
    return first.encode()


def sign(payload: Mapping[str, Any], key: Ed25519PrivateKey, domain: bytes = DOMAIN) -> bytes:
    """The signed message carrying `payload`."""
    signature = key.sign(domain + dumps(payload).encode())
    return dumps({"signed": payload, "sig": base64.b64encode(signature).decode()}).encode()


def signed_config(kind: str, target: Target, fmt: str, body: str, key: Ed25519PrivateKey,
                  now_ms: int) -> tuple[dict[str, Any], bytes]:
    """A config document for `target`, versioned by the operator's clock and signed: (payload, message bytes);
    Malformed when the body does not fit one message."""
    payload = new_config(kind, now_ms, target, fmt, body, now_ms)
    data = sign(payload, key)
    if len(data) > MAX_PAYLOAD:
        raise Malformed(f"the signed {kind} has {len(data)} bytes, over the {MAX_PAYLOAD}-byte limit of a message")
    return payload, data


def verify(data: bytes, key: Ed25519PublicKey, domain: bytes = DOMAIN) -> dict[str, Any]:
    """The payload of a signed message; Malformed when it is no signed message, Forged when the signature fails."""
    doc = json_object(data)
    if set(doc) != {"signed", "sig"} or not isinstance(doc["signed"], dict) \
            or not isinstance(doc["sig"], str):
        raise Malformed('not a signed message {"signed": {...}, "sig": "..."}')
    try:
        signature = base64.b64decode(doc["sig"], validate=True)
        key.verify(signature, domain + dumps(doc["signed"]).encode())
    except (binascii.Error, ValueError, InvalidSignature):
        raise Forged("the signature does not verify under the operator key held here") from None
    return doc["signed"]


def unverified(data: bytes) -> dict[str, Any] | None:
    """The payload a message claims, before any check: only to name a refused message's id in its outcome."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    signed = doc.get("signed") if isinstance(doc, dict) else None
    return signed if isinstance(signed, dict) else None
