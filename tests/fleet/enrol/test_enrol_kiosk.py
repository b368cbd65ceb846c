"""A fresh kiosk enrols from a token over the real broker of `fleet broker-config`, head office keeping each token
good once; what it stores then is enough to log in with the token's credential."""
from __future__ import annotations

import base64
import time
import tomllib
from pathlib import Path

import pytest

from kiosk import config
from mqtt.agent.settings import PASSWORD_FILE
from mqtt.connection import Connection, Settings
from mqtt.fleet import enrol, signing
from mqtt.fleet.enrol_kiosk import EnrolFailed, Place, enrol as enrol_kiosk
from mqtt.fleet.protocol import Expired


def test_fresh_kiosk_enrols_and_logs_in_with_the_tokens_credential(make_token, place, desk, operator,
                                                                  fleet_broker) -> None:
    here: Place = place("k1")
    here.config_file.parent.mkdir()
    here.config_file.write_text('[ui]\nstore_name = "鲜果超市"\n[devices.scanner]\ntype = "sim"\n')
    token = enrol_kiosk(make_token(), here)
    assert (token.store, token.kiosk) == ("shop1", "shop1-k1")
    cfg = config.load(environ={}, files=[here.config_file])
    assert (cfg["kiosk.id"], cfg["kiosk.store_id"], cfg["sync.broker"]) == ("shop1-k1", "shop1", fleet_broker.url)
    assert cfg["ui.store_name"] == "鲜果超市" and cfg["devices"] == {"scanner": {"type": "sim"}}  # kept
    keys = here.key_dir
    assert (keys / PASSWORD_FILE).read_text().strip() == fleet_broker.password("shop1-k1")
    assert signing.load_public(keys).public_bytes_raw() == operator.public_key().public_bytes_raw()
    assert (keys / "pii.key").read_bytes() == bytes(range(32))
    assert cfg["sync.ca_file"] == keys / "ca.crt" and (keys / "ca.crt").read_text() == fleet_broker.pki.ca_file.read_text()
    for name in (PASSWORD_FILE, "pii.key", "ca.crt", "operator.pub"):
        assert (keys / name).stat().st_mode & 0o007 == 0, name  # nothing for others
    conn = Connection(Settings(url=cfg["sync.broker"], client_id="shop1-k1-check", username=cfg["kiosk.id"],
                               password=(keys / PASSWORD_FILE).read_text().strip(), ca_file=cfg["sync.ca_file"]))
    conn.connect(5.0)
    conn.close()


def test_a_token_is_good_once(make_token, place, desk) -> None:
    text = make_token(kiosk="shop1-k2")
    first, second = place("first"), place("second")
    enrol_kiosk(text, first)
    with pytest.raises(enrol.Reused, match="already enrolled with this token"):
        enrol_kiosk(text, first)  # this kiosk remembers it
    with pytest.raises(enrol.Reused) as refused:
        enrol_kiosk(text, second)  # head office remembers it for every other machine
    assert "already used by a machine enrolled as shop1-k2 of shop1" in refused.value.reason
    assert not second.config_file.exists() and not (second.key_dir / PASSWORD_FILE).exists()


def test_asking_again_after_a_lost_answer_is_no_reuse(make_token, place, desk) -> None:
    text, here = make_token(kiosk="shop2-k1", store="shop2"), place("again")
    enrol_kiosk(text, here)
    here.config_file.unlink()  # as if the power went before the identity was written
    (here.key_dir / "enrolment.toml").unlink()
    assert enrol_kiosk(text, here).kiosk == "shop2-k1"
    assert tomllib.loads(here.config_file.read_text())["kiosk"]["id"] == "shop2-k1"


def test_head_offices_clock_refuses_an_expired_token_a_slow_kiosk_clock_accepts(make_token, place, desk) -> None:
    behind = int(time.time() * 1000) - 3_600_000  # a fresh kiosk without a real-time clock
    text = make_token(now=behind, ttl=600)
    with pytest.raises(Expired, match=r"valid until .* \(head office's clock\)"):
        enrol_kiosk(text, place("slow"), now=lambda: behind)


def test_a_credential_the_broker_refuses_is_said_so(make_token, place, desk) -> None:
    text = make_token(password=base64.b64encode(b"not the password").decode())
    with pytest.raises(EnrolFailed, match="broker refused the token's login"):
        enrol_kiosk(text, place("badpw"))


def test_no_answer_from_head_office_is_said_so(make_token, place, tmp_path: Path) -> None:
    with pytest.raises(EnrolFailed, match="did not answer within 0.5 s"):
        enrol_kiosk(make_token(), place("alone"), timeout=0.5)
