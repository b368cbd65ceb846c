"""The operator's CLI against the fleet broker and a hub on SQLite: `fleet keys init`, `fleet push-config` and
`fleet command` to a store or one kiosk, received by those kiosks only, their outcomes shown as they arrive."""
from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Callable

import pytest
from cryptography.hazmat.primitives import serialization

from mqtt.fleet import signing
from mqtt.hub.fleet import FleetService
from mqtt.hub.store import HubStore
from tests.fleet.conftest import FleetBroker
from tests.fleet.hub.peers import Peer
from tests.fleet.hub.test_fleet_service import wait_for
from tests.mqtt.broker import KIOSKS

PASSPHRASE = "correct horse battery"
sqlite_only = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def raw(key) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_keys_init_writes_an_encrypted_private_key_and_the_public_key(cli, tmp_path: Path) -> None:
    keys = tmp_path / "operator"
    out = cli("fleet", "keys", "init", "--dir", str(keys), "--json", input=PASSPHRASE + "\n").json()
    private = keys / signing.PRIVATE_FILE
    assert "ENCRYPTED PRIVATE KEY" in private.read_text() and stat.S_IMODE(private.stat().st_mode) == 0o600
    public = signing.load_public(keys)
    assert out["sha256"] == signing.fingerprint(public)
    assert raw(signing.load_private(keys, PASSPHRASE.encode()).public_key()) == raw(public)
    with pytest.raises(signing.KeyFileError, match="wrong passphrase"):
        signing.load_private(keys, b"not the passphrase")
    again = cli("fleet", "keys", "init", "--dir", str(keys), input="another passphrase\n", check_rc=2)
    assert "exists" in again.stderr and signing.load_public(keys) == public


@pytest.fixture
def operator_keys(tmp_path: Path) -> Path:
    keys = tmp_path / "operator"
    signing.init_keys(keys, PASSPHRASE.encode())
    return keys


@pytest.fixture
def chain(store: HubStore, fleet_service: FleetService, peer, operator_keys: Path) -> dict[str, Peer]:
    """Every kiosk connected and checking signatures, and the hub knowing them all online."""
    public = signing.load_public(operator_keys)
    peers = {k: peer(k, operator=public) for k in KIOSKS}
    wait_for(lambda: sum(k.online for k in store.fleet_kiosks()) == len(KIOSKS))
    return peers


def send_args(fleet_broker: FleetBroker, store_url: str, keys: Path) -> list[str]:
    return ["--broker", fleet_broker.url, "--ca-file", str(fleet_broker.pki.ca_file), "--password-file",
            str(fleet_broker.dir / "credentials" / "operator.password"), "--db", store_url, "--key-dir", str(keys),
            "--timeout", "10"]


@sqlite_only
def test_push_config_to_a_store_reaches_its_kiosks_only_and_shows_their_outcomes(
        chain: dict[str, Peer], store: HubStore, cli: Callable, fleet_broker: FleetBroker, store_url: str,
        operator_keys: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[earn]\nper_yuan = 2\n")
    push = ["fleet", "push-config", str(rules), "--kind", "rules", "--to", "store:shop1",
            *send_args(fleet_broker, store_url, operator_keys)]
    refused = cli(*push, input="not the passphrase\n", check_rc=2)
    assert "wrong passphrase" in refused.stderr

    proc = cli(*push, "--json", input=PASSPHRASE + "\n")
    out = proc.json()
    assert sorted((o["kiosk"], o["ok"], o["name"]) for o in out["outcomes"]) == [
        ("shop1-k1", True, "rules"), ("shop1-k2", True, "rules")]
    assert (out["target"], out["missing"], out["offline"]) == ("store:shop1", [], [])
    assert "waiting for 2 online kiosk(s)" in proc.stderr  # progress as it happens, beside the JSON document
    assert "shop1/shop1-k1: ok" in proc.stderr and "shop1/shop1-k2: ok" in proc.stderr
    for kiosk in ("shop1-k1", "shop1-k2"):
        [doc] = [d for d in chain[kiosk].received if d["id"] == out["id"]]
        assert (doc["kind"], doc["body"], doc["target"]) == ("rules", rules.read_text(), "store:shop1")
    assert not [d for d in chain["shop2-k1"].received if d["id"] == out["id"]]
    wait_for(lambda: len(store.fleet_outcomes(outcome_id=out["id"])) == 2)  # the hub recorded them too


@sqlite_only
def test_a_command_to_one_kiosk_is_resolved_through_the_hub_and_runs_there_only(
        chain: dict[str, Peer], cli: Callable, fleet_broker: FleetBroker, store_url: str, operator_keys: Path) -> None:
    args = send_args(fleet_broker, store_url, operator_keys)
    proc = cli("fleet", "command", "lock", "--args", json.dumps({"reason": "stocktaking"}), "--to", "kiosk:shop2-k1",
               *args, input=PASSPHRASE + "\n")
    assert "shop2/shop2-k1: ok" in proc.stdout
    [doc] = [d for d in chain["shop2-k1"].received if d["type"] == "command"]
    assert (doc["cmd"], doc["args"], doc["target"]) == ("lock", {"reason": "stocktaking"}, "kiosk:shop2/shop2-k1")
    assert not [d for k in ("shop1-k1", "shop1-k2") for d in chain[k].received if d["type"] == "command"]

    unknown = cli("fleet", "command", "sync_now", "--to", "kiosk:nowhere-k9", *args, input=PASSPHRASE + "\n",
                  check_rc=2)
    assert "never heard of that kiosk" in unknown.stderr
