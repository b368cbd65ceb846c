"""`fleet broker-config` output under a real mosquitto: each kiosk writes only under its own id and store, and reads
only its own, its store's and fleet-wide down topics; running it again keeps the CA and the issued passwords."""
from __future__ import annotations

import queue
from pathlib import Path

import pytest

from mqtt import topics
from mqtt.connection import NOT_AUTHORIZED, Connection, NotAuthorized
from mqtt.fleet import broker_config
from mqtt.fleet.protocol import Target, command_topic, config_topic
from tests.fleet.conftest import FleetBroker


def test_a_kiosk_writes_only_its_own_up_topics_and_status(fleet_broker: FleetBroker) -> None:
    conn = Connection(fleet_broker.settings("shop1-k1"))
    conn.connect(5)
    try:
        conn.publish(topics.up("shop1", "shop1-k1", "telemetry"), b"{}").wait(5)
        conn.publish(topics.status("shop1", "shop1-k1"), b"{}").wait(5)
        for topic in (topics.up("shop1", "shop1-k2", "telemetry"),  # another kiosk
                      topics.up("shop2", "shop1-k1", "outcome"),  # its own id under another store
                      topics.status("shop1", "shop1-k2"),
                      config_topic(Target("store", "shop1"), "rules"),  # a down topic
                      command_topic(Target("all"))):
            with pytest.raises(NotAuthorized) as refused:
                conn.publish(topic, b"{}").wait(5)
            assert refused.value.code == NOT_AUTHORIZED, topic
    finally:
        conn.close()


def test_a_kiosk_reads_its_own_its_stores_and_fleet_wide_down_topics_only(fleet_broker: FleetBroker) -> None:
    got: queue.Queue[str] = queue.Queue()
    kiosk, hub = Connection(fleet_broker.settings("shop1-k1")), Connection(fleet_broker.settings("hub"))
    kiosk.connect(5)
    hub.connect(5)
    try:
        kiosk.subscribe(f"{topics.ROOT}/+/+/down/#", lambda m: got.put(m.topic))
        kiosk.subscribe(f"{topics.ROOT}/+/down/#", lambda m: got.put(m.topic))
        mine = [config_topic(Target("kiosk", "shop1", "shop1-k1"), "rules"),
                config_topic(Target("store", "shop1"), "prices"), command_topic(Target("all")),
                command_topic(Target("store", "shop1"))]
        others = [config_topic(Target("kiosk", "shop1", "shop1-k2"), "rules"), command_topic(Target("store", "shop2")),
                  topics.down("shop2", "shop2-k1", "acks")]
        for topic in others + mine:  # one publisher: delivered in this order, so mine come after the others
            hub.publish(topic, b"x").wait(5)
        received = [got.get(timeout=5) for _ in mine]
        assert sorted(received) == sorted(mine)
        with pytest.raises(queue.Empty):
            got.get(timeout=0.2)
    finally:
        kiosk.close()
        hub.close()


def test_the_operator_pushes_down_and_reads_outcomes_but_never_writes_up(fleet_broker: FleetBroker) -> None:
    conn = Connection(fleet_broker.settings("operator"))
    conn.connect(5)
    try:
        conn.publish(config_topic(Target("all"), "rules"), b"x").wait(5)
        conn.publish(command_topic(Target("kiosk", "shop2", "shop2-k1")), b"x").wait(5)
        with pytest.raises(NotAuthorized):
            conn.publish(topics.up("shop1", "shop1-k1", "outcome"), b"{}").wait(5)
    finally:
        conn.close()


def test_writing_again_keeps_the_ca_and_passwords_and_adds_kiosks(tmp_path: Path) -> None:
    first = broker_config.write(tmp_path, broker_config.parse_kiosks("shop1:shop1-k1"), port=18883, bind="127.0.0.1")
    ca, password = first.ca_file.read_bytes(), (first.credentials / "shop1-k1.password").read_text()
    second = broker_config.write(tmp_path, broker_config.parse_kiosks("shop2:shop2-k1"), port=18883)
    assert second.kiosks == (("shop1", "shop1-k1"), ("shop2", "shop2-k1"))
    assert second.ca_file.read_bytes() == ca and (second.credentials / "shop1-k1.password").read_text() == password
    assert {p.name for p in second.credentials.iterdir()} == {f"{u}.password" for u in
                                                              ("hub", "operator", "shop1-k1", "shop2-k1")}
    acl = (tmp_path / "acl").read_text()
    assert "user shop2-k1\ntopic write mk/v1/shop2/shop2-k1/up/#\n" in acl and "pattern" not in acl
    assert [line.split(":")[0] for line in (tmp_path / "passwd").read_text().splitlines()] == [
        "hub", "operator", "shop1-k1", "shop2-k1"]
    assert "listener 18883\n" in second.conf.read_text() and (tmp_path / "server.key").stat().st_mode & 0o077 == 0
    with pytest.raises(broker_config.BrokerConfigError, match="belongs to store shop1"):
        broker_config.write(tmp_path, [("shop2", "shop1-k1")])


@pytest.mark.parametrize("text", ["shop1", "fleet:k1", "shop1:hub", "shop1:operator", "shop1:a/b", "hub:k1"])
def test_kiosk_lists_that_cannot_be_topics_or_logins_are_refused(text: str) -> None:
    with pytest.raises(broker_config.BrokerConfigError):
        broker_config.parse_kiosks(text)
