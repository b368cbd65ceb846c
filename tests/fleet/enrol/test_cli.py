"""`memberkiosk fleet enrol` through the installed command: the QR PNG it writes decodes to the token it prints."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from mqtt.fleet import enrol, signing


def test_fleet_enrol_writes_a_qr_code_of_the_signed_token(cli, fleet_broker, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(signing.PASSPHRASE_ENV, "correct horse battery")
    keys = cli("fleet", "keys", "init", "--dir", str(tmp_path / "op"), "--json").json()
    qr = tmp_path / "enrol-shop1-k1.png"
    made = cli("fleet", "enrol", "--store", "shop1", "--kiosk", "shop1-k1", "--out", str(qr), "--json",
               "--broker", fleet_broker.url, "--ca-file", str(fleet_broker.pki.ca_file),
               "--credentials", str(fleet_broker.dir / "credentials"), "--key-dir", str(tmp_path / "op"),
               "--ttl", "900").json()
    with Image.open(qr) as image:
        [found] = zxingcpp.read_barcodes(image)
        assert found.text == made["text"] and made["modules"] == image.width // 4 - 8  # 4 px a module, border 4
    now = int(time.time() * 1000)
    token = enrol.read(found.text, now, pinned_sha256=keys["sha256"])
    assert (token.store, token.kiosk, token.password) == ("shop1", "shop1-k1", fleet_broker.password("shop1-k1"))
    assert token.pii_key is None and now + 890_000 < token.expires_at <= now + 900_000 and token.nonce == made["nonce"]


def test_fleet_enrol_says_what_is_missing(cli, fleet_broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(signing.PASSPHRASE_ENV, "correct horse battery")
    cli("fleet", "keys", "init", "--dir", str(tmp_path / "op"))
    args = ["fleet", "enrol", "--store", "shop1", "--out", str(tmp_path / "qr.png"), "--broker", fleet_broker.url,
            "--ca-file", str(fleet_broker.pki.ca_file), "--credentials", str(fleet_broker.dir / "credentials"),
            "--key-dir", str(tmp_path / "op")]
    unknown = cli(*args, "--kiosk", "shop9-k1", check_rc=2)
    assert "shop9-k1.password" in unknown.stderr and "fleet broker-config" in unknown.stderr
    short = cli(*args, "--kiosk", "shop1-k1", "--ttl", "5", check_rc=2)
    assert "--ttl 5" in short.stderr and not (tmp_path / "qr.png").exists()
