"""The member directory feed: records replicate between kiosks and concurrent changes merge to one record."""
from __future__ import annotations

import itertools
from pathlib import Path

from core.directory import CARD_BLOCKED, CARD_LINKED, EDITED, ERASED, REGISTERED, Change, merge
from kiosk.services.members import Registration
from tests.sync.helpers import clean, exchange

REG = Change("c1", "A-000001", "A", 1_000, REGISTERED, {"phone": "13800138000", "name": "张三", "gender": "M"})
EDIT_A = Change("c2", "A-000001", "A", 2_000, EDITED, {"name": "张三丰"})
EDIT_B = Change("c3", "A-000001", "B", 2_000, EDITED, {"name": "张叁", "gender": "F"})  # same ms: kiosk B > A
ERASE = Change("c4", "A-000001", "B", 1_500, ERASED)
LINK = Change("c5", "A-000001", "A", 1_000, CARD_LINKED, {"uid": "04A1B2C3"})
BLOCK = Change("c6", "A-000001", "B", 900, CARD_BLOCKED, {"uid": "04A1B2C3"})


def test_concurrent_edits_merge_to_one_record_in_every_order() -> None:
    records = [merge("A-000001", order) for order in itertools.permutations([REG, EDIT_A, EDIT_B, LINK, BLOCK, EDIT_A])]
    record = records[0]
    assert all(r == record for r in records)
    assert (record.get("name"), record.get("gender"), record.get("phone")) == ("张叁", "F", "13800138000")
    assert record.cards["04A1B2C3"].status == "blocked"  # blocked wins over active, even with an older stamp


def test_erasure_wins_whether_it_arrives_before_or_after_an_edit() -> None:
    for order in itertools.permutations([REG, EDIT_A, ERASE]):
        record = merge("A-000001", order)
        assert record.erased_at == 1_500
        assert all(record.get(f) is None for f in ("phone", "name", "gender", "pin_hash"))


def test_a_member_registered_at_a_is_found_at_b_with_cards_and_edits_merged(pair, tmp_path: Path) -> None:
    a, b = pair
    member = a.members.register(Registration(phone="13800138000", consent=True, name="张三", card="04A1B2C3",
                                             pin="123456")).member.member_id
    exchange(a, b, tmp_path)
    assert b.members.by_phone("13800138000").member.name == "张三"
    assert b.members.by_card("04A1B2C3").member.member_id == member
    b.members.check_pin(member, "123456")
    a.members.edit(member, name="张三丰")  # offline at both kiosks, the same instant (the fake clock stands still)
    b.members.edit(member, gender="F", name="张叁")
    b.members.block_card("04A1B2C3")
    exchange(a, b, tmp_path)
    for k in (a, b):
        view = k.members.get(member)
        assert (view.member.name, view.member.gender, view.cards) == ("张叁", "F", [("04A1B2C3", "blocked")])
        assert clean(k) == []


def test_erasure_at_one_kiosk_clears_the_record_and_the_feed_everywhere(pair, tmp_path: Path, clock) -> None:
    a, b = pair
    member = a.members.register(Registration(phone="13800138000", consent=True, name="张三")).member.member_id
    exchange(a, b, tmp_path)
    clock.advance(1_000)
    a.members.edit(member, name="张三丰")  # this edit reaches B after B's erasure
    b.members.erase(member)
    exchange(a, b, tmp_path)
    for k in (a, b):
        view = k.members.get(member)
        assert view.member.erased_at is not None and (view.member.phone, view.member.name) == (None, None)
        with k.db.reading() as conn:
            feed = " ".join(r[0] for r in conn.execute("SELECT fields FROM directory"))
        assert "张三" not in feed and "13800138000" not in feed
        assert clean(k) == []


def test_one_phone_registered_offline_at_two_kiosks_is_kept_by_the_first_and_flagged(pair, tmp_path: Path, clock) -> None:
    a, b = pair
    first = a.members.register(Registration(phone="13800138000", consent=True, name="张三")).member.member_id
    clock.advance(60_000)
    second = b.members.register(Registration(phone="13800138000", consent=True, name="李四")).member.member_id
    exchange(a, b, tmp_path)
    for k in (a, b):
        assert k.members.by_phone("13800138000").member.member_id == first
        assert k.members.get(second).member.phone is None
        assert [(c["member_id"], c["field"], c["kept_by"]) for c in k.sync.flags()["conflicts"]] == [(second, "phone", first)]
        assert clean(k) == []
    a.members.edit(first, phone="13900139000")  # the first member moves to another number: the second gets theirs
    exchange(a, b, tmp_path)
    for k in (a, b):
        assert k.members.by_phone("13800138000").member.member_id == second
        assert k.sync.flags()["conflicts"] == []
        assert clean(k) == []
