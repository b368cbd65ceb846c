"""`memberkiosk kiosk` syncs beside its UI when a broker is configured (mqtt.agent.agent.syncing), and sells offline
when the sync configuration cannot be used."""
from __future__ import annotations

import logging

from kiosk import config
from mqtt.agent.agent import syncing
from tests.agent.test_protocol import wait_until
from tests.mqtt.broker import Mosquitto, password
from tests.sync.helpers import member_with

K1 = "shop1-k1"


def test_the_kiosk_runs_its_agent_while_the_ui_runs_and_stops_it_after(open_kiosk, start_hub, broker: Mosquitto,
                                                                        caplog, callback_errors) -> None:
    """(callback_errors: the offline case logs an error on purpose.)"""
    hub = start_hub()
    k = open_kiosk(K1)
    secret = k.keys.directory / "mqtt.password"
    secret.write_text(password(K1) + "\n")
    cfg = config.load(docs=k.docs, files=[], environ={"MEMBERKIOSK_BROKER": broker.url,
                                                      "MEMBERKIOSK_BROKER_CA_FILE": str(broker.pki.ca_file)})
    member_with(k, "13800138000", 100)
    with syncing(k, cfg) as agent:
        assert agent is not None and k.gateway.escrow.asker is agent.asker  # spends beyond allowances ask the hub
        wait_until(lambda: hub.watermark(K1) == k.chain.head() == k.chain.state().acked_seq)
    assert not agent.running and k.gateway.escrow.asker is None
    secret.unlink()
    with caplog.at_level(logging.ERROR), syncing(k, cfg) as agent:
        assert agent is None  # the kiosk sells offline ...
    assert "the kiosk runs offline" in caplog.text and "mqtt.password" in caplog.text  # ... and says why
    without_broker = config.load(docs=k.docs, files=[], environ={})
    with syncing(k, without_broker) as agent:
        assert agent is None
