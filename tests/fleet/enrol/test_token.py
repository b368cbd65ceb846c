"""Enrolment tokens on their own: the text and QR forms round-trip, and each bad token is refused with its reason."""
from __future__ import annotations

import base64
import json
import time
import zlib
from pathlib import Path
from typing import Any, Callable

import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from core.barcodes import classify
from mqtt.fleet import enrol, signing
from mqtt.fleet.protocol import Expired, Forged, Malformed

NOW = int(time.time() * 1000)


def repack(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    """The token with its signed payload changed after signing (an attacker's edit)."""
    body = text[len(enrol.PREFIX):]
    doc = json.loads(zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))
    change(doc["signed"])
    return enrol.PREFIX + base64.urlsafe_b64encode(zlib.compress(json.dumps(doc).encode())).decode().rstrip("=")


def test_text_and_qr_round_trip(make_token, operator: Ed25519PrivateKey, tmp_path: Path) -> None:
    text = make_token()
    assert classify(text).kind == "enrolment" and len(text) < 1400
    modules = enrol.write_qr(text, tmp_path / "qr.png")
    with Image.open(tmp_path / "qr.png") as image:
        [found] = zxingcpp.read_barcodes(image)
    assert found.text == text and found.format == zxingcpp.BarcodeFormat.QRCode
    assert 21 <= modules <= 177 and (modules - 17) % 4 == 0  # a QR code's side: 4 * version + 17
    token = enrol.read(text, NOW, pinned_sha256=signing.fingerprint(operator.public_key()))
    assert (token.store, token.kiosk, token.operator_key) == ("shop1", "shop1-k1",
                                                              signing.public_text(operator.public_key()))
    assert base64.b64decode(token.pii_key or "") == bytes(range(32)) and token.expires_at > NOW


def test_expired_token_is_refused(make_token) -> None:
    text = make_token(now=NOW - 3_600_000, ttl=600)
    with pytest.raises(Expired) as refused:
        enrol.read(text, NOW)
    assert refused.value.reason.startswith("expired: this enrolment token expired 50 min ago")


@pytest.mark.parametrize("field, value", [("kiosk", "shop1-k2"), ("expires_at", NOW + 10**9), ("broker", "mqtts://evil:8883")],
                         ids=["kiosk", "expires_at", "broker"])  # stable ids: pytest-xdist workers must collect the same names
def test_altered_token_is_refused_as_forged(make_token, field: str, value: Any) -> None:
    text = repack(make_token(), lambda signed: signed.update({field: value}))
    with pytest.raises(Forged, match="signature does not verify"):
        enrol.read(text, NOW)


def test_token_of_another_operator_is_refused_where_the_key_is_pinned_or_held(make_token, operator) -> None:
    stranger = make_token(key=Ed25519PrivateKey.generate())
    enrol.read(stranger, NOW)  # well signed under the key it carries: only a pinned or held key tells it apart
    with pytest.raises(Forged, match="fingerprint is not the one this kiosk pins"):
        enrol.read(stranger, NOW, pinned_sha256=signing.fingerprint(operator.public_key()))
    with pytest.raises(Forged, match="another operator key than the operator.pub"):
        enrol.read(stranger, NOW, trusted=operator.public_key())


def test_swapped_key_with_the_original_signature_is_forged(make_token) -> None:
    other = signing.public_text(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(Forged):
        enrol.read(repack(make_token(), lambda signed: signed.update(operator_key=other)), NOW)


@pytest.mark.parametrize("text, why", [
    ("MKE1:" + "A" * 40, "damaged"),
    ("MKC1:C1:0000", "does not start with MKE1:"),
    ("MKE1:" + base64.urlsafe_b64encode(zlib.compress(b"\0" * 1_000_000)).decode(), "too large"),
    ("MKE1:" + base64.urlsafe_b64encode(zlib.compress(b'{"signed": {}, "sig": ""}')).decode(), "operator key"),
])
def test_malformed_token_is_refused(text: str, why: str) -> None:
    with pytest.raises(Malformed, match=why):
        enrol.read(text, NOW)


def test_cut_short_token_is_refused(make_token) -> None:
    with pytest.raises(Malformed):
        enrol.read(make_token()[:-40], NOW)


def test_scanners_read_a_whole_token_but_still_refuse_other_long_scans(make_token) -> None:
    from drivers.scanner.serial_scanner import SerialLines
    from drivers.scanner.wedge import Broken, Line
    from tests.drivers.test_scanner_wedge import decode, typed

    text = make_token()
    assert decode(typed(text)) == [Line(text)]  # a keyboard-wedge scanner types it
    [broken] = decode(typed("A" * (len(text))))
    assert isinstance(broken, Broken) and "longer than 48" in broken.reason
    lines = SerialLines()
    assert lines.feed(b"\n" + text.encode()[:700], 0.0) == [] and lines.feed(text.encode()[700:] + b"\r", 0.01) == [
        ("line", text)]  # a serial one in two reads, after a stray LF
