"""The agent's side of the protocol against a scripted hub on a real mosquitto: acks, resends, the window,
what it drops, spend replies and a refused login."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

import pytest

from core.codec import to_wire
from core.events import EventDraft
from core.points import topup_drafts
from kiosk.services.escrow import AskFailed
from kiosk.services.members import Registration
from mqtt import messages, topics
from mqtt.agent.agent import SyncAgent, SyncRefused
from mqtt.fleet.protocol import parse_state
from tests.agent.conftest import agent_settings
from tests.conftest import wait_until as polled
from tests.mqtt.broker import password
from tests.mqtt.events import event
from tests.pricing.conftest import DEMO
from tests.sync.helpers import stored

K1, S1 = "shop1-k1", "shop1"


def member(kiosk, phone: str = "13800138000") -> str:
    """A member registered at `kiosk` (one event, one directory change)."""
    return kiosk.members.register(Registration(phone=phone, consent=True, name="张三", pin="123456")).member.member_id


def top_ups(kiosk, member_id: str, n: int) -> None:
    """`n` top-ups of ¥1 in one transaction: a backlog made fast."""
    drafts: list[EventDraft] = topup_drafts(member_id, 100, None) * n
    kiosk.gateway.commit("M01", drafts)


def state(payload: bytes | None) -> str | None:
    """online or offline, from a kiosk's retained JSON status."""
    return None if payload is None else parse_state(payload)["state"]


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """The shared poll, with the agent tests' 10 s bound (a broker round trip or two)."""
    return polled(predicate, timeout)


def test_acks_advance_the_durable_watermark_and_the_link_is_recorded(open_kiosk, start_agent, scripted_hub) -> None:
    hub = scripted_hub(auto_ack=True)
    k = open_kiosk(K1)
    m = member(k)
    top_ups(k, m, 3)
    agent = start_agent(k)
    wait_until(lambda: k.chain.state().acked_seq == k.chain.head() == 4)
    hub.wait(lambda: state(hub.status.get(K1)) == "online" and hub.received["pull"] and hub.received["directory"])
    status = k.chain.status()
    assert (status["connected"], status["unacked"], status["acked_seq"]) == (True, 0, 4)
    assert status["last_ack_at"] is not None
    top_ups(k, m, 2)  # a commit here wakes the agent at once
    wait_until(lambda: k.chain.state().acked_seq == 6, timeout=2.0)
    agent.stop()
    assert k.chain.status()["connected"] is False
    hub.wait(lambda: state(hub.status.get(K1)) == "offline")


def test_no_ack_means_a_resend_from_the_watermark_after_the_timeout(open_kiosk, start_agent, scripted_hub) -> None:
    hub = scripted_hub()
    k = open_kiosk(K1)
    top_ups(k, member(k), 2)
    start_agent(k, ack_timeout=0.3)
    hub.wait(lambda: hub.events_of(K1).count(1) >= 2)  # sent, no ack, sent again
    hub.ack(S1, K1, 3)
    wait_until(lambda: k.chain.state().acked_seq == 3)
    count = len(hub.events_of(K1))
    time.sleep(0.6)
    assert len(hub.events_of(K1)) == count, "acknowledged events were sent again"


def test_resend_from_rewinds_to_the_gap(open_kiosk, start_agent, scripted_hub) -> None:
    hub = scripted_hub()
    k = open_kiosk(K1)
    top_ups(k, member(k), 4)
    start_agent(k, ack_timeout=30)
    hub.wait(lambda: hub.events_of(K1) == [1, 2, 3, 4, 5])
    hub.ack(S1, K1, 2, resend_from=3)  # the hub lost 3..5 (say, a worker died before its commit)
    hub.wait(lambda: hub.events_of(K1)[5:] == [3, 4, 5])
    assert k.chain.state().acked_seq == 2


def test_the_window_bounds_what_is_read_ahead_of_the_acks(open_kiosk, start_agent, scripted_hub) -> None:
    hub = scripted_hub()
    k = open_kiosk(K1)
    top_ups(k, member(k), 5_000)  # 5,001 events unacknowledged
    agent = start_agent(k, ack_timeout=60, window=8)
    hub.wait(lambda: len(hub.events_of(K1)) >= 8 * messages.MAX_BATCH)
    time.sleep(0.3)
    assert len(hub.events_of(K1)) == 8 * messages.MAX_BATCH == agent.events.read_ahead
    assert len(hub.received["events"]) == 8
    hub.ack(S1, K1, 2_000)
    hub.wait(lambda: max(hub.events_of(K1)) == 5_001)
    hub.ack(S1, K1, 5_001)
    wait_until(lambda: k.chain.state().acked_seq == 5_001)
    assert agent.events.read_ahead <= 8 * messages.MAX_BATCH


def test_bad_down_messages_are_dropped_with_their_reason(open_kiosk, start_agent, scripted_hub, caplog) -> None:
    hub = scripted_hub()
    k = open_kiosk(K1)
    top_ups(k, member(k), 1)
    agent = start_agent(k, ack_timeout=30)
    hub.wait(lambda: hub.events_of(K1) == [1, 2])
    acks = topics.down(S1, K1, "acks")
    with caplog.at_level(logging.WARNING, logger="mqtt.agent"):
        hub.raw(acks, b"{not json")
        hub.raw(acks, b" " * (messages.MAX_PAYLOAD + 1024))
        hub.raw(acks, messages.encode("acks", "hub", 1, {"acked_seq": -1, "resend_from": None, "directory": None}))
        hub.send(S1, K1, "allowances", {"epoch": 1, "as_of": 0, "allowances": {"../x": {}}})
        hub.ack(S1, K1, 2)
        wait_until(lambda: k.chain.state().acked_seq == 2)
    reasons = [r.getMessage() for r in caplog.records if r.getMessage().startswith("dropped")]
    assert agent.dropped == 4 and len(reasons) == 4, reasons
    assert "not strict JSON" in reasons[0] and "over the" in reasons[1] and "acked_seq = -1" in reasons[2]
    assert agent.running


def test_a_spend_reply_reaches_its_asker_by_correlation(open_kiosk, start_agent, scripted_hub) -> None:
    hub = scripted_hub()
    k = open_kiosk(K1)
    m = member(k)
    agent = start_agent(k)
    wait_until(lambda: agent.connection is not None and agent.connection.connected)
    answers: dict[str, object] = {}

    def ask(who: str, fen: int) -> None:
        answers[who] = agent.asker.ask(m, {"stored_value": fen}, 5.0)

    askers = [threading.Thread(target=ask, args=(name, fen)) for name, fen in (("a", 100), ("b", 200))]
    for t in askers:
        t.start()
    hub.wait(lambda: len(hub.received["spend"]) == 2)
    for request in reversed(hub.received["spend"]):  # answered out of order
        fen = request.body["amounts"]["stored_value"]
        hub.send(S1, K1, "spend", {"granted": fen == 100, "reason": None if fen == 100 else "not enough",
                                   "allowance": {"stored_value": fen}, "as_of": 1}, correlation=request.correlation)
    for t in askers:
        t.join(5)
    assert (answers["a"].granted, answers["a"].allowance) == (True, {"stored_value": 100})
    assert (answers["b"].granted, answers["b"].reason) == (False, "not enough")
    assert request.response_topic == topics.down(S1, K1, "spend")
    with pytest.raises(AskFailed, match="did not answer"):
        agent.asker.ask(m, {"stored_value": 1}, 0.2)


def test_a_refused_login_stops_the_agent_with_a_clear_error(open_kiosk, broker, callback_errors) -> None:
    k = open_kiosk(K1)
    agent = SyncAgent(k, agent_settings(broker, k, password=password("shop1-k2")), k.clock.now_ms)
    stop = threading.Event()
    started = time.monotonic()
    with pytest.raises(SyncRefused, match=r"(?i)not authori[sz]ed.*\(reason code 13[45]\).*sync.password_file"):
        agent.run_until(stop)
    assert time.monotonic() - started < 5 and not agent.running


def test_pages_allowances_and_documents_reach_the_store(open_kiosk, start_agent, scripted_hub) -> None:
    hub = scripted_hub()
    k = open_kiosk(K1)
    m = member(k)
    hub.raw(topics.document(S1, "rules"), messages.encode("documents", "hub", 1, {
        "name": "rules", "format": "toml", "version": 3, "text": (DEMO / "rules.toml").read_text(encoding="utf-8")}),
        retain=True)
    try:
        start_agent(k, pull_seconds=30)
        hub.wait(lambda: len(hub.received["pull"]) == 1)
        page = {"events": [to_wire(event("shop2-k1", "shop2", 1, member=m, fen=500))], "upto": {"shop2-k1": 1},
                "more": True}
        hub.send(S1, K1, "events", page)
        hub.send(S1, K1, "directory", {"changes": [], "upto": 0, "more": False})
        hub.wait(lambda: len(hub.received["pull"]) == 2)  # more: it pulls again at once, from its new cursor
        assert hub.received["pull"][1].body["events"] == {"shop2-k1": 1}
        hub.send(S1, K1, "allowances", {"epoch": 5, "as_of": 1, "allowances": {m: {"stored_value": 300}}})
        wait_until(lambda: k.chain.status()["allowances"] == [
            {"member_id": m, "kind": "stored_value", "amount": 300, "as_of": 1}])
        wait_until(lambda: k.chain.status()["documents"].get("rules") == 3)
        assert stored(k, m) == 500
    finally:
        hub.raw(topics.document(S1, "rules"), b"", retain=True)  # clears the retained document of the session broker
