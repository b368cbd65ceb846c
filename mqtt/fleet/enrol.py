"""Zero-touch enrolment tokens: what `fleet enrol` makes and a fresh kiosk's scanner reads.

A token is the operator-signed JSON {"v": 1, "broker", "ca": PEM, "store", "kiosk", "password", "operator_key",
"pii_key", "expires_at", "nonce"}, carried as "MKE1:" + base64url(zlib(signed JSON)) in a QR code. The signature
is checked under the key the token embeds, which must be the one this kiosk already trusts when it has one: its
pinned fingerprint (fleet.operator_key_sha256, on the boot partition) or an operator.pub in its key directory.
Refusals say why with the fleet's reason codes: malformed, forged, expired, reused.
"""
from __future__ import annotations

import base64
import binascii
import re
import secrets
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import qrcode
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.barcodes import ENROL_MAX, ENROL_PREFIX
from kiosk import config
from mqtt import topics
from mqtt.fleet import signing
from mqtt.fleet.protocol import Expired, Forged, Malformed, Refusal

VERSION = 1
DOMAIN = b"memberkiosk-enrol/1\n"  # a token's signature is never valid as a config or command, nor the reverse
PREFIX = f"{ENROL_PREFIX}:"
DEFAULT_TTL = 3600  # seconds: long enough to walk to the kiosk, short enough that a lost printout soon is useless
MAX_TTL = 7 * 86_400
NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # as mqtt/messages.py checks it in an enrol request
_MAX_JSON = 16 * 1024  # a token's JSON inflates to at most this: a zlib bomb stops here


class Reused(Refusal):
    """A token whose nonce was already used, here or (as head office says) on another machine."""

    code = "reused"


@dataclass(frozen=True)
class Token:
    """What a kiosk needs to join the fleet: where, as whom, and whom to trust."""

    broker: str
    ca: str  # PEM of the CA that signed the broker's certificate
    store: str
    kiosk: str
    password: str
    operator_key: str  # base64 of the operator's raw Ed25519 public key
    pii_key: str | None  # base64 of the chain's 32-byte pii.key, when the chain has one
    expires_at: int  # ms
    nonce: str

    def payload(self) -> dict[str, Any]:
        """The signed JSON object."""
        return {"v": VERSION, **asdict(self)}


def make(*, broker: str, ca: str, store: str, kiosk: str, password: str, operator: Ed25519PrivateKey,
         pii_key: bytes | None, now: int, ttl: int = DEFAULT_TTL) -> Token:
    """A new token for kiosk `kiosk` of `store`, valid `ttl` seconds from `now` (ms); ValueError says what is wrong."""
    if not 60 <= ttl <= MAX_TTL:
        raise ValueError(f"--ttl {ttl}: a token lives between 60 s and {MAX_TTL} s")
    token = Token(broker, ca, store, kiosk, password, signing.public_text(operator.public_key()),
                  base64.b64encode(pii_key).decode() if pii_key is not None else None, now + ttl * 1000,
                  secrets.token_urlsafe(16))
    _check(token.payload())
    return token


def encode(token: Token, operator: Ed25519PrivateKey) -> str:
    """The token's text form, which the QR code holds."""
    packed = zlib.compress(signing.sign(token.payload(), operator, DOMAIN), 9)
    text = PREFIX + base64.urlsafe_b64encode(packed).decode().rstrip("=")
    if len(text) > ENROL_MAX:
        raise ValueError(f"the token is {len(text)} characters, more than a QR code holds ({ENROL_MAX})")
    return text


def write_qr(text: str, path: Path) -> int:
    """Save the token as a QR code PNG; returns its size in modules (a side, without the quiet zone)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=4, border=4)
    code.add_data(text.encode("ascii"), optimize=0)
    code.make(fit=True)
    code.make_image().save(str(path))
    return code.modules_count


def read(text: str, now: int, *, pinned_sha256: str | None = None, trusted: Ed25519PublicKey | None = None) -> Token:
    """The token in a scan, checked: Malformed, Forged (altered, or not signed by the trusted key), Expired."""
    if not text.startswith(PREFIX):
        raise Malformed(f"not an enrolment token: it does not start with {PREFIX}")
    try:
        packed = base64.urlsafe_b64decode(text[len(PREFIX):] + "=" * (-(len(text) - len(PREFIX)) % 4))
        inflater = zlib.decompressobj()
        data = inflater.decompress(packed, _MAX_JSON)
    except (binascii.Error, ValueError, zlib.error):
        raise Malformed("the token's text is damaged; scan it again, or print a new one") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise Malformed("the token is cut short or too large; scan it again, or print a new one")
    claimed = signing.unverified(data) or {}
    try:
        key = signing.public_key(str(claimed.get("operator_key", "")))
    except ValueError as e:
        raise Malformed(f"the token's operator key: {e}") from None
    if pinned_sha256 is not None and signing.fingerprint(key) != pinned_sha256:
        raise Forged("the token is signed by an operator key whose fingerprint is not the one this kiosk pins "
                     "(fleet.operator_key_sha256)")
    if trusted is not None and signing.public_text(key) != signing.public_text(trusted):
        raise Forged("the token is signed by another operator key than the operator.pub this kiosk holds")
    token = Token(**{k: v for k, v in _check(signing.verify(data, key, DOMAIN)).items() if k != "v"})
    if now > token.expires_at:
        raise Expired(f"this enrolment token expired {(now - token.expires_at) // 60_000} min ago; "
                      "make a new one with `memberkiosk fleet enrol`")
    return token


def _check(doc: dict[str, Any]) -> dict[str, Any]:
    """The token's fields, each of the right type and shape; Malformed names the first one that is not."""
    strings = ("broker", "ca", "store", "kiosk", "password", "operator_key", "nonce")
    if set(doc) != {"v", "pii_key", "expires_at", *strings} or doc["v"] != VERSION:
        raise Malformed(f"the token's fields are not those of version {VERSION}")
    for name in strings:
        if not isinstance(doc[name], str) or not doc[name]:
            raise Malformed(f"the token's {name} is not text")
    if type(doc["expires_at"]) is not int or not (doc["pii_key"] is None or isinstance(doc["pii_key"], str)):
        raise Malformed("the token's expires_at or pii_key has the wrong type")
    try:
        config.broker(doc["broker"])
        config.identifier(doc["store"])
        config.identifier(doc["kiosk"])
        topics.check_id(doc["store"], "store")
        topics.check_id(doc["kiosk"], "kiosk")
        x509.load_pem_x509_certificate(doc["ca"].encode())
        if doc["pii_key"] is not None and len(base64.b64decode(doc["pii_key"], validate=True)) != 32:
            raise ValueError("pii_key is not 32 bytes")
    except (ValueError, topics.BadTopic) as e:
        raise Malformed(f"the token holds a bad value: {e}") from None
    if not NONCE.match(doc["nonce"]) or "\n" in doc["password"]:
        raise Malformed("the token's nonce or password is not usable")
    return doc
