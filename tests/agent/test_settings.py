"""The broker settings a kiosk builds from its configuration, and the one-shot asker of a command-line process."""
from __future__ import annotations

import pytest

from kiosk import config
from kiosk.services.escrow import AskFailed
from mqtt import topics
from mqtt.agent.asker import OneShotAsker
from mqtt.agent.settings import SyncNotConfigured, broker_settings
from tests.agent.test_protocol import member, wait_until
from tests.mqtt.broker import Mosquitto, password


def test_settings_come_from_the_configuration_and_the_key_dir(open_kiosk, monkeypatch, broker: Mosquitto) -> None:
    k = open_kiosk("shop1-k1")
    monkeypatch.setenv("MEMBERKIOSK_BROKER", broker.url)
    monkeypatch.setenv("MEMBERKIOSK_BROKER_CA_FILE", str(broker.pki.ca_file))
    with pytest.raises(SyncNotConfigured, match="mqtt.password"):
        broker_settings(k, config.load())
    (k.keys.directory / "mqtt.password").write_text("s3cret\n")
    s = broker_settings(k, config.load())
    assert (s.url, s.username, s.password, s.client_id, s.ca_file) == (broker.url, "shop1-k1", "s3cret",
                                                                       "shop1-k1-agent", broker.pki.ca_file)
    assert s.will is not None and s.will.topic == topics.status("shop1", "shop1-k1") and s.will.retain
    assert broker_settings(k, config.load(), "mqtts://10.0.0.1:8883", role="cli-1", will=False).will is None
    with pytest.raises(config.ConfigError, match="--broker mqtt://10.0.0.1:1883"):
        broker_settings(k, config.load(), "mqtt://10.0.0.1:1883")


def test_the_one_shot_asker_connects_asks_and_closes(open_kiosk, start_agent, start_hub, broker: Mosquitto) -> None:
    start_hub()
    k = open_kiosk("shop1-k1")
    m = member(k)
    agent = start_agent(k)
    wait_until(lambda: k.chain.state().acked_seq == k.chain.head())
    agent.stop()
    asker = OneShotAsker(lambda: broker.settings("shop1-k1", client_id="shop1-k1-cli-test"), k.who)
    reply = asker.ask(m, {"stored_value": 100}, 3.0)
    assert (reply.granted, reply.reason is not None) == (False, True)  # nothing to spend: refused, with why
    wrong = OneShotAsker(lambda: broker.settings("shop1-k1", client_id="x", password=password("hub")), k.who)
    with pytest.raises(AskFailed, match="cannot reach head office"):
        wrong.ask(m, {"stored_value": 100}, 3.0)
