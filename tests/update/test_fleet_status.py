"""The updater's last outcome reaches `fleet status`: two appliances run `update apply` for real (one bundle installed,
one rolled back because its version fails verify, one refused as forged); each kiosk starts on its appliance with its fleet agent, whose
telemetry the hub's fleet worker records (on SQLite and on PostgreSQL), and `fleet status` shows it in its UPDATE
column and in --json."""
from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.cli import main
from mqtt.fleet.update_fetch import OUTCOME_FILE, Stager
from tests.fleet.conftest import fleet_broker  # noqa: F401
from tests.fleet.hub.conftest import fleet_service  # noqa: F401
from tests.fleet.kiosk.conftest import broker, fleet_kiosk, operator, wait  # noqa: F401
from tests.hub.conftest import postgres, store, store_url  # noqa: F401
from tests.update.conftest import Site


def test_the_last_update_outcome_of_each_kiosk_shows_in_fleet_status(
        tmp_path, fleet_kiosk, operator_key, fleet_service, store, store_url, make_bundle, capsys) -> None:  # noqa: F811
    applied = {}
    forged = make_bundle("2.0", key=Ed25519PrivateKey.generate())
    for kiosk_id, bundle in (("shop1-k1", make_bundle("2.0")), ("shop1-k2", make_bundle("2.0", verify_exit=3)),
                             ("shop2-k1", forged)):
        site = Site(tmp_path / f"{kiosk_id}-appliance", operator_key)
        site.stage(bundle)
        [applied[kiosk_id]] = site.updater.apply()  # the root updater; then the kiosk starts on what runs
        fleet_kiosk(kiosk_id, updates=Stager(tmp_path / kiosk_id, site.root, operator_key.public_key(),
                                             lambda: "1.0", 1 << 24, 10.0))
    assert [o["state"] for o in applied.values()] == ["installed", "rolled back", "refused"]

    wait(lambda: all((k := store.fleet_kiosk(kiosk_id)) and (k.telemetry or {}).get("update") for kiosk_id in applied),
         timeout=10)
    assert main(["fleet", "status", "--db", store_url, "--json"]) == 0
    shown = {k["kiosk"]: k["update"] for k in json.loads(capsys.readouterr().out)}
    assert shown == {kiosk_id: {key: o[key] for key in ("version", "from_version", "state", "reason", "at")}
                     for kiosk_id, o in applied.items()}
    assert shown["shop1-k2"]["reason"] == "rolled back: version 2.0 failed verify (exit 3)"

    assert main(["fleet", "status", "--db", store_url]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    column = header.index("UPDATE")
    cells = {row.split()[1]: row[column:column + 20] for row in rows}
    assert cells["shop1-k1"].startswith("2.0 ok ") and cells["shop1-k2"].startswith("2.0 rolled back ")
    assert cells["shop2-k1"].startswith("? refused: forged ")  # a forged bundle is not read: its version is unknown


def test_a_malformed_outcome_record_is_not_sent(tmp_path) -> None:
    """A record the hub would refuse would cost the kiosk all its telemetry: it is left out instead."""
    root = tmp_path / "opt"
    root.mkdir()
    stager = Stager(tmp_path / "data", root, Ed25519PrivateKey.generate().public_key(), lambda: "1.0", 1 << 24, 10.0)
    (root / OUTCOME_FILE).write_text(json.dumps({"version": "2.0", "state": 5, "at": 1}))
    assert stager.last_outcome() is None
    (root / OUTCOME_FILE).write_text(json.dumps({"version": "2.0", "from_version": "1.0", "state": "installed",
                                                 "reason": None, "at": 1}))
    assert stager.last_outcome() == {"version": "2.0", "from_version": "1.0", "state": "installed", "reason": None,
                                     "at": 1}
