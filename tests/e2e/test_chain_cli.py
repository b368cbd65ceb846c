"""The chain end to end through the installed command, as the README shows it: `hub serve`, two kiosks of two stores
with `sync run`, register at one, find and spend at the other, `sync status`, `hub reconcile`."""
from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import PIN, KioskCli, wait_for
from tests.pricing.conftest import DEMO

MEMBER_PIN = "123456\n"
MANAGER = ("--staff", "M01")
PHONE = "13800138000"


def stored_value(kiosk: KioskCli, phone: str) -> int | None:
    """The stored value (fen) of the member holding `phone` at a kiosk; None while the kiosk does not know them."""
    proc = kiosk("members", "find", "--phone", phone, "--json", rc=None)
    return json.loads(proc.stdout)["stored_value_fen"] if proc.returncode == 0 else None


@pytest.mark.timeout(240)
def test_register_at_one_store_find_and_spend_at_another(chain) -> None:
    hub, a, b = chain("hub"), chain("shop1-k1"), chain("shop2-k1")
    hub.serve()
    for kiosk in (a, b):
        kiosk("staff", "add", "M01", "店长 陈", "--role", "manager", input=PIN)
        kiosk.start_sync()
    # register and top up ¥100 at A, in store shop1
    member = a.json("members", "add", "--phone", PHONE, "--name", "张三", "--card", "04A1B2C3", "--consent",
                    "--pin", MEMBER_PIN.strip())["member_id"]
    a("topup", member, "100", *MANAGER, input=PIN)
    # head office finds the member by phone, with ¥100
    wait_for("the hub to find the phone", lambda: hub.json("members", "find", "--phone", PHONE))
    assert hub.json("members", "find", "--phone", PHONE)[0]["member_id"] == member
    wait_for("the hub to hold ¥100", lambda: hub.json("balances", member)["stored_value"] == 10_000)
    # B, in store shop2, finds the member with ¥100 and gets its store's rules and catalog from head office
    wait_for("B to learn the member and the balance", lambda: stored_value(b, PHONE) == 10_000)
    hub.publish("shop2", "rules", "toml", DEMO / "rules.toml")
    hub.publish("shop2", "catalog", "csv", DEMO / "catalog.csv")

    def spend_at_b() -> dict | None:
        """¥30 of stored value at B (four bags of chips at ¥7.50), once B has the catalog; beyond B's allowance,
        so the checkout asks head office."""
        proc = b("checkout", "--member", member, "--sku", "CHIPS:4", "--stored-value", *MANAGER, "--json", rc=None,
                 input=PIN + MEMBER_PIN)
        return json.loads(proc.stdout) if proc.returncode == 0 else None

    sale = wait_for("B's checkout once its catalog arrived", spend_at_b)
    assert sale["totals"]["stored_value"] == 3_000
    # everything acknowledged: both kiosks, the hub and A agree on ¥70
    for kiosk in (a, b):
        wait_for(f"{kiosk.id} to have nothing unacked", lambda k=kiosk: k.json("sync", "status")["unacked"] == 0)
        status = kiosk.json("sync", "status")
        assert status["connected"] is True and status["acked_seq"] >= 1 and status["last_ack_at"]
    wait_for("the hub to hold ¥70", lambda: hub.json("balances", member)["stored_value"] == 7_000)
    wait_for("A to learn B's sale", lambda: stored_value(a, PHONE) == 7_000)
    assert hub.json("reconcile") == []
    kiosks = {k["kiosk_id"]: k for k in hub.json("kiosks")}
    assert set(kiosks) == {"shop1-k1", "shop2-k1"} and all(k["backlog"] == 0 for k in kiosks.values())
    assert kiosks["shop2-k1"]["store_id"] == "shop2"
    for kiosk in (a, b):
        assert kiosk.stop_sync() == 0
    assert hub.server.stop() == 0
