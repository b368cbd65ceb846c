"""The hub store on SQLite and PostgreSQL: exactly-once application, watermarks, the fold, reconcile, directory."""
from __future__ import annotations

import random
import threading

import pytest

from core.directory import CARD_LINKED, ERASED, REGISTERED, Change
from core.ledger import fold
from mqtt.hub.apply import SEQ_CLASH, Ack, BadBatch, Batch
from mqtt.hub.dialects import BadDatabaseUrl
from mqtt.hub.store import HubStore
from tests.conftest import T0
from tests.hub.helpers import event, run


def test_duplicates_are_applied_once(hub: HubStore) -> None:
    events = run("k1", 1, 5, stored_value=100)
    assert hub.apply([Batch("k1", events, ref="a")]) == [Ack("k1", 5, new=5, ref="a")]
    again = hub.apply([Batch("k1", events[2:] + run("k1", 6, 6, stored_value=100)), Batch("k1", events[:1])])
    assert again == [Ack("k1", 6, new=1, duplicate=3), Ack("k1", 6, duplicate=1)]
    assert hub.balances("m1").stored_value == 600


def test_the_watermark_moves_only_over_contiguous_runs(hub: HubStore) -> None:
    hub.apply([Batch("k1", [event("k1", s, stored_value=1) for s in (1, 2, 5, 6)], head=9)])
    assert hub.watermark("k1") == 2
    status = hub.kiosks()[0]
    assert (status.kiosk_id, status.store_id, status.watermark, status.backlog) == ("k1", "s1", 2, 7)
    assert hub.apply([Batch("k1", [event("k1", 4, stored_value=1)])])[0].watermark == 2
    assert hub.apply([Batch("k1", [event("k1", 3, stored_value=1)])])[0].watermark == 6
    assert hub.balances("m1").stored_value == 6  # every event counts, in whatever order it came
    assert hub.watermark("nobody") == 0


def test_one_group_commit_acks_every_kiosk(hub: HubStore, clock) -> None:
    batches = [Batch(k, run(k, 1, 50, member=f"m-{k}")) for k in ("k1", "k2", "k3")]
    clock.advance(1000)
    assert [a.watermark for a in hub.apply(batches)] == [50, 50, 50]
    assert [(s.kiosk_id, s.backlog, s.last_seen) for s in hub.kiosks()] == [
        ("k1", 0, T0 + 1000), ("k2", 0, T0 + 1000), ("k3", 0, T0 + 1000)]


def test_a_batch_of_another_kiosks_events_is_refused() -> None:
    with pytest.raises(BadBatch, match="carries 1 events of other kiosks"):
        Batch("k1", [event("k2", 1)])


def test_a_reused_sequence_is_recorded_not_applied(hub: HubStore) -> None:
    hub.apply([Batch("k1", [event("k1", 1, stored_value=10)])])
    impostor = event("k1", 1, stored_value=10)
    impostor = type(impostor)(**{**impostor.__dict__, "id": "00000000-0000-4000-8000-000000000001"})
    assert hub.apply([Batch("k1", [impostor])]) == [Ack("k1", 1, refused=1)]
    assert [(r.what, r.amount) for r in hub.reconcile()] == [(SEQ_CLASH, 1)]
    assert hub.balances("m1").stored_value == 10


def test_an_overdraft_from_two_kiosks_is_recorded_and_balances_are_the_fold(hub: HubStore) -> None:
    events = [event("k1", 1, stored_value=100, points=50), event("k1", 2, stored_value=-80, points=-40),
              event("k2", 1, stored_value=-80, points=-40), event("k2", 2, store="s2", points=5)]
    hub.apply([Batch("k2", events[2:])])  # k2 spent offline before the top-up at k1 reached the hub
    hub.apply([Batch("k1", events[:2])])
    assert hub.balances("m1") == fold(events)[0]["m1"]
    assert hub.balances("m1").stored_value == -60
    assert [(r.kiosk_id, r.what, r.amount) for r in hub.reconcile()] == [  # how far below zero each spend took it
        ("k2", "points", 40), ("k2", "stored_value", 80), ("k1", "points", 25), ("k1", "stored_value", 60)]


def test_any_split_and_order_of_batches_gives_the_fold(hub: HubStore) -> None:
    rng = random.Random(10)
    events = [event(f"k{k}", s, f"m{rng.randrange(4)}", rng.randrange(-50, 100), rng.randrange(-20, 40))
              for k in range(3) for s in range(1, 41)]
    shuffled = rng.sample(events, len(events)) + rng.sample(events, 30)  # and some duplicates
    while shuffled:
        n = rng.randrange(1, 25)
        part, shuffled = shuffled[:n], shuffled[n:]
        hub.apply([Batch(k, [e for e in part if e.kiosk_id == k]) for k in sorted({e.kiosk_id for e in part})])
    expected = fold(events)[0]
    assert {m: hub.balances(m) for m in expected} == expected
    assert [(s.watermark, s.backlog) for s in hub.kiosks()] == [(40, 0)] * 3


def test_a_batch_delivered_twice_at_once_is_applied_once(store_url: str) -> None:
    """Two workers, each with its own connection, get the same messages at the same instant (a redelivery)."""
    stores = [HubStore.open(store_url), HubStore.open(store_url)]
    try:
        for round_ in range(5):
            batch = Batch("k1", run("k1", round_ * 200 + 1, round_ * 200 + 200, stored_value=1))
            start = threading.Barrier(2)
            acks: list[Ack] = []

            def work(store: HubStore) -> None:
                start.wait(timeout=10)
                acks.extend(store.apply([batch]))

            threads = [threading.Thread(target=work, args=(s,)) for s in stores]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert sorted((a.new, a.duplicate) for a in acks) == [(0, 200), (200, 0)]
            assert {a.watermark for a in acks} == {round_ * 200 + 200}
        assert stores[0].balances("m1").stored_value == 1000
    finally:
        for s in stores:
            s.close()


def test_two_workers_applying_one_kiosks_halves_reach_the_full_watermark(store_url: str) -> None:
    """Seqs 1..N split between two workers committing at once: whichever commits last moves the watermark to N."""
    stores = [HubStore.open(store_url), HubStore.open(store_url)]
    try:
        events = run("k1", 1, 400)
        halves = [[e for e in events if e.seq % 2 == i] for i in (0, 1)]
        start = threading.Barrier(2)

        def work(store: HubStore, mine: list) -> None:
            start.wait(timeout=10)
            for i in range(0, len(mine), 20):
                store.apply([Batch("k1", mine[i:i + 20])])

        threads = [threading.Thread(target=work, args=(s, h)) for s, h in zip(stores, halves)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert stores[0].watermark("k1") == 400
        assert stores[1].balances("m1").stored_value == 400
    finally:
        for s in stores:
            s.close()


def test_the_directory_merges_changes_from_every_kiosk(hub: HubStore) -> None:
    reg = Change("c1", "m1", "k1", T0, REGISTERED, {"phone": "13800138000", "name": "张三"})
    rival = Change("c2", "m2", "k2", T0 + 5, REGISTERED, {"phone": "13800138000", "name": "李四"})
    card = Change("c3", "m1", "k2", T0 + 9, CARD_LINKED, {"uid": "04A1B2C3"})
    hub.apply([Batch("k2", changes=[rival, card]), Batch("k1", changes=[reg, reg])])
    found = hub.members_find("13800138000")
    assert [r.member_id for r in found] == ["m1", "m2"]  # both registered offline: the first claim first
    assert found[0].get("name") == "张三" and set(found[0].cards) == {"04A1B2C3"}
    hub.apply([Batch("k2", changes=[Change("c4", "m1", "k2", T0 + 20, ERASED)])])
    assert [r.member_id for r in hub.members_find("13800138000")] == ["m2"]
    assert hub.member("m1").erased_at == T0 + 20 and hub.member("m1").get("name") is None


def test_a_url_names_the_database() -> None:
    with pytest.raises(BadDatabaseUrl, match="must start with sqlite:/// or postgresql://"):
        HubStore.open("mysql://hub")
    with pytest.raises(BadDatabaseUrl, match="name the database file"):
        HubStore.open("sqlite://")
