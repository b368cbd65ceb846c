"""The hub's fleet worker on SQLite and PostgreSQL: status, telemetry and outcomes land in the fleet tables, a
kiosk's retained will makes it offline, and `fleet status --json` shows it all."""
from __future__ import annotations

import uuid

import pytest

from core.codec import dumps
from kiosk.cli import fleet as fleet_cli
from mqtt.fleet import protocol
from mqtt.hub import fleetdb
from mqtt.hub.fleet import FleetService, parse_report
from mqtt.hub.fleetdb import OUTCOME, STATUS, TELEMETRY, Report
from mqtt.hub.store import HubStore
from mqtt.topics import BadTopic
from tests.conftest import wait_until
from tests.fleet.hub.peers import VERSION, telemetry

T0 = 1_795_000_000_000


wait_for = wait_until


def test_status_telemetry_and_outcomes_land_and_a_will_turns_a_kiosk_offline(
        store: HubStore, fleet_service: FleetService, peer, cli, store_url: str) -> None:
    k1, k2 = peer("shop1-k1"), peer("shop2-k1")
    k1.send("telemetry", telemetry(unacked=7, config_version=42, locked="stocktaking",
                                   devices={"reader": "ok", "printer": "paper_out"}))
    done = protocol.outcome("config", "rules", True, T0, item_id=str(uuid.uuid4()), version=42)
    k1.send("outcome", done)
    k1.send("outcome", done)  # reported again (a duplicate delivery): one row
    refused = protocol.outcome("command", None, False, T0, reason="forged: the signature does not verify")
    k2.send("outcome", refused)

    wait_for(lambda: len(store.fleet_outcomes()) == 2 and store.fleet_kiosk("shop1-k1").telemetry)
    first, second = store.fleet_kiosk("shop1-k1"), store.fleet_kiosk("shop2-k1")  # (and any retained by others)
    assert (first.store, first.kiosk, first.online, first.version, first.config_version, first.unacked) == (
        "shop1", "shop1-k1", True, VERSION, 42, 7)
    assert first.devices == {"reader": "ok", "printer": "paper_out"} and first.telemetry["locked"] == "stocktaking"
    assert (second.kiosk, second.online, second.telemetry) == ("shop2-k1", True, None)
    assert [s.body["unacked"] for s in store.fleet_history("shop1-k1")] == [7]
    [mine] = store.fleet_outcomes("shop1-k1")
    assert (mine.id, mine.type, mine.name, mine.ok, mine.version) == (done["id"], "config", "rules", True, 42)
    [theirs] = store.fleet_outcomes("shop2-k1")
    assert (theirs.id, theirs.ok, theirs.reason) == (None, False, refused["reason"])
    assert fleet_service.recorded[OUTCOME] == 3 and not fleet_service.dropped

    k2.vanish()
    wait_for(lambda: not store.fleet_kiosk("shop2-k1").online)
    shown = cli("fleet", "status", "--json", "--db", store_url).json()
    assert {frozenset(row) for row in shown} == {frozenset(("store", "kiosk", "online", "version", "config_version",
                                                            "unacked", "last_seen", "devices", "disk_free",
                                                            "verify", "update"))}
    rows = {row["kiosk"]: (row["online"], row["unacked"], row["disk_free"]) for row in shown}
    assert (rows["shop1-k1"], rows["shop2-k1"]) == ((True, 7, 8 * 2**30), (False, None, None))
    text = fleet_cli._table(store.fleet_kiosks())  # the text table, without another process
    assert "OFFLINE" in text and "online LOCKED" in text and "printer paper_out" in text


def test_history_is_bounded_and_a_retained_state_keeps_the_latest_last_seen(hub: HubStore,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fleetdb, "HISTORY", 3)
    hub.fleet_record([Report(TELEMETRY, "shop1", "shop1-k1", T0 + i, telemetry(uptime_s=i)) for i in range(5)])
    assert [s.body["uptime_s"] for s in hub.fleet_history("shop1-k1")] == [4, 3, 2]
    will = {"state": "offline", "version": VERSION, "store": "shop1", "kiosk": "shop1-k1", "config_version": 3,
            "ts": T0 - 1000}  # the will was set at connect time, before the telemetry
    hub.fleet_record([Report(STATUS, "shop1", "shop1-k1", T0 - 1000, will)])
    k = hub.fleet_kiosk("shop1-k1")
    assert (k.online, k.config_version, k.last_seen) == (False, 3, T0 + 4)


@pytest.mark.parametrize("topic, payload, error", [
    ("mk/v1/shop1/shop1-k1/status", {"state": "online", "version": "1", "store": "shop1", "kiosk": "shop1-k2",
                                     "config_version": 0, "ts": T0}, "shop1-k2 on the topic of shop1/shop1-k1"),
    ("mk/v1/shop1/shop1-k1/status", {"state": "asleep"}, "lacks"),
    ("mk/v1/shop1/shop1-k1/up/telemetry", {**telemetry(), "devices": {"reader": "on fire"}}, "devices"),
    ("mk/v1/shop1/shop1-k1/up/outcome", b"not json", "not JSON"),
])
def test_malformed_reports_are_refused_with_a_reason(topic: str, payload: object, error: str) -> None:
    data = payload if isinstance(payload, bytes) else dumps(payload).encode()
    with pytest.raises(protocol.Malformed, match=error):
        parse_report(topic, data, T0)


def test_reports_only_come_from_status_telemetry_and_outcome_topics() -> None:
    with pytest.raises(BadTopic):
        parse_report("mk/v1/shop1/shop1-k1/up/events", b"{}", T0)
    report = parse_report("mk/v1/shop1/shop1-k1/status", protocol.state_payload("online", "1", "shop1", "shop1-k1", 5,
                                                                                 T0 + 10), T0)
    assert (report.kind, report.store, report.kiosk, report.at) == (STATUS, "shop1", "shop1-k1", T0)  # clock capped
