"""ChainSync's durable state: the ledger as outbox, acks, lost tail and restore, pages with cursors, allowances,
documents and status."""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from core.catalog import parse_catalog
from core.errors import LedgerBehindHub
from core.events import Event
from kiosk.app import Kiosk
from kiosk.services.chain import DocumentRefused
from kiosk.store import chain_state
from kiosk.store.ingest import LedgerClash
from tests.chain.conftest import open_chain_kiosk
from tests.pricing.conftest import DEMO
from tests.sync.helpers import clean, events_of, load_shop, member_with, spend, stored


def test_outbox_reads_own_events_in_sequence_order_after_a_sequence_with_a_limit(chained: Kiosk, tmp_path, clock) -> None:
    member_with(chained, "13800138000", 10_000)
    b = open_chain_kiosk(tmp_path, clock, "B")
    member_with(b, "13800138001", 500)
    chained.chain.apply_events_page(events_of(b), {"B": b.chain.head()})  # foreign events interleave in the ledger
    spend(chained, next(e.member_id for e in chained.chain.outbox(0, 100) if e.member_id), 1)
    head = chained.chain.head()
    every = chained.chain.outbox(0, 1000)
    assert [e.seq for e in every] == list(range(1, head + 1)) and {e.kiosk_id for e in every} == {"A"}
    assert [e.seq for e in chained.chain.outbox(2, 3)] == [3, 4, 5]
    assert chained.chain.outbox(head, 10) == []
    b.close()


def test_directory_outbox_gives_own_changes_in_clear_in_feed_order_after_a_position(chained: Kiosk, tmp_path, clock) -> None:
    b = open_chain_kiosk(tmp_path, clock, "B")
    member_with(b, "13900139000", 100)
    theirs = b.chain.directory_outbox(0, 100)
    chained.chain.apply_directory_page([c for _p, c in theirs], upto=7)
    first = member_with(chained, "13800138000", 100, card="04A1B2C3")
    second = member_with(chained, "13800138001", 100)
    own = chained.chain.directory_outbox(0, 100)
    assert {c.kiosk_id for _p, c in own} == {"A"} and [p for p, _c in own] == sorted(p for p, _c in own)
    assert [c.member_id for _p, c in own if c.kind == "registered"] == [first, second]
    assert next(c for _p, c in own if c.kind == "registered").fields["phone"] == "13800138000"  # opened, not sealed
    assert chained.chain.directory_outbox(own[0][0], 2) == own[1:3]
    assert chained.chain.directory_outbox(own[-1][0], 10) == []
    assert chained.chain.state().hub_directory == 7
    b.close()


def test_acks_are_durable_and_never_move_backwards(tmp_path: Path, clock) -> None:
    k = open_chain_kiosk(tmp_path, clock, "A")
    member_with(k, "13800138000", 1_000)
    head = k.chain.head()
    assert k.chain.record_ack(head - 1, 3).acked_seq == head - 1
    clock.advance(1000)
    after = k.chain.record_ack(head - 2, None)  # an older ack redelivered
    assert (after.acked_seq, after.directory_acked, after.last_ack_at, after.lost_tail) == (head - 1, 3, clock.now, None)
    k.close()
    k = open_chain_kiosk(tmp_path, clock, "A")
    assert (k.chain.state().acked_seq, k.chain.state().directory_acked) == (head - 1, 3)
    assert k.chain.status()["unacked"] == 1
    k.close()


def _backup_behind(tmp_path: Path, clock) -> tuple[Kiosk, list, str]:
    """Kiosk A backed up, then selling on; the backup put back. Returns the restored kiosk, the events it lost
    (as head office holds them) and the member."""
    k = open_chain_kiosk(tmp_path, clock, "A")
    load_shop(k)
    member = member_with(k, "13800138000", 10_000)
    k.close()
    shutil.copytree(tmp_path / "A", tmp_path / "A-backup")
    k = open_chain_kiosk(tmp_path, clock, "A")
    old_head = k.chain.head()
    spend(k, member, 2)
    spend(k, member, 1)
    lost = [e for e in events_of(k) if e.kiosk_id == "A" and e.seq > old_head]
    k.close()
    shutil.rmtree(tmp_path / "A")
    shutil.move(tmp_path / "A-backup", tmp_path / "A")
    return open_chain_kiosk(tmp_path, clock, "A"), lost, member


def test_a_lost_tail_stops_every_sale_until_its_own_events_are_restored(tmp_path: Path, clock) -> None:
    k, lost, member = _backup_behind(tmp_path, clock)
    head = k.chain.head()
    state = k.chain.record_ack(lost[-1].seq, None)
    assert state.lost_tail == lost[-1].seq
    with pytest.raises(LedgerBehindHub, match=f"missing events up to {lost[-1].seq}.*memberkiosk sync restore"):
        spend(k, member, 1)
    with pytest.raises(LedgerBehindHub):
        member_with(k, "13800138009", 100)  # any unit, not only sales
    assert k.chain.head() == head
    assert k.chain.pull_request(restore=True) == {"events": {}, "directory": 0, "restore": head}
    half = len(lost) // 2
    k.chain.apply_events_page(lost[:half], {"A": lost[half - 1].seq}, restoring=True)
    assert k.chain.state().lost_tail == lost[-1].seq  # not all back yet
    report = k.chain.apply_events_page(lost[half:], {"A": lost[-1].seq}, restoring=True)
    assert report.new == len(lost) - half and k.chain.state().lost_tail is None
    assert k.chain.state().cursors == {}  # own events are not an origin cursor: the head is
    assert stored(k, member) == 10_000 - 3 * 750
    k.chain.set_allowances(1, lost[-1].seq, {member: {"stored_value": 5_000}})  # all acked: spent from a grant
    spend(k, member, 1)  # selling again, after the restored events
    assert k.chain.head() == lost[-1].seq + 1 and stored(k, member) == 10_000 - 4 * 750
    assert clean(k) == []
    k.close()


def test_restore_refuses_own_events_that_leave_a_gap_and_pages_that_are_not_restores(tmp_path: Path, clock) -> None:
    k, lost, _member = _backup_behind(tmp_path, clock)
    head = k.chain.head()
    k.chain.record_ack(lost[-1].seq, None)
    with pytest.raises(LedgerClash, match="gap"):
        k.chain.apply_events_page(lost[1:], {"A": lost[-1].seq}, restoring=True)
    with pytest.raises(LedgerClash, match="restored from an older backup"):
        k.chain.apply_events_page(lost, {"A": lost[-1].seq})
    assert k.chain.head() == head and k.chain.state().lost_tail == lost[-1].seq
    k.close()


def test_a_page_and_its_cursors_move_together_or_not_at_all(chained: Kiosk, tmp_path, clock, monkeypatch) -> None:
    b = open_chain_kiosk(tmp_path, clock, "B")
    load_shop(b)
    member = member_with(b, "13800138000", 5_000)
    page = events_of(b)
    count = len(events_of(chained))

    def broken(conn, upto):
        raise OSError("power cut between the events and the cursors")

    monkeypatch.setattr(chain_state, "advance_cursors", broken)
    with pytest.raises(OSError):
        chained.chain.apply_events_page(page, {"B": page[-1].seq})
    assert len(events_of(chained)) == count and chained.chain.state().cursors == {}
    monkeypatch.undo()
    foreign_own = [e for e in events_of(chained) if e.kiosk_id == "A"][:1]
    with pytest.raises(LedgerClash):  # a bad event in the page: its cursors stay too
        chained.chain.apply_events_page([*page, *[_renumbered(e) for e in foreign_own]], {"B": page[-1].seq})
    assert chained.chain.state().cursors == {}
    report = chained.chain.apply_events_page(page, {"B": page[-1].seq, "C": 4})
    assert report.new == len(page) and chained.chain.state().cursors == {"B": page[-1].seq, "C": 4}
    assert chained.chain.apply_events_page([], {"B": 1, "C": 9}).new == 0  # cursors never move back
    assert chained.chain.state().cursors == {"B": page[-1].seq, "C": 9}
    assert stored(chained, member) == 5_000
    assert chained.chain.pull_request() == {"events": {"B": page[-1].seq, "C": 9}, "directory": 0, "restore": None}
    b.close()


def _renumbered(e: Event) -> Event:
    """An event of this kiosk that its ledger lacks: what a page must never slip in outside a restore."""
    return dataclasses.replace(e, id=e.id[:-4] + "ffff", seq=e.seq + 10_000)


def test_allowances_replace_a_members_whole_allowance_in_as_of_then_epoch_order(chained: Kiosk) -> None:
    sync = chained.chain
    assert sync.set_allowances(100, 5, {"M1": {"stored_value": 3_000, "visits": {"WASH-10": 2}}, "M2": {"points": 50}}) == 2
    assert sync.set_allowances(90, 5, {"M1": {"stored_value": 1}}) == 0  # same as_of, older epoch
    assert sync.set_allowances(50, 4, {"M1": {"stored_value": 1}}) == 0  # older as_of, whatever the epoch
    assert sync.set_allowances(100, 5, {"M2": {"points": 60}}) == 1  # equal: the same grant again, or a fresher copy
    assert sync.set_allowances(10, 6, {"M1": {"points": 7}}) == 1  # newer as_of: replaces whole, stored value gone
    rows = {(r["member_id"], r["kind"]): (r["amount"], r["as_of"]) for r in sync.status()["allowances"]}
    assert rows == {("M1", "points"): (7, 6), ("M2", "points"): (60, 5)}
    sync.set_allowances(200, 6, {"M1": {"visits": {"WASH-10": 3}}})
    assert {r["kind"] for r in sync.status()["allowances"] if r["member_id"] == "M1"} == {"visits:WASH-10"}


def test_documents_are_applied_once_per_version_and_a_bad_one_changes_nothing(chained: Kiosk) -> None:
    sync = chained.chain
    rules = (DEMO / "rules.toml").read_text(encoding="utf-8").replace('value = "40"', 'value = "50"')
    assert sync.apply_document("rules", "toml", 2, rules) is True
    assert chained.sales.docs.current()[0].redemption.value == 5_000
    assert sync.apply_document("rules", "toml", 2, rules) is False and sync.apply_document("rules", "toml", 1, "") is False
    with pytest.raises(DocumentRefused, match="version 3 was refused.*keeps version 2"):
        sync.apply_document("rules", "toml", 3, "[tiers\n")
    assert chained.sales.docs.current()[0].redemption.value == 5_000
    catalog = (DEMO / "catalog.csv").read_text(encoding="utf-8").replace("薯片,7.50", "薯片,8.00")
    assert sync.apply_document("catalog", "csv", 1, catalog) is True
    assert chained.sales.catalog()["CHIPS"].price == parse_catalog(catalog, "csv")["CHIPS"].price == 800
    with pytest.raises(DocumentRefused):
        sync.apply_document("settings", "json", 1, "{}")
    assert sync.status()["documents"] == {"catalog": 1, "rules": 2}


def test_status_says_the_link_the_backlog_cursors_and_allowances(chained: Kiosk, clock) -> None:
    member = member_with(chained, "13800138000", 1_000)
    assert set(chained.chain.status()) >= {"connected", "since", "unacked", "acked_seq", "last_ack_at", "head",
                                          "lost_tail", "cursors", "directory", "allowances"}
    chained.chain.set_connected(True)
    since = clock.now
    clock.advance(5_000)
    chained.chain.set_connected(True)  # no change of state: since stays
    chained.chain.record_ack(2, None)
    chained.chain.set_allowances(1, 2, {member: {"stored_value": 500}})
    status = chained.chain.status()
    head = chained.chain.head()
    assert (status["connected"], status["since"], status["head"], status["acked_seq"], status["unacked"]) == (
        True, since, head, 2, head - 2)
    assert status["last_ack_at"] == clock.now and status["lost_tail"] is None
    assert status["directory"]["unacked"] == len(chained.chain.directory_outbox(0, 100))
    assert status["allowances"] == [{"member_id": member, "kind": "stored_value", "amount": 500, "as_of": 2}]
    chained.chain.set_connected(False)
    assert chained.chain.state().connected is False and chained.chain.state().connected_since == clock.now
