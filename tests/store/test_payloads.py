"""Typed event payloads: lossless round trips for every type, newer versions kept intact down to the ledger bytes,
and the producers writing exactly the data they wrote before payloads existed."""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import types
import typing

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from core import events as ev, payloads
from core.catalog import Product, to_document
from core.codec import dumps, from_wire, to_wire
from core.errors import KioskError
from core.events import Event, EventDraft
from core.ledger import fold
from core.payloads import BadPayload, SaleCompleted, SaleLine, TierChanged, Unknown, decode, encode
from core.points import expiry_drafts, topup_drafts
from core.quote import QuoteLine, quote
from core.refunds import refund_drafts
from core.tiers import tier_change_drafts, yearly_review_drafts
from kiosk.app import Kiosk
from kiosk.ids import new_event_id
from kiosk.services.audit import fingerprint
from kiosk.services.members import Registration
from kiosk.services.transfer import import_members
from kiosk.store.ledger import EVENT_COLUMNS, all_events, event_from_row, insert
from tests.pricing.conftest import RULES, member
from tests.pricing.strategies import DAYS, baskets, catalogs, coupon_lists, members, rulebooks, tenders

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EVENT_TYPES = sorted(v for k, v in vars(ev).items() if k.isupper() and isinstance(v, str) and "." in v)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _extra(known: typing.Iterable[str]) -> st.SearchStrategy[dict]:
    """Keys a newer version might add: anything this software does not know."""
    return st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k not in set(known)), json_values, max_size=3)


def _values(hint: typing.Any) -> st.SearchStrategy:
    """Values of a payload field's type (the same types core.payloads can encode)."""
    if hint in (int, str, bool):
        return st.from_type(hint)
    if hint is SaleLine:
        hints = {k: h for k, h in typing.get_type_hints(SaleLine).items() if k != "extra"}
        return st.builds(lambda known, extra: SaleLine(**known, extra=extra),
                         st.fixed_dictionaries({k: _values(h) for k, h in hints.items()}), _extra(hints))
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return st.none() | _values(next(a for a in args if a is not type(None)))
    return st.lists(_values(args[0]), max_size=3).map(tuple)  # tuple[X, ...]


def _payloads(cls: type[payloads.Payload]) -> st.SearchStrategy[payloads.Payload]:
    hints = typing.get_type_hints(cls)
    own = [f for f in dataclasses.fields(cls) if f.name != "extra"]
    keys = [f.metadata.get("key") or f.name for f in own]
    return st.builds(lambda known, extra: cls(**known, extra=extra),
                     st.fixed_dictionaries({f.name: _values(hints[f.name]) for f in own}), _extra(keys))


any_payload = st.sampled_from(sorted(payloads.REGISTRY.values(), key=lambda c: c.TYPE)).flatmap(_payloads)


def test_every_event_type_has_a_registered_payload_at_version_1() -> None:
    assert sorted(payloads.REGISTRY) == EVENT_TYPES
    assert {cls.VERSION for cls in payloads.REGISTRY.values()} == {1}  # rows written so far keep their checksums


@SETTINGS
@given(any_payload)
def test_a_payload_survives_encode_json_and_decode(p: payloads.Payload) -> None:
    data = json.loads(dumps(encode(p)))
    assert decode(p.event_type, data, p.version) == p
    assert encode(decode(p.event_type, data, p.version)) == data


@SETTINGS
@given(any_payload, st.data())
def test_decode_then_encode_gives_back_any_data_dict_of_a_newer_version(p: payloads.Payload, data: st.DataObject) -> None:
    written = encode(p)
    for key in (f.metadata.get("key") or f.name for f in dataclasses.fields(p) if f.metadata.get("optional")):
        if data.draw(st.booleans()):
            written[key] = None  # an explicit null where this version writes nothing
    before = dumps(written)
    assert encode(decode(p.event_type, written, 7)) == written
    assert dumps(written) == before  # decoding never touches the event's own data


@SETTINGS
@given(st.from_regex(r"loyalty\.[a-z_]{1,12}", fullmatch=True), st.dictionaries(st.text(max_size=6), json_values),
       st.integers(1, 9))
def test_an_unknown_event_type_keeps_its_data_and_version(event_type: str, data: dict, v: int) -> None:
    p = decode(event_type, data, v)
    assert isinstance(p, Unknown) and encode(p) == data
    assert EventDraft.of(p, "m1") == EventDraft(event_type, "m1", data, {}, v)


def test_data_that_does_not_fit_its_type_names_the_key() -> None:
    with pytest.raises(BadPayload, match=r"tier.changed \(v2\) has no 'from'"):
        decode(ev.TIER_CHANGED, {"tier": "金卡", "reason": "upgrade"}, 2)
    with pytest.raises(BadPayload, match=r"stored_value.topped_up \(v1\): amount = '5' is not a whole number"):
        decode(ev.TOPPED_UP, {"amount": "5"})
    with pytest.raises(BadPayload, match="lines holds a line whose qty = True is not a whole number"):
        line = encode(SaleCompleted((_line(),), (), 0, 0, "2026-11-23", None, 0))["lines"][0]
        decode(ev.SALE_COMPLETED, {**_sale_v2(), "lines": [{**line, "qty": True}]})


def test_drafts_and_events_give_their_typed_payload() -> None:
    draft = EventDraft.of(TierChanged("金卡", "银卡", "upgrade"), "m1", {"points": 5})
    data = {"tier": "金卡", "from": "银卡", "reason": "upgrade"}
    assert draft == EventDraft(ev.TIER_CHANGED, "m1", data, {"points": 5}, 1)
    assert payloads.of(draft) == TierChanged("金卡", "银卡", "upgrade") and payloads.of(draft).previous == "银卡"


def test_a_sale_line_is_a_quote_line_field_for_field() -> None:
    assert SaleLine._fields == (*QuoteLine._fields, "extra")
    line = QuoteLine("TEA-500", "绿茶", 1, 350, 350, 0, 0, 0, 350, None, 0, 0, 0, 0, 0, 350, 0, 3, True, None, 0)
    sale = SaleCompleted((SaleLine.of(line),), (), 350, 0, "2026-11-23", None, 0)
    assert SaleLine.of(line) == SaleLine(*line) and encode(sale)["lines"] == [line._asdict()]
    assert typing.get_type_hints(SaleLine) == {**typing.get_type_hints(QuoteLine), "extra": typing.Mapping[str, typing.Any]}


# A newer kiosk's sale: a key on the sale and one on each line that this software has never heard of.

def _line(**kw: typing.Any) -> SaleLine:
    values = dict(sku="TEA-500", name="绿茶 500ml", qty=2, price=350, gross=700, discount=140, threshold=0, coupon=0,
                  net=560, visits_pack=None, visits_used=0, visits_fen=0, points_used=0, points_fen=0, stored_value=560,
                  cash=0, external=0, earned=8, stocked=True, pack_bought=None, pack_visits=0)
    return SaleLine(**{**values, **kw})


def _sale_v2() -> dict:
    sale = SaleCompleted((_line(), _line(sku="NUTS", name="坚果", qty=1)), ("WELCOME10",), 0, 0, "2026-11-23", "金卡", 0)
    data = encode(sale)
    data["channel"] = {"kind": "mini-program", "campaign": ["双11", 2026]}
    for n, line in enumerate(data["lines"]):
        line["tax_code"] = f"T{n}"
    return data


def test_a_newer_sale_is_stored_byte_identical_and_folded_by_what_it_moves(kiosk: Kiosk) -> None:
    data = _sale_v2()
    sale = decode(ev.SALE_COMPLETED, data, 2)
    assert isinstance(sale, SaleCompleted) and sale.extra == {"channel": data["channel"]}
    assert [line.extra for line in sale.lines] == [{"tax_code": "T0"}, {"tax_code": "T1"}]
    assert encode(sale) == data and dumps(encode(sale)) == dumps(data)
    txn = new_event_id(1_700_000_000_000)
    tier = Event(new_event_id(1_700_000_000_000), "k9", "s1", 2, 1_700_000_000_001, txn, ev.TIER_CHANGED, "M9",
                 {"tier": "金卡", "from": "银卡", "reason": "upgrade", "campaign": "双11"}, {}, "C01", 3)
    foreign = [
        from_wire(json.loads(dumps({**to_wire(tier), "id": txn, "seq": 1, "type": ev.SALE_COMPLETED, "data": data,
                                    "deltas": {"points": 16, "stored_value": -1120, "lifetime_spend": 1120}, "v": 2}))),
        tier,
    ]
    with kiosk.db.transaction() as conn:
        insert(conn, foreign, kiosk.gateway.chain)
    with kiosk.db.reading() as conn:
        rows = conn.execute(f"SELECT {EVENT_COLUMNS} FROM events WHERE kiosk_id = 'k9' ORDER BY seq").fetchall()
        checked = [(stored, computed) for _, e, stored, computed in all_events(conn) if e.kiosk_id == "k9"]
    assert [row[8] for row in rows] == [dumps(e.data) for e in foreign] and rows[0][8] == dumps(data)
    back = [event_from_row(row) for row in rows]
    assert back == foreign and [e.v for e in back] == [2, 3]
    assert all(stored == computed for stored, computed in checked)
    assert encode(payloads.of(back[0])) == data and payloads.of(back[1]).extra == {"campaign": "双11"}
    opening = [EventDraft.of(payloads.MemberRegistered(1), "M9"),
               EventDraft.of(payloads.ToppedUp(2000, 0, 0), "M9", {"stored_value": 2000})]
    b = fold([*opening, *back])[0]["M9"]
    assert (b.points, b.stored_value, b.lifetime_spend, b.tier) == (16, 880, 1120, "金卡")


# The producers write the very dicts they wrote before payloads (same keys, same values), so old ledgers,
# their checksums and every reader stay valid. The expected dicts below are the old hand-built ones.

def _old_sale_drafts(q, m, rules, today: dt.date) -> list[tuple[str, dict]]:
    old = [(ev.SALE_COMPLETED, {
        "lines": [line._asdict() for line in q.lines], "coupons": list(q.coupons), "cash_given": q.cash_given,
        "change": q.change, "day": today.isoformat(), "tier": m.tier if m else None, "birthday_bonus": q.birthday_bonus,
    })]
    for n, line in enumerate(q.lines):
        if line.pack_bought:
            days = rules.punch_cards[line.pack_bought].valid_days
            old.append((ev.VISITS_SOLD, {"pack": line.pack_bought, "line": n,
                                         "expires": (today + dt.timedelta(days=days)).isoformat() if days else None}))
    old += [(ev.COUPON_REDEEMED, {"code": code}) for code in q.coupons]
    if q.birthday_bonus:
        old.append((ev.BIRTHDAY_BONUS, {"year": today.year, "points": q.birthday_bonus}))
    return old


def _old_refund_data(sale_id: str, sale: dict, m, todo: list[int]) -> dict:
    picked = [sale["lines"][i] for i in todo]
    back = {k: sum(line[k] for line in picked) for k in ("points_used", "earned", "stored_value", "cash", "external")}
    clawed = min(back["earned"], m.points + back["points_used"]) if m else back["earned"]
    return {"sale": sale_id, "lines": todo, "cash": back["cash"], "external": back["external"],
            "stored_value": back["stored_value"], "points_back": back["points_used"], "points_clawed": clawed,
            "points_short": back["earned"] - clawed}


@SETTINGS
@given(st.data(), rulebooks(), catalogs(), baskets, members(), coupon_lists, DAYS)
def test_sales_and_refunds_write_the_data_they_wrote_before(data, rules, catalog, basket, m, coupons, day) -> None:
    try:
        q = quote(basket, m, rules, catalog, coupons, data.draw(tenders(rules, m)), dt.datetime.combine(day, dt.time(12)))
    except KioskError:
        return
    sale_drafts = [d for d in q.drafts if d.type != ev.TIER_CHANGED]
    assert [(d.type, dumps(d.data)) for d in sale_drafts] == [(t, dumps(d)) for t, d in _old_sale_drafts(q, m, rules, day)]
    for d in q.drafts:
        if d.type == ev.TIER_CHANGED:
            assert d.data == {"tier": q.tier_after, "from": q.tier_before, "reason": "upgrade"}
    assert {d.v for d in q.drafts} == {1}
    sale = json.loads(dumps(q.drafts[0].data))
    todo = sorted(data.draw(st.sets(st.integers(0, len(q.lines) - 1), min_size=1)))
    try:
        refund, *reinstated = refund_drafts("S1", sale, m, set(), todo, rules.coupons, day)
    except KioskError:
        return
    assert (refund.type, dumps(refund.data), refund.v) == (ev.SALE_REFUNDED, dumps(_old_refund_data("S1", sale, m, todo)), 1)
    whole = len(todo) == len(q.lines)
    valid = [c for c in q.coupons if whole and c in rules.coupons and rules.coupons[c].valid_on(day)]
    assert [(d.type, d.data) for d in reinstated] == [(ev.COUPON_REINSTATED, {"code": c, "sale": "S1"}) for c in valid]


def test_points_and_tiers_write_the_data_they_wrote_before() -> None:
    assert topup_drafts("M1", 100_000, RULES)[0].data == {"amount": 100_000, "bonus_value": 20_000, "bonus_points": 0}
    assert topup_drafts("M1", 200_000, RULES)[0].data == {"amount": 200_000, "bonus_value": 0, "bonus_points": 2000}
    assert topup_drafts("M1", 1, None)[0].data == {"amount": 1, "bonus_value": 0, "bonus_points": 0}
    [expired] = expiry_drafts("M1", [(dt.date(2025, 3, 1), 500)], dt.date(2027, 1, 1), RULES)
    assert expired.data == {"earned_year": 2025, "expired_on": "2026-12-31"}
    [down] = yearly_review_drafts(member("金卡", lifetime_spend=150_000), RULES)
    assert down.data == {"tier": "银卡", "from": "金卡", "reason": "review"}
    [up] = tier_change_drafts(member("普通"), 10**9, RULES)
    assert up.data == {"tier": "VIP", "from": "普通", "reason": "upgrade"}


def test_the_kiosk_services_write_the_data_they_wrote_before(kiosk: Kiosk, clock) -> None:
    view = kiosk.members.register(Registration(phone="13800138000", consent=True, card="04A1B2C3"))
    member_id = view.member.member_id
    kiosk.members.link_card(member_id, "04D5E6F7")
    kiosk.members.block_card("04A1B2C3")
    kiosk.members.edit(member_id, name="张三", phone="13800138009")
    staff = kiosk.staff.add("C01", "收银 李", "cashier", "000000")
    kiosk.staff.punch(staff, True)
    kiosk.staff.punch(staff, False)
    catalog = {"TEA-500": Product(sku="TEA-500", name="绿茶", price=350, category="drinks", stock=12)}
    kiosk.sales.load_catalog(catalog)
    csv = io.StringIO("phone,name,stored_value\n13900139000,李四,100\n")
    assert import_members(kiosk.members, csv, dt.date(2026, 11, 23)).imported == 1
    kiosk.members.erase(member_id)
    with kiosk.db.reading() as conn:
        rows = conn.execute("SELECT type, data, v FROM events ORDER BY pos").fetchall()
    imported = json.loads(rows[-3][1])  # the imported member registers like any other: consent_at is the import's time
    assert rows == [
        (ev.MEMBER_REGISTERED, dumps({"consent_at": view.member.created_at}), 1),
        (ev.CARD_LINKED, dumps({"uid": "04A1B2C3"}), 1),
        (ev.CARD_LINKED, dumps({"uid": "04D5E6F7"}), 1),
        (ev.CARD_BLOCKED, dumps({"uid": "04A1B2C3", "reason": "lost"}), 1),
        (ev.MEMBER_EDITED, dumps({"fields": ["name", "phone"]}), 1),
        (ev.CLOCKED_IN, dumps({"staff_no": "C01"}), 1),
        (ev.CLOCKED_OUT, dumps({"staff_no": "C01"}), 1),
        (ev.STOCK_ADJUSTED, dumps({"reason": "catalog load"}), 1),
        (ev.CATALOG_LOADED, dumps({"products": 1, "sha256": fingerprint(to_document(catalog))}), 1),
        (ev.MEMBER_REGISTERED, dumps(imported), 1),
        (ev.TOPPED_UP, dumps({"amount": 10_000, "source": "import"}), 1),
        (ev.MEMBER_ERASED, dumps({}), 1),
    ]
    assert set(imported) == {"consent_at"}
