"""Ingest of events made on another kiosk: kept as made, applied once, in any order, overdrafts flagged not refused."""
from __future__ import annotations

import dataclasses
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from core.codec import dumps, from_wire, to_wire
from core.events import SALE_COMPLETED, TIER_CHANGED, TOPPED_UP, Event
from core.ledger import fold
from kiosk.ids import new_event_id
from kiosk.services.topup import top_up
from kiosk.store import ledger
from kiosk.store.audit import Chain
from kiosk.store.db import Database
from kiosk.store.ingest import LedgerClash, ingest
from kiosk.store.ledger import Identity
from tests.conftest import T0
from tests.sync.helpers import STORE, clean, events_of, load_shop, member_with, spend, stored


def test_the_same_batch_twice_is_applied_once_and_kept_byte_identical(pair) -> None:
    a, b = pair
    member = member_with(a, "13800138000", 10_000)
    batch = events_of(a)
    first = b.sync.ingest(batch)
    second = b.sync.ingest(batch + batch[:1])
    assert (first.new, first.duplicate, first.flagged) == (len(batch), 0, 0)
    assert (second.new, second.duplicate) == (0, len(batch) + 1)
    assert stored(b, member) == 10_000
    with a.db.reading() as ca, b.db.reading() as cb:
        rows = "SELECT id, kiosk_id, store_id, seq, ts, txn, type, member_id, data, deltas, operator, v, crc FROM events ORDER BY id"
        assert cb.execute(rows).fetchall() == ca.execute(rows).fetchall()
    assert clean(b) == []


def test_any_order_and_batching_gives_the_same_projection(pair) -> None:
    a, b = pair
    load_shop(a)
    members = [member_with(a, f"1380013800{i}", 10_000 + i) for i in range(5)]
    for m in members:
        spend(a, m, 2)
    batch = events_of(a)
    random.Random(8).shuffle(batch)
    b.sync.ingest(batch, batch=7)
    assert [stored(b, m) for m in members] == [stored(a, m) for m in members] == [8_500 + i for i in range(5)]
    with a.db.reading() as ca, b.db.reading() as cb:
        assert cb.execute("SELECT * FROM stock ORDER BY sku").fetchall() == ca.execute("SELECT * FROM stock ORDER BY sku").fetchall()
    assert clean(b) == []


def test_offline_spending_at_two_kiosks_is_flagged_and_balances_equal_the_fold(pair, tmp_path: Path) -> None:
    a, b = pair
    load_shop(a)
    load_shop(b)
    member = member_with(a, "13800138000", 5_000)
    a.sync.export(tmp_path / "a.sync")
    b.sync.import_file(tmp_path / "a.sync")  # B knows the member and their ¥50
    spend(a, member, 4)  # ¥30 at A
    spend(b, member, 4)  # and ¥30 at B, offline: ¥60 of ¥50
    report_b = b.sync.ingest(events_of(a))
    report_a = a.sync.ingest(events_of(b))
    assert (report_a.flagged, report_b.flagged) == (1, 1)
    for k in (a, b):
        assert stored(k, member) == -1_000
        members, _stock = fold(events_of(k), STORE)
        assert members[member].stored_value == -1_000
        assert clean(k) == []
        assert [(o["member_id"], o["what"], o["amount"]) for o in k.sync.flags()["overdrafts"]] == [(member, "stored_value", 1_000)]
    top_up(b.members, member, 2_000)  # a top-up is never blocked by an overdraft
    assert stored(b, member) == 1_000 and clean(b) == []


def test_a_newer_version_event_is_kept_intact_and_folds_what_it_understands(pair) -> None:
    a, b = pair
    member = member_with(a, "13800138000", 10_000)
    b.sync.ingest(events_of(a))
    newer = from_wire({**to_wire(events_of(a)[-1]), "id": new_event_id(T0), "txn": new_event_id(T0), "seq": 99, "v": 3,
                       "type": "stored_value.gifted", "data": {"gift": {"from": "公司", "wrap": True}, "note": "新"},
                       "deltas": {"stored_value": 500, "gift_cards": {"G1": 1}, "points": 7}})
    assert b.sync.ingest([newer]).new == 1
    with b.db.reading() as conn:
        kept = ledger.txn_events(conn, newer.txn)[0]
    assert kept == newer and dumps(to_wire(kept)) == dumps(to_wire(newer))
    assert stored(b, member) == 10_500
    assert clean(b) == []


def _event(kiosk: str, seq: int, ts: int, type_: str, member: str, data=None, deltas=None, store: str = STORE) -> Event:
    return Event(new_event_id(ts), kiosk, store, seq, ts, new_event_id(ts), type_, member, data or {}, deltas or {}, "M01", 1)


def test_tier_is_set_by_the_latest_tier_change_whatever_arrives_first(pair) -> None:
    a, b = pair
    early = _event("C", 1, T0 + 1_000, TIER_CHANGED, "C-000001", {"tier": "银卡"})
    late = _event("D", 1, T0 + 2_000, TIER_CHANGED, "C-000001", {"tier": "金卡"})
    a.sync.ingest([early])
    a.sync.ingest([late])
    b.sync.ingest([late])
    b.sync.ingest([early])
    for k in (a, b):
        with k.db.reading() as conn:
            assert ledger.load_balances(conn, "C-000001").tier == "金卡"
        assert clean(k) == []


def test_another_stores_sales_do_not_move_this_stores_shelf(pair) -> None:
    a, _b = pair
    load_shop(a)
    with a.db.reading() as conn:
        before = ledger.load_stock(conn, "CHIPS")
    elsewhere = _event("X1", 1, T0, SALE_COMPLETED, None, {}, {"stock": {"CHIPS": -5}}, store="s2")
    same_store = _event("B", 1, T0, SALE_COMPLETED, None, {}, {"stock": {"CHIPS": -2}})
    a.sync.ingest([elsewhere, same_store])
    with a.db.reading() as conn:
        assert ledger.load_stock(conn, "CHIPS") == before - 2
    assert clean(a) == []


def test_a_reused_sequence_number_is_refused_whole(pair) -> None:
    a, _b = pair
    one = _event("C", 1, T0, TOPPED_UP, "C-000001", {}, {"stored_value": 100})
    a.sync.ingest([one])
    twin = dataclasses.replace(one, id=new_event_id(T0))
    with pytest.raises(LedgerClash, match="kiosk C's event number 1"):
        a.sync.ingest([_event("C", 2, T0, TOPPED_UP, "C-000001", {}, {"stored_value": 5}), twin])
    assert stored(a, "C-000001") == 100


def test_events_of_this_kiosk_that_its_ledger_lacks_are_refused(pair) -> None:
    a, _b = pair
    with pytest.raises(LedgerClash, match="restored from an older backup"):
        a.sync.ingest([_event("A", 7, T0, TOPPED_UP, "A-000001", {}, {"stored_value": 100})])


# Events of three kiosks for three members: top-ups, spends (overdrafts possible), tier changes, stock moves.
_kinds = st.tuples(st.sampled_from(["K1", "K2", "K3"]), st.sampled_from(["m1", "m2", "m3"]),
                   st.sampled_from([TOPPED_UP, SALE_COMPLETED, TIER_CHANGED]), st.integers(-3_000, 5_000),
                   st.integers(0, 50), st.sampled_from(["银卡", "金卡", "VIP"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(_kinds, min_size=1, max_size=25), data=st.data())
def test_any_permutation_and_duplication_gives_the_same_balances(specs, data) -> None:
    events, seqs = [], {}
    for kiosk, member, type_, fen, dt, tier in specs:
        seqs[kiosk] = seqs.get(kiosk, 0) + 1
        deltas = {} if type_ == TIER_CHANGED else {"stored_value": fen, "stock": {"S": -1}}
        events.append(_event(kiosk, seqs[kiosk], T0 + dt, type_, member, {"tier": tier} if type_ == TIER_CHANGED else {}, deltas))
    arrival = data.draw(st.permutations(events + data.draw(st.lists(st.sampled_from(events), max_size=10))))
    batch = data.draw(st.integers(1, 30))
    expected, expected_stock = fold(events, STORE)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "ledger.sqlite")
        who = Identity("K0", STORE)
        for i in range(0, len(arrival), batch):
            with db.transaction() as conn:
                ingest(conn, who, arrival[i:i + batch], T0, Chain(bytes(32)))
        with db.reading() as conn:
            got = {m: ledger.load_balances(conn, m) for m in expected}
            stock = ledger.load_stock(conn, "S")
            assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == len(events)
        db.close()
    assert got == expected and stock == expected_stock.get("S", 0)
