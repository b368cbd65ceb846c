"""The schema layer: batches round trip, and every malformed, oversized or replayed message is refused with a reason."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from core.codec import dumps, to_wire
from mqtt import messages, topics
from mqtt.messages import BadMessage, Malformed, Oversized, Replayed, ReplayGuard, UnsupportedVersion, WrongSender
from tests.mqtt.events import T0, change, event, events

UP = topics.up("shop1", "shop1-k1", "events")


def envelope(kind: str = "events", body: dict | None = None, **changes: object) -> dict:
    doc = {"v": 1, "kind": kind, "id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "from": "shop1-k1", "ts": T0,
           "body": body if body is not None else {"events": [to_wire(event())], "head": 1}}
    doc.update(changes)
    return doc


def raw(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def test_a_batch_of_events_round_trips() -> None:
    sent = events(3)
    [(payload, batch)] = list(messages.event_batches("shop1-k1", T0, sent, head=3))
    assert batch == sent
    msg = messages.decode(UP, payload)
    assert msg.body.items == tuple(sent) and msg.body.head == 3 and msg.sender == "shop1-k1" and msg.route.kind == "events"
    assert json.loads(payload)["body"]["events"][0] == to_wire(sent[0])  # the one event codec, spliced in


def test_batches_respect_the_size_and_count_limits_and_keep_the_order() -> None:
    sent = events(1200)
    out = list(messages.event_batches("shop1-k1", T0, sent, head=1200, limit=60_000))
    assert [e for _p, batch in out for e in batch] == sent
    assert all(len(p) <= 60_000 and len(b) <= messages.MAX_BATCH for p, b in out)
    assert all(messages.decode(UP, p).body.items == tuple(b) for p, b in out)
    assert len({json.loads(p)["id"] for p, _b in out}) == len(out)  # each message its own id
    assert [len(b) for _p, b in messages.event_batches("shop1-k1", T0, sent, head=1200)] == [500, 500, 200]


def test_directory_changes_round_trip() -> None:
    [(payload, batch)] = list(messages.change_batches("shop1-k1", T0, [change()], upto=7))
    body = messages.decode(topics.up("shop1", "shop1-k1", "directory"), payload).body
    assert body.items == tuple(batch) and body.upto == 7


def test_down_messages_are_checked_by_their_kind() -> None:
    ack_body = {"acked_seq": 41, "resend_from": None, "directory": 3}
    ack = messages.encode("acks", "hub", T0, ack_body)
    assert messages.decode(topics.down("shop1", "shop1-k1", "acks"), ack).body == ack_body
    page = messages.encode("events", "hub", T0, {"events": [], "upto": {"shop2-k1": 9}, "more": False})
    assert messages.decode(topics.down("shop1", "shop1-k1", "events"), page).body.upto == {"shop2-k1": 9}
    pull = {"events": {"shop2-k1": 9}, "directory": 4, "restore": None}
    assert messages.decode(topics.up("shop1", "shop1-k1", "pull"),
                           messages.encode("pull", "shop1-k1", T0, pull)).body == pull
    grant = {"epoch": 3, "as_of": 40, "allowances": {"shop1-k1-000001": {"stored_value": 5000, "points": 0, "visits": {"p1": 2}}}}
    assert messages.decode(topics.down("shop1", "shop1-k1", "allowances"),
                           messages.encode("allowances", "hub", T0, grant)).body == grant
    doc = {"name": "rules", "format": "toml", "version": 2, "text": "[tiers]\n"}
    assert messages.decode(topics.document("shop1", "rules"), messages.encode("documents", "hub", T0, doc)).body == doc
    with pytest.raises(Malformed, match="acked_seq"):
        messages.decode(topics.down("shop1", "shop1-k1", "acks"),
                        messages.encode("acks", "hub", T0, {"acked_seq": -1, "resend_from": None, "directory": None}))


def test_spend_requests_carry_correlation_data_and_the_senders_own_reply_topic() -> None:
    topic, reply = topics.up("shop1", "shop1-k1", "spend"), topics.down("shop1", "shop1-k1", "spend")
    payload = messages.encode("spend", "shop1-k1", T0, {"member_id": "m1", "amounts": {"stored_value": 1500}})
    msg = messages.decode(topic, payload, response_topic=reply, correlation=b"\x01\x02")
    assert msg.body["amounts"] == {"stored_value": 1500} and msg.correlation == b"\x01\x02"
    with pytest.raises(Malformed, match="correlation"):
        messages.decode(topic, payload, response_topic=reply)
    with pytest.raises(WrongSender, match="not the sender's own"):
        messages.decode(topic, payload, response_topic=topics.down("shop1", "shop1-k2", "spend"), correlation=b"1")
    answer = messages.encode("spend", "hub", T0, {"granted": False, "reason": "balance", "allowance": {}, "as_of": 0})
    assert messages.decode(reply, answer, correlation=b"1").body["granted"] is False


@pytest.mark.parametrize("payload, error, reason", [
    (b"\xff\xfe{", Malformed, "not UTF-8"),
    (b"{not json", Malformed, "not strict JSON"),
    (b"[1, 2]", Malformed, "not a JSON object"),
    (b'{"v": 1, "v": 1}', Malformed, "duplicate key"),
    (raw(envelope(ts=float("nan"))), Malformed, "NaN"),
    (b"[" * 100_000 + b"]" * 100_000, Malformed, "not strict JSON"),
    (raw(envelope(v=2)), UnsupportedVersion, "envelope version 2"),
    (raw({**envelope(), "extra": 1}), Malformed, "unknown \\['extra'\\]"),
    (raw({k: v for k, v in envelope().items() if k != "ts"}), Malformed, "missing \\['ts'\\]"),
    (raw(envelope(kind="acks")), Malformed, "'acks' message on a events topic"),
    (raw(envelope(id="1")), Malformed, "message id"),
    (raw(envelope(ts=-5)), Malformed, "ts -5"),
    (raw(envelope(**{"from": "shop1-k2"})), WrongSender, "sent from 'shop1-k2'"),
    (raw(envelope(body={"events": [], "head": 1})), Malformed, "one or more"),
    (raw(envelope(body={"events": [to_wire(event())], "head": 1, "more": 1})), Malformed, "body must be"),
    (raw(envelope(body={"events": [to_wire(event())]})), Malformed, "body must be"),
    (raw(envelope(body={"events": [to_wire(event(seq=5))], "head": 4})), Malformed, "head 4 is below"),
    (raw(envelope(body={"events": [{**to_wire(event()), "seq": 0}], "head": 1})), Malformed, "seq = 0"),
    (raw(envelope(body={"events": [{**to_wire(event()), "deltas": {"points": 1.5}}], "head": 1})), Malformed, "deltas"),
    (raw(envelope(body={"events": [to_wire(event(kiosk="shop1-k2"))], "head": 1})), WrongSender, "shop1/shop1-k2 sent on"),
    (raw(envelope(body={"events": [to_wire(event(store="shop2"))], "head": 1})), WrongSender, "shop2/shop1-k1"),
    (raw(envelope(body={"events": [to_wire(event())] * 501, "head": 1})), Malformed, "at most 500"),
])
def test_malformed_messages_are_refused_with_a_reason(payload: bytes, error: type, reason: str) -> None:
    with pytest.raises(error, match=reason) as caught:
        messages.decode(UP, payload)
    assert caught.value.topic == UP and caught.value.reason


def test_a_message_on_a_topic_outside_the_tree_is_malformed() -> None:
    with pytest.raises(Malformed, match="not under mk/v1"):
        messages.decode("elsewhere/x", raw(envelope()))


def test_oversized_messages_are_refused_before_they_are_parsed() -> None:
    with pytest.raises(Oversized, match="over the"):
        messages.decode(UP, b" " * (messages.MAX_PAYLOAD + 1))
    with pytest.raises(Oversized):
        messages.encode("documents", "hub", T0, {"name": "rules", "format": "toml", "version": 1,
                                                 "text": "x" * messages.MAX_PAYLOAD})
    huge = event()
    huge = type(huge)(**{**huge.__dict__, "data": {"note": "x" * 100_000}})
    with pytest.raises(Oversized, match="cannot fit"):
        list(messages.event_batches("shop1-k1", T0, [huge], head=1, limit=50_000))


def test_a_replayed_message_id_is_refused() -> None:
    guard = ReplayGuard(capacity=2)
    [(payload, _b)] = list(messages.event_batches("shop1-k1", T0, events(2), head=2))
    guard.check(messages.decode(UP, payload))
    with pytest.raises(Replayed, match="already received"):
        guard.check(messages.decode(UP, payload))
    for _ in range(2):  # the guard is bounded: the oldest ids are forgotten
        guard.check(messages.decode(UP, messages.encode("events", "shop1-k1", T0, {"events": [to_wire(event())], "head": 1})))
    guard.check(messages.decode(UP, payload))


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["v", "kind", "id", "from", "ts", "body", "events", "seq"]), inner, max_size=6), max_leaves=30,
).map(lambda doc: dumps(doc).encode())))
def test_no_payload_raises_anything_but_a_bad_message(payload: bytes) -> None:
    try:
        messages.decode(UP, payload)
    except BadMessage as e:
        assert e.reason
