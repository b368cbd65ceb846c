"""The kiosk's fleet agent against a real broker: signed configs applied once and whole, commands run once, and
every forged, old, replayed, malformed, misaddressed or expired message refused with its reason in an outcome."""
from __future__ import annotations

import queue

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.errors import KioskLocked
from core.quote_input import BasketLine, TenderRequest
from kiosk.services.members import Registration
from mqtt import topics
from mqtt.fleet import protocol
from tests.fleet.kiosk.conftest import dumps, wait
from tests.pricing.conftest import DEMO

RULES = (DEMO / "rules.toml").read_text(encoding="utf-8")
MILK_X5 = RULES.replace('"MILK-1L" = 2', '"MILK-1L" = 5')  # five times the points on milk instead of two
K1_TOPIC = protocol.config_topic(protocol.Target.parse("kiosk:shop1/shop1-k1"), "rules")


def sell_milk(k, member_id: str) -> int:
    """Points a member earns on one milk at `k` (a committed sale)."""
    sale = k.sales.checkout(member_id, [BasketLine("MILK-1L", 1)], tender=TenderRequest(cash=2000))
    return sale.quote.total("earned")


def test_a_signed_rules_config_is_applied_and_the_next_sale_earns_by_it(fleet_kiosk, operator) -> None:
    k, _ = fleet_kiosk()
    member = k.members.register(Registration(phone="13800138000", consent=True, name="张三")).member.member_id
    before = sell_milk(k, member)
    doc = operator.config("rules", MILK_X5, version=1000)
    got = operator.outcome(lambda o: o["id"] == doc["id"])
    assert (got["ok"], got["type"], got["name"], got["version"], got["reason"]) == (True, "config", "rules", 1000, None)
    after = sell_milk(k, member)  # ¥12.80 of milk on a member day (×2): 12.8 × 2 × 2, then 12.8 × 5 × 2
    assert (before, after) == (51, 128)
    assert k.fleet.applied("rules") == (1000, doc["id"])
    wait(lambda: operator.status["shop1-k1"]["config_version"] == 1000)  # the retained state says so too
    wait(lambda: not k.fleet.unsent())  # the broker took the outcome: nothing is kept


def test_forged_old_replayed_malformed_and_misaddressed_configs_are_refused_with_their_reason(
        fleet_kiosk, operator) -> None:
    k, _ = fleet_kiosk()
    applied = operator.config("rules", MILK_X5, version=2000)
    assert operator.outcome(lambda o: o["id"] == applied["id"])["ok"]

    def refused(doc, **send) -> str:
        operator.send(send.pop("topic", K1_TOPIC), doc, **send)
        got = operator.outcome()
        assert got["ok"] is False and got["type"] == "config"
        return got["reason"]

    stranger = Ed25519PrivateKey.generate()
    newer = protocol.new_config("rules", 3000, protocol.Target.parse("kiosk:shop1/shop1-k1"), "toml", RULES, 3000)
    assert refused(newer, key=stranger).startswith("forged:")
    older = protocol.new_config("rules", 1500, protocol.Target.parse("kiosk:shop1/shop1-k1"), "toml", RULES, 1500)
    assert refused(older).startswith("stale:")
    assert refused(applied).startswith("stale:")  # the same signed config again, live: a replay
    assert refused(newer, raw=b"{not json").startswith("malformed:")
    bad_body = protocol.new_config("rules", 3000, protocol.Target.parse("kiosk:shop1/shop1-k1"), "toml",
                                   "[earning]\npoints_per_yuan = 'lots'\n", 3000)
    assert refused(bad_body).startswith("malformed: the rules config does not parse")
    for_k2 = protocol.new_config("rules", 3000, protocol.Target.parse("kiosk:shop1/shop1-k2"), "toml", RULES, 3000)
    assert refused(for_k2).startswith("misaddressed: signed for kiosk:shop1/shop1-k2")  # re-published on k1's topic
    for_all = protocol.new_config("rules", 3000, protocol.Target.parse("all"), "toml", RULES, 3000)
    assert refused(for_all).startswith("misaddressed:")
    assert refused(newer, raw=dumps({"signed": {"type": "config"}})).startswith("malformed:")
    assert k.fleet.applied("rules") == (2000, applied["id"])  # nothing refused changed anything


def test_a_store_wide_config_reaches_the_kiosk_and_its_retained_copy_is_not_reported_again(
        fleet_kiosk, operator) -> None:
    doc = operator.config("settings", '{"store_name": "鲜果超市"}', version=4000, to="store:shop1", fmt="json")
    k, _ = fleet_kiosk()  # connects after the push: the broker hands it the retained config
    got = operator.outcome(lambda o: o["id"] == doc["id"])
    assert got["ok"] and got["result"] == {"takes_effect": "restart"}
    assert k.docs.table("settings").all() == [{"store_name": "鲜果超市"}]
    cmd = operator.command("reload_config", k.clock.now_ms())
    got = operator.outcome(lambda o: o["id"] == cmd["id"])
    assert got["ok"] and got["result"] == {"config_version": 4000}
    with pytest.raises(queue.Empty):  # the retained config sent again is not newer: skipped without an outcome
        operator.outcome(lambda o: o["id"] == doc["id"], timeout=0.5)


def test_a_command_delivered_twice_runs_once_and_is_reported_twice(fleet_kiosk, operator) -> None:
    printed: list[int] = []
    k, _ = fleet_kiosk(print_test=lambda: printed.append(1))
    doc = operator.command("print_test", k.clock.now_ms())
    first = operator.outcome(lambda o: o["id"] == doc["id"])
    operator.send(protocol.command_topic(protocol.Target.parse("kiosk:shop1/shop1-k1")), doc)
    second = operator.outcome(lambda o: o["id"] == doc["id"])
    assert first == second and first["ok"]
    assert printed == [1]


def test_lock_refuses_every_sale_with_its_reason_and_unlock_sells_again(fleet_kiosk, operator) -> None:
    k, _ = fleet_kiosk()
    lock = operator.command("lock", k.clock.now_ms(), to="store:shop1", args={"reason": "盘点中 stock take"})
    assert operator.outcome(lambda o: o["id"] == lock["id"])["result"] == {"locked": "盘点中 stock take"}
    assert k.fleet.locked() == "盘点中 stock take"
    with pytest.raises(KioskLocked, match="盘点中 stock take"):
        k.sales.checkout(None, [BasketLine("TEA-500", 1)], tender=TenderRequest(cash=500))
    telemetry = operator.telemetry.get(timeout=5)
    while telemetry[1]["locked"] is None:  # sent at once on the change, not at the next interval
        telemetry = operator.telemetry.get(timeout=5)
    unlock = operator.command("unlock", k.clock.now_ms(), to="all")
    assert operator.outcome(lambda o: o["id"] == unlock["id"])["ok"]
    assert k.fleet.locked() is None
    k.sales.checkout(None, [BasketLine("TEA-500", 1)], tender=TenderRequest(cash=500))


def test_refused_commands_carry_their_reason_and_logs_returns_the_last_lines(fleet_kiosk, operator) -> None:
    k, _ = fleet_kiosk()
    now = k.clock.now_ms()
    cmd_topic = protocol.command_topic(protocol.Target.parse("kiosk:shop1/shop1-k1"))

    def refused(doc, **send) -> dict:
        operator.send(send.pop("topic", cmd_topic), doc, **send)
        got = operator.outcome(lambda o: o["type"] == "command")  # (a retained config of another test may answer too)
        assert got["ok"] is False
        return got

    expired = protocol.new_command("sync_now", protocol.Target.parse("kiosk:shop1/shop1-k1"), now - 2000, now - 1000)
    got = refused(expired)
    assert got["reason"].startswith("expired:") and got["id"] == expired["id"]
    fresh = protocol.new_command("unlock", protocol.Target.parse("kiosk:shop1/shop1-k1"), now, now + 60_000)
    assert refused(fresh, key=Ed25519PrivateKey.generate())["reason"].startswith("forged:")
    assert refused(fresh, raw=b"\xff\xfe").get("id") is None
    for_k2 = protocol.new_command("unlock", protocol.Target.parse("kiosk:shop1/shop1-k2"), now, now + 60_000)
    assert refused(for_k2)["reason"].startswith("misaddressed:")
    unsigned = dumps({"signed": {**fresh, "cmd": "reboot"}, "sig": "AAAA"})
    assert refused(fresh, raw=unsigned)["reason"].startswith("forged:")
    assert k.fleet.executed(fresh["id"]) is None  # none of them ran
    logs = operator.command("logs", now, args={"lines": 3})
    got = operator.outcome(lambda o: o["id"] == logs["id"])
    assert got["ok"] and len(got["result"]["lines"]) == 3  # this process's last log lines: the refusals above
    assert "refused a command" in got["result"]["lines"][-1] and "forged" in got["result"]["lines"][-1]


def test_topics_of_the_fleet_round_trip() -> None:
    assert topics.parse(K1_TOPIC) == topics.Route("down", "config", "shop1", "shop1-k1", "rules")
    assert protocol.Target.of_route(topics.parse(topics.command())) == protocol.Target("all")
    assert protocol.kiosk_filters("shop1", "shop1-k1")[-1] == "mk/v1/fleet/down/command"
