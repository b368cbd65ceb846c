"""Kiosks with their agents and the real hub (HubService on SQLite) through a real mosquitto: one member and one
balance chain-wide, and syncing through a broker restart."""
from __future__ import annotations

from core.errors import NotFound
from mqtt.agent.agent import SyncAgent
from tests.agent.conftest import agent_settings
from tests.agent.test_protocol import top_ups, wait_until
from tests.mqtt.broker import Mosquitto
from tests.sync.helpers import load_shop, member_with, spend, stored

PHONE = "13800138000"


def knows_phone(k, phone: str) -> bool:
    """Whether kiosk `k` has the member record of `phone` yet."""
    try:
        k.members.by_phone(phone)
    except NotFound:
        return False
    return True


def test_a_member_of_one_store_registers_tops_up_and_spends_at_another(open_kiosk, start_agent, start_hub) -> None:
    hub = start_hub()
    a, b = open_kiosk("shop1-k1"), open_kiosk("shop2-k1")
    member = member_with(a, PHONE, 10_000)  # ¥100 at A
    agents = [start_agent(a), start_agent(b)]
    # the balance comes with the chain's events, the member's record (phone, PIN) with the directory feed: both
    wait_until(lambda: stored(b, member) == 10_000 and knows_phone(b, PHONE))
    assert b.members.by_phone(PHONE).member.member_id == member  # B learned the member and the balance
    load_shop(b)
    b.set_asker(agents[1].asker)
    spend(b, member, 4)  # ¥30 at B: beyond B's allowance (none), so B asks the hub, which grants it
    assert stored(b, member) == 7_000
    wait_until(lambda: stored(a, member) == 7_000 and hub.balances(member).stored_value == 7_000)
    for k in (a, b):
        wait_until(lambda: (s := k.chain.status())["unacked"] == 0 and s["acked_seq"] == s["head"])
    assert any(x["member_id"] == member for x in a.chain.status()["allowances"])  # A holds an allowance of M


def test_sync_goes_on_through_a_broker_restart(open_kiosk, start_agent, start_hub, own_broker: Mosquitto) -> None:
    hub = start_hub(on=own_broker)
    k = open_kiosk("shop1-k1")
    m = member_with(k, PHONE, 100)
    top_ups(k, m, 3_000)
    agent = start_agent(k, on=own_broker, ack_timeout=1.0)
    wait_until(lambda: k.chain.state().acked_seq > 0)
    own_broker.restart(down_for=0.3)  # mid-sync
    top_ups(k, m, 10)
    head = k.chain.head()
    wait_until(lambda: k.chain.state().acked_seq == head, timeout=20)
    assert hub.watermark("shop1-k1") == head
    assert hub.balances(m).stored_value == 100 + 3_010 * 100  # every event applied once
    wait_until(lambda: k.chain.status()["connected"])
    assert agent.running


def test_restore_takes_back_what_the_ledger_lost(open_kiosk, start_agent, start_hub, broker) -> None:
    hub = start_hub()
    k = open_kiosk("shop1-k1")
    m = member_with(k, PHONE, 100)
    top_ups(k, m, 4)
    agent = start_agent(k)
    wait_until(lambda: hub.watermark("shop1-k1") == k.chain.head() == 6)
    agent.stop()
    fresh = open_kiosk("shop1-k1", data_dir="new-disk")  # the kiosk's disk was replaced: an empty ledger
    assert fresh.chain.head() == 0
    report = SyncAgent(fresh, agent_settings(broker, fresh), fresh.clock.now_ms, pull_seconds=0.5).restore(10)
    assert (report["restored"], report["head"], report["lost_tail"]) == (6, 6, None)
    assert stored(fresh, m) == 500
    again = SyncAgent(fresh, agent_settings(broker, fresh), fresh.clock.now_ms, pull_seconds=0.5).restore(10)
    assert again["restored"] == 0
