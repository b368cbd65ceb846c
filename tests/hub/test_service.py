"""The hub service against a real mosquitto (TLS, per-kiosk users, the shipped ACL), on SQLite and PostgreSQL."""
from __future__ import annotations



from core.directory import REGISTERED, Change
from mqtt import messages
from mqtt.hub.store import HubStore
from tests.conftest import wait_until
from tests.hub.helpers import T0, event

K1, K2, K3 = "shop1-k1", "shop1-k2", "shop2-k1"


def events(kiosk: str, first: int, last: int, member: str | None = "m1", fen: int = 100, store: str = "shop1"):
    return [event(kiosk, s, member, fen, store=store) for s in range(first, last + 1)]


wait_for = wait_until


def test_the_ack_follows_the_commit_and_carries_the_watermark(serve, kiosk, store: HubStore) -> None:
    hub, k1 = serve(), kiosk(K1)
    k1.send(events(K1, 1, 1200), head=1300)
    ack = k1.acked(1200)
    assert ack.body == {"acked_seq": 1200, "resend_from": None, "directory": None}
    assert store.watermark(K1) == 1200 and store.balances("m1").stored_value == 120_000
    grant = k1.expect("allowances", until=lambda m: m.body["as_of"] == 1200)
    assert grant.body["allowances"] == {"m1": {"stored_value": 60_000, "points": 0, "visits": {}}}
    [status] = store.kiosks()
    assert (status.store_id, status.watermark, status.backlog) == ("shop1", 1200, 100)
    assert hub.handled["events"] == 3 and hub.handled["events_new"] == 1200


def test_a_duplicate_batch_is_acked_again_and_applied_once(serve, kiosk, store: HubStore) -> None:
    serve()
    k1 = kiosk(K1)
    k1.send(events(K1, 1, 10))
    k1.acked(10)
    k1.send(events(K1, 1, 10))  # the agent resends what it saw no ack for: new message ids, the same events
    assert k1.expect("acks").body["acked_seq"] == 10
    assert store.balances("m1").stored_value == 1000


def test_a_gap_asks_for_a_resend_from_the_first_missing_sequence(serve, kiosk, store: HubStore) -> None:
    serve()
    k1 = kiosk(K1)
    k1.send(events(K1, 1, 5))
    k1.acked(5)
    k1.send(events(K1, 9, 12))
    assert k1.expect("acks").body == {"acked_seq": 5, "resend_from": 6, "directory": None}
    k1.send(events(K1, 6, 8))
    assert k1.expect("acks").body == {"acked_seq": 12, "resend_from": None, "directory": None}


def test_bad_messages_are_dropped_with_a_reason_and_the_hub_goes_on(serve, kiosk, store: HubStore, caplog) -> None:
    hub, k1, k3 = serve(), kiosk(K1), kiosk(K3)
    k1.send(events(K1, 1, 1))
    k1.acked(1)  # shop1-k1 is registered to shop1
    k1.up("events", b"{not json")
    k1.up("events", b"x" * (messages.MAX_PAYLOAD + 1))
    payload, _ = next(messages.event_batches(K1, T0, events(K1, 2, 2), 2))
    k1.up("events", payload)
    k1.up("events", payload)  # replayed: the same message id
    [(wrong, _)] = messages.event_batches(K1, T0, events(K1, 3, 3, store="shop2"), 3)
    k1.up("events", wrong, store="shop2")  # the ACL lets a kiosk write under its id in any store
    k1.up("spend", messages.encode("spend", K1, T0, {"member_id": "m1", "amounts": {}}))  # no correlation data
    k3.up("events", next(messages.event_batches(K3, T0, events(K1, 4, 4), 4))[0])  # events of another kiosk
    wait_for(lambda: sum(hub.dropped.values()) == 6)
    assert hub.dropped == {"Malformed": 2, "Oversized": 1, "Replayed": 1, "WrongSender": 2}
    assert "dropped mk/v1/shop2/shop1-k1/up/events: kiosk shop1-k1 belongs to store shop1, not shop2" in caplog.text
    k1.send(events(K1, 3, 3))  # and the hub still serves
    k1.acked(3)
    assert store.watermark(K1) == 3 and store.balances("m1").stored_value == 300


def test_pull_pages_carry_cursors_across_pages_and_anonymous_ranges(serve, kiosk) -> None:
    serve()
    k1, k2, k3 = kiosk(K1), kiosk(K2), kiosk(K3)
    k1.send(events(K1, 1, 300, member=None))  # anonymous sales only: they travel nowhere
    k2.send(events(K2, 1, 1100, member="m2"))
    k3.send([event(K3, s, "m3" if s % 2 else None, 5, store="shop2") for s in range(1, 101)])
    k1.acked(300), k2.acked(1100), k3.acked(100)
    got, pages = k3.pull_all({})
    assert [len(p.body.items) for p in pages] == [500, 500, 100]
    assert [p.body.upto for p in pages] == [{K1: 300, K2: 500}, {K2: 1000}, {K2: 1100}]
    assert [(e.kiosk_id, e.seq) for e in got] == [(K2, s) for s in range(1, 1101)]
    got, pages = k1.pull_all({K2: 1100})
    assert [(e.kiosk_id, e.seq) for e in got] == [(K3, s) for s in range(1, 100, 2)]
    assert pages[-1].body.upto == {K3: 100}
    k3.pull({K1: 300, K2: 1100}, directory=0)
    assert k3.expect("events").body == messages.Batch((), upto={}, more=False)  # current: an empty page


def test_a_restoring_kiosk_gets_its_own_tail_back_anonymous_events_included(serve, kiosk) -> None:
    serve()
    k1, k2 = kiosk(K1), kiosk(K2)
    k1.send([event(K1, s, "m1" if s % 3 else None, 10, store="shop1") for s in range(1, 41)])
    k2.send(events(K2, 1, 5, member="m1"))
    k1.acked(40), k2.acked(5)
    got, pages = k1.pull_all({K2: 5}, restore=25)
    assert [(e.kiosk_id, e.seq) for e in got] == [(K1, s) for s in range(26, 41)]
    assert pages[-1].body.upto == {K1: 40}


def test_directory_changes_get_feed_positions_in_commit_order(serve, kiosk, store: HubStore) -> None:
    serve()
    k1, k3 = kiosk(K1), kiosk(K3)
    mine = [Change(f"c1-{i}", f"m{i}", K1, T0 + i, REGISTERED, {"phone": f"1380013800{i}"}) for i in range(3)]
    k1.send_changes(mine, upto=7)
    assert k1.expect("acks").body["directory"] == 7
    theirs = [Change("c3-0", "m9", K3, T0, REGISTERED, {"phone": "13900139000"})]
    k3.send_changes(theirs, upto=1)
    k3.expect("acks")
    k3.pull({}, directory=0)
    page = k3.expect("directory")
    assert [c.id for c in page.body.items] == ["c1-0", "c1-1", "c1-2", "c3-0"]  # its own too: the kiosk dedupes
    assert (page.body.upto, page.body.more) == (4, False)
    k3.pull({}, directory=2)
    page = k3.expect("directory")
    assert ([c.id for c in page.body.items], page.body.upto) == (["c1-2", "c3-0"], 4)
    assert [r.member_id for r in store.members_find("13900139000")] == ["m9"]


def test_a_spend_is_granted_whole_or_refused_with_the_reason(serve, kiosk, store: HubStore) -> None:
    serve(share=0.5)
    k1, k2 = kiosk(K1), kiosk(K2)
    k1.send([event(K1, 1, "m1", 10_000, points=500, store="shop1")])
    k1.acked(1)
    k1.expect("allowances")  # k1 holds 5,000 fen and 250 points
    reply = k2.spend("m1", {"stored_value": 3_000, "points": 100}, correlation=b"\x01ask")
    assert reply.body == {"granted": True, "reason": None, "as_of": 0,
                          "allowance": {"stored_value": 3_000, "points": 100, "visits": {}}}
    reply = k2.spend("m1", {"stored_value": 3_000, "points": 100})  # points fit, stored value does not
    assert reply.body["granted"] is False
    assert reply.body["reason"] == "stored value at head office ¥100.00, ¥50.00 of it promised to other kiosks" \
                                   " and ¥30.00 to this one"
    assert reply.body["allowance"] == {"stored_value": 3_000, "points": 100, "visits": {}}  # nothing of it granted
    total = {kind: sum(a.amount for a in store.allowances("m1") if a.kind == kind) for kind in ("stored_value", "points")}
    assert total == {"stored_value": 8_000, "points": 350}


def test_allowances_never_add_up_to_more_than_the_balance(serve, kiosk, store: HubStore) -> None:
    serve(share=0.9)
    k1, k2, k3 = kiosk(K1), kiosk(K2), kiosk(K3)
    for n, k in enumerate((k1, k2, k3, k1, k2, k3)):
        k.send([event(k.kiosk, n // 3 + 1, "m1", 1_000, store=k.store)])
        k.expect("allowances")
    balance = store.balances("m1").stored_value
    granted = sum(a.amount for a in store.allowances("m1") if a.kind == "stored_value")
    assert balance == 6_000 and 0 < granted <= balance
