"""Fleet management end to end through the installed command, on the broker `fleet broker-config` wrote: `hub serve`,
two kiosks of two stores with `sync run`, `fleet status`, a signed rules push to all that the next sale follows, and
a kiosk whose process is killed shown offline."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import _console_script
from tests.e2e.conftest import PIN, HubCli, KioskCli, wait_for
from tests.fleet.conftest import FleetBroker
from tests.pricing.conftest import DEMO

PASSPHRASE = "operator pass phrase"
RULES = (DEMO / "rules.toml").read_text(encoding="utf-8")
MILK_X5 = RULES.replace('"MILK-1L" = 2', '"MILK-1L" = 5')  # five times the points on milk instead of two


def fleet(hub: HubCli, *args: str, rc: int = 0) -> dict | list:
    """`memberkiosk fleet ... --json` against the hub's database, as the operator."""
    env = {**os.environ, "MEMBERKIOSK_OPERATOR_PASSPHRASE": PASSPHRASE}
    proc = subprocess.run([_console_script(), "fleet", *args, "--db", hub.db, "--json"], env=env, capture_output=True,
                          text=True, timeout=90)
    assert proc.returncode == rc, f"fleet {args[:2]}: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout)


def online(hub: HubCli) -> dict[str, dict]:
    return {k["kiosk"]: k for k in fleet(hub, "status") if k["online"]}


@pytest.mark.timeout(240)
def test_status_push_and_a_killed_kiosk_through_the_fleet_commands(fleet_broker: FleetBroker, tmp_path: Path) -> None:
    operator = tmp_path / "operator"
    subprocess.run([_console_script(), "fleet", "keys", "init", "--dir", str(operator)], check=True, timeout=60,
                   capture_output=True, env={**os.environ, "MEMBERKIOSK_OPERATOR_PASSPHRASE": PASSPHRASE})
    hub = HubCli(tmp_path, fleet_broker, f"sqlite:///{tmp_path}/hub.sqlite", fleet_broker.password("hub"))
    hub.serve()
    settings = tmp_path / "kiosk.toml"
    settings.write_text("[fleet]\ntelemetry_seconds = 1\n")
    a, b = (KioskCli(tmp_path, k, fleet_broker, fleet_broker.password(k)) for k in ("shop1-k1", "shop2-k1"))
    for k in (a, b):
        k.env["MEMBERKIOSK_CONFIG"] = str(settings)
        shutil.copy(operator / "operator.pub", k.keys / "operator.pub")  # as enrolment leaves it
        k("catalog", "load", str(DEMO / "catalog.csv"))
        k.start_sync()
    a("staff", "add", "M01", "店长 陈", "--role", "manager", input=PIN)
    member = a.json("members", "add", "--phone", "13800138000", "--consent")["member_id"]
    try:
        kiosks = wait_for("both kiosks online with their telemetry in fleet status",
                          lambda: (o := online(hub)).keys() == {"shop1-k1", "shop2-k1"}
                          and all(k["disk_free"] for k in o.values()) and o)
        assert kiosks["shop2-k1"]["store"] == "shop2" and kiosks["shop1-k1"]["version"]
        send = ["--broker", fleet_broker.url, "--ca-file", str(fleet_broker.pki.ca_file), "--password-file",
                str(fleet_broker.dir / "credentials" / "operator.password"), "--key-dir", str(operator)]
        rules = tmp_path / "rules.toml"
        earned = []
        for text in (RULES, MILK_X5):
            rules.write_text(text, encoding="utf-8")
            pushed = fleet(hub, "push-config", str(rules), "--kind", "rules", "--to", "all", *send)
            assert sorted((o["kiosk"], o["ok"]) for o in pushed["outcomes"]) == [("shop1-k1", True), ("shop2-k1", True)]
            sale = a.json("checkout", "--member", member, "--sku", "MILK-1L:1", "--staff", "M01", input=PIN)
            earned.append(sale["totals"]["earned"])  # the next sale follows the push
        assert earned[1] > earned[0] > 0
        wait_for("both kiosks reporting the second config version",
                 lambda: len({k["config_version"] for k in online(hub).values()}) == 1
                 and min(k["config_version"] for k in online(hub).values()) > 0)
        a.agent.kill()  # power cut: the broker publishes the kiosk's last will
        wait_for("the killed kiosk shown offline", lambda: online(hub).keys() == {"shop2-k1"}, timeout=20)
        assert b.stop_sync() == 0
    finally:
        for k in (a, b):
            if k.agent is not None and k.agent.proc.poll() is None:
                k.stop_sync()
        hub.server.stop()
