"""Faults through the real processes: the hub and kiosk agents killed with SIGKILL mid-sync over many rounds, and a
kiosk offline for 10,000 events; afterwards the hub holds every kiosk's ledger once, without a gap, and the kiosks
hold each other's members' events once."""
from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from kiosk.app import Kiosk
from mqtt.hub.store import HubStore
from tests.agent.test_protocol import member, top_ups
from tests.e2e.conftest import KioskCli, wait_for
from tests.sync.helpers import stored

KIOSK_IDS = ("shop1-k1", "shop1-k2", "shop2-k1")
ROUNDS = 6
PER_ROUND = 300  # events per kiosk per round


@pytest.fixture
def ledgers(chain: Callable) -> Iterator[Callable[[KioskCli], Kiosk]]:
    """The kiosks' ledgers opened in this process, beside their `sync run` processes, to sell into."""
    opened: list[Kiosk] = []

    def open_(k: KioskCli) -> Kiosk:
        opened.append(Kiosk.open(Path(k.env["MEMBERKIOSK_DATA_DIR"]), kiosk_id=k.id, store_id=k.store,
                                 key_dir=Path(k.env["MEMBERKIOSK_KEY_DIR"]), operator="M01", escrow=False))
        return opened[-1]

    yield open_
    for k in opened:
        k.close()


def check_hub_holds_every_ledger_once(url: str, kiosks: dict[str, Kiosk], members: dict[str, str]) -> None:
    """Each kiosk's events at the hub: all of them, once, no gap; the member balances are the ledgers' sums."""
    with HubStore.open(url) as hub:
        for kiosk_id, k in kiosks.items():
            head = k.chain.head()
            held = hub.events(kiosk_id, 0, head + 10)
            assert [e.seq for e in held] == list(range(1, head + 1)), f"{kiosk_id}: a gap or a double at the hub"
            assert hub.watermark(kiosk_id) == head
            assert hub.balances(members[kiosk_id]).stored_value == stored(k, members[kiosk_id])
        assert hub.reconcile() == []


def wait_synced(kiosks: dict[str, Kiosk], members: dict[str, str], timeout: float = 60) -> None:
    """Until every kiosk's events are acked and every kiosk holds every member's balance as its home kiosk does."""
    for kiosk_id, k in kiosks.items():
        wait_for(f"{kiosk_id} acked to its head", lambda k=k: k.chain.state().acked_seq == k.chain.head(), timeout)
    for home, m in members.items():
        want = stored(kiosks[home], m)
        for kiosk_id, k in kiosks.items():
            wait_for(f"{kiosk_id} to hold {home}'s member's balance",
                     lambda k=k, m=m, want=want: stored(k, m) == want, timeout)


@pytest.mark.timeout(300)
def test_hub_and_kiosks_killed_mid_sync_for_many_rounds_lose_and_double_nothing(chain, ledgers,
                                                                                store_url: str) -> None:
    hub = chain("hub", store_url)
    hub.serve()
    clis = {i: chain(i) for i in KIOSK_IDS}
    kiosks = {i: ledgers(c) for i, c in clis.items()}
    members = {i: member(k, phone=f"1380013800{n}") for n, (i, k) in enumerate(kiosks.items())}
    for c in clis.values():
        c.start_sync()
    rng = random.Random(20261130)
    victims = ["hub", *KIOSK_IDS, "hub", "all"]
    for r in range(ROUNDS):
        for i, k in kiosks.items():
            top_ups(k, members[i], PER_ROUND // 3)  # three commits a round, so a kill can land between them
            top_ups(k, members[i], PER_ROUND // 3)
            top_ups(k, members[i], PER_ROUND // 3)
        victim = victims[r % len(victims)]
        time.sleep(rng.uniform(0.0, 0.3))  # the agents are publishing: the kill lands somewhere in the middle
        if victim in ("hub", "all"):
            hub.server.kill()
        for i in KIOSK_IDS if victim == "all" else [victim] if victim != "hub" else []:
            clis[i].agent.kill()
            clis[i].start_sync()
        if victim in ("hub", "all"):
            hub.serve()
    wait_synced(kiosks, members)
    check_hub_holds_every_ledger_once(store_url, kiosks, members)
    assert all(c.stop_sync() == 0 for c in clis.values()) and hub.server.stop() == 0


@pytest.mark.timeout(180)
def test_a_kiosk_offline_for_10000_events_catches_up_each_applied_once(chain, ledgers, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    hub, a, b = chain("hub", url), chain("shop1-k1"), chain("shop2-k1")
    hub.serve()
    kiosks = {"shop1-k1": ledgers(a), "shop2-k1": ledgers(b)}
    members = {"shop1-k1": member(kiosks["shop1-k1"])}
    top_ups(kiosks["shop1-k1"], members["shop1-k1"], 10_000)  # offline: no agent yet
    b.start_sync()
    a.start_sync()
    wait_synced(kiosks, members, timeout=90)
    with HubStore.open(url) as store:
        assert store.watermark("shop1-k1") == kiosks["shop1-k1"].chain.head() == 10_001
        assert [e.seq for e in store.events("shop1-k1", 0, 20_000)] == list(range(1, 10_002))
        assert store.balances(members["shop1-k1"]).stored_value == 1_000_000
    assert stored(kiosks["shop2-k1"], members["shop1-k1"]) == 1_000_000
