"""Message schemas of the chain: one versioned envelope, a size limit, and strict validation of everything received.

A message is canonical JSON: {"v": 1, "kind": ..., "id": UUIDv7, "from": sender id, "ts": ms, "body": {...}}.
The body's schema is chosen by the topic's direction and kind (mqtt/topics.py), never by what the payload says
of itself, and ids in the body must agree with the topic, which the broker's ACL has authenticated. `decode`
raises a BadMessage subclass naming the reason for anything else, so a receiver logs it, drops the message and
goes on: a peer's bug or a hostile payload never crashes the agent or the hub. Events travel in batches through
the one event codec (core/codec.py), member changes through the directory codec (core/directory.py).

The bodies (counts are non-negative integers; ids are topic-safe):
    up/events        {"events": [1-500 own events, in sequence order], "head": the kiosk's highest sequence}
    up/directory     {"changes": [1-500 own changes], "upto": the kiosk's feed position of the last one}
    up/spend         {"member_id", "amounts": what the kiosk needs beyond its allowance}  (+ response topic, correlation)
    up/pull          {"events": {origin kiosk: highest sequence held}, "directory": hub feed position held,
                      "restore": null, or the kiosk's own highest sequence when it restores its lost tail}
    down/acks        {"acked_seq": the hub's watermark of this kiosk, "resend_from": first missing sequence or null,
                      "directory": the `upto` of the kiosk's directory message just applied, or null}
    down/events      {"events": [0-500 events of other kiosks], "upto": {origin: sequence the page completes},
                      "more": whether another page follows}
    down/directory   {"changes": [0-500 changes], "upto": hub feed position the page completes, "more": bool}
    down/allowances  {"epoch": hub time of the grant, "as_of": this kiosk's watermark when it was read,
                      "allowances": {member: amounts}}: replaces the listed members' allowances whole
    down/spend       {"granted", "reason", "allowance": the member's whole allowance now, "as_of"} (+ correlation)
    documents        {"name", "format", "version", "text"}
    up/enrol         {"nonce": the enrolment token's, "expires_at": its expiry (ms), "installation": a random id
                      this machine keeps, so asking again after a lost reply is not a reuse}  (+ response topic, corr.)
    down/enrol       {"ok": whether the nonce was unused (now recorded as this installation's), "reason"} (+ corr.)
An allowance granted `as_of` watermark W covers the kiosk's own events up to W; the kiosk adds its own events after
W (credits and spends) to it, so a grant that crosses a spend in flight never lets the kiosk spend twice.
"""
from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

from core import directory as directory_codec
from core.codec import BadEvent, dumps, from_wire, to_wire
from core.directory import BadChange
from core.events import Event
from kiosk.ids import new_event_id
from mqtt import topics
from mqtt.topics import BadTopic, Route

VERSION = 1
MAX_PAYLOAD = 240 * 1024  # bytes; the broker's max_packet_size (256 KiB) leaves room for topic and properties
MAX_BATCH = 500  # events or directory changes in one message
MAX_CORRELATION = 64  # bytes of MQTT v5 correlation data
_MESSAGE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")  # a UUID, v7 when ours
_ENVELOPE = frozenset({"v", "kind", "id", "from", "ts", "body"})


class BadMessage(ValueError):
    """A received message that is dropped; `reason` says why, for the log."""

    def __init__(self, reason: str, topic: str = "") -> None:
        super().__init__(f"{topic}: {reason}" if topic else reason)
        self.reason, self.topic = reason, topic


class Oversized(BadMessage):
    """Larger than MAX_PAYLOAD (or a batch longer than MAX_BATCH)."""


class Malformed(BadMessage):
    """Not the JSON, envelope or body the topic's schema wants; or a topic outside the tree."""


class UnsupportedVersion(BadMessage):
    """An envelope version this software does not know (the sender runs newer software)."""


class WrongSender(BadMessage):
    """Ids in the message that disagree with the topic it came on (a kiosk speaking for another)."""


class Replayed(BadMessage):
    """A message id already seen from this sender: a replay, or a QoS 1 redelivery already handled."""


@dataclass(frozen=True)
class Message:
    """A validated message: its route, envelope fields and typed body."""

    route: Route
    id: str
    sender: str
    ts: int
    body: Any  # a Batch for events and directory, else a validated dict
    correlation: bytes | None = None
    response_topic: str | None = None


def encode(kind: str, sender: str, ts: int, body: Mapping[str, Any], msg_id: str | None = None) -> bytes:
    """The payload of one message; Oversized if it would not be accepted by a receiver."""
    payload = dumps({"v": VERSION, "kind": kind, "id": msg_id or new_event_id(ts), "from": sender, "ts": ts,
                     "body": body}).encode()
    if len(payload) > MAX_PAYLOAD:
        raise Oversized(f"{kind} message of {len(payload)} bytes is over the {MAX_PAYLOAD}-byte limit")
    return payload


def event_batches(sender: str, ts: int, events: Iterable[Event], head: int, limit: int = MAX_PAYLOAD,
                  max_batch: int = MAX_BATCH) -> Iterator[tuple[bytes, list[Event]]]:
    """A kiosk's own events packed into as few up/events messages as fit the size and count limits, in order;
    `head` is its highest sequence, for the hub's backlog."""
    return _batches("events", "events", sender, ts, ((e, dumps(to_wire(e))) for e in events), limit, max_batch,
                    {"head": head})


def change_batches(sender: str, ts: int, changes: Iterable[directory_codec.Change], upto: int,
                   limit: int = MAX_PAYLOAD, max_batch: int = MAX_BATCH) -> Iterator[tuple[bytes, list[directory_codec.Change]]]:
    """Directory changes packed like event_batches, each message saying `upto` (the feed position it reaches)."""
    return _batches("directory", "changes", sender, ts,
                    ((c, dumps(directory_codec.to_wire(c))) for c in changes), limit, max_batch, {"upto": upto})


def _batches(kind: str, key: str, sender: str, ts: int, items: Iterable[tuple[Any, str]], limit: int,
             max_batch: int, extra: Mapping[str, Any]) -> Iterator[tuple[bytes, list[Any]]]:
    """Items already encoded once, spliced into envelopes: the hot path never encodes an event twice."""
    batch: list[Any] = []
    texts: list[bytes] = []
    size = 0
    prefix = suffix = b""
    for item, text in items:
        raw = text.encode()
        if not batch:
            prefix, suffix = _frame(kind, key, sender, ts, extra)
            size = len(prefix) + len(suffix)
        if len(raw) + size + 1 > limit:
            if not batch:
                raise Oversized(f"one {key[:-1]} of {len(raw)} bytes cannot fit a {limit}-byte message")
            yield prefix + b",".join(texts) + suffix, batch
            prefix, suffix = _frame(kind, key, sender, ts, extra)
            batch, texts, size = [], [], len(prefix) + len(suffix)
        batch.append(item)
        texts.append(raw)
        size += len(raw) + 1
        if len(batch) == max_batch:
            yield prefix + b",".join(texts) + suffix, batch
            batch, texts = [], []
    if batch:
        yield prefix + b",".join(texts) + suffix, batch


def _frame(kind: str, key: str, sender: str, ts: int, extra: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """The envelope around a list, split where the list's items go (a fresh message id each time)."""
    text = encode(kind, sender, ts, {key: [], **extra})
    cut = text.index(f'"{key}":['.encode()) + len(key) + 4
    return text[:cut], text[cut:]


def decode(topic: str, payload: bytes, *, response_topic: str | None = None, correlation: bytes | None = None,
           limit: int = MAX_PAYLOAD) -> Message:
    """A received message, fully validated against its topic's schema; a BadMessage subclass names the reason."""
    if len(payload) > limit:
        raise Oversized(f"{len(payload)} bytes is over the {limit}-byte limit", topic)
    try:
        route = topics.parse(topic)
    except BadTopic as e:
        raise Malformed(str(e), topic) from None
    doc = _json(payload, topic)
    unknown, missing = set(doc) - _ENVELOPE, _ENVELOPE - set(doc)
    if doc.get("v") != VERSION:
        raise UnsupportedVersion(f"envelope version {doc.get('v')!r}; this software reads version {VERSION}", topic)
    if unknown or missing:
        raise Malformed(f"envelope keys: missing {sorted(missing)}, unknown {sorted(unknown)}", topic)
    if doc["kind"] != route.kind:
        raise Malformed(f"a {doc['kind']!r} message on a {route.kind} topic", topic)
    msg_id, sender, ts = doc["id"], doc["from"], doc["ts"]
    if type(msg_id) is not str or not _MESSAGE_ID.match(msg_id):
        raise Malformed(f"message id {msg_id!r} is not a UUID", topic)
    if type(ts) is not int or ts < 0:
        raise Malformed(f"ts {ts!r} is not a time in ms", topic)
    try:
        topics.check_id(sender, "sender")
    except BadTopic as e:
        raise Malformed(str(e), topic) from None
    if route.direction == topics.UP and sender != route.kiosk:
        raise WrongSender(f"sent from {sender!r} on kiosk {route.kiosk!r}'s topic", topic)
    if type(doc["body"]) is not dict:
        raise Malformed("body is not an object", topic)
    schema = _SCHEMAS[(route.direction, route.kind)]
    try:
        body = schema(doc["body"], route)
    except (BadEvent, BadChange, _Wrong) as e:
        raise Malformed(str(e), topic) from None
    except BadMessage as e:  # raised by a schema without the topic at hand
        raise type(e)(e.reason, topic) from None
    if route.kind in topics.REQUEST_KINDS:
        _check_request_properties(route, response_topic, correlation, topic)
    return Message(route, msg_id, sender, ts, body, correlation, response_topic)


def received(inbound: Any) -> Message:
    """A message as a connection delivered it (mqtt.connection.Inbound: topic, payload, v5 properties), decoded."""
    return decode(inbound.topic, inbound.payload, response_topic=inbound.response_topic,
                  correlation=inbound.correlation)


class ReplayGuard:
    """Message ids already accepted, per sender, the newest `capacity` of them: a replay is refused with a reason.

    Not for retained documents, which the broker sends again on every subscribe: those are kept by `version`.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def check(self, msg: Message) -> Message:
        """The message, remembered; Replayed if its (sender, id) was seen before."""
        key = (msg.sender, msg.id)
        if key in self._seen:
            raise Replayed(f"message {msg.id} from {msg.sender} was already received")
        self._seen[key] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return msg


class _Wrong(Exception):
    """A body field that is wrong; decode turns it into Malformed."""


def _json(payload: bytes, topic: str) -> dict[str, Any]:
    """Strict JSON: UTF-8, an object, no duplicate keys, no NaN or Infinity, not nested absurdly deep."""
    try:
        doc = json.loads(payload.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise Malformed("payload is not UTF-8", topic) from None
    except (ValueError, RecursionError) as e:
        raise Malformed(f"payload is not strict JSON: {str(e)[:200]}", topic) from None
    if type(doc) is not dict:
        raise Malformed("payload is not a JSON object", topic)
    return doc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        raise ValueError("duplicate key in an object")
    return doc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _list(body: Mapping[str, Any], key: str, extra: Mapping[str, Callable[[Any], bool]],
          empty: bool = False) -> list[Any]:
    """The body's list under `key` (non-empty unless `empty`, at most MAX_BATCH items) beside the `extra` keys."""
    if set(body) != {key, *extra} or type(body[key]) is not list or not (body[key] or empty):
        raise _Wrong(f"body must be {{{key!r}: [{'zero' if empty else 'one'} or more]"
                     + "".join(f", {k!r}: ..." for k in sorted(extra)) + "}")
    if len(body[key]) > MAX_BATCH:
        raise _Wrong(f"{len(body[key])} {key} in one message; at most {MAX_BATCH}")
    for name, ok in extra.items():
        if not ok(body[name]):
            raise _Wrong(f"{name} = {body[name]!r} is not valid")
    return body[key]


@dataclass(frozen=True)
class Batch:
    """A list of events or changes with the body's other fields (head, upto, more)."""

    items: tuple[Any, ...]
    head: int | None = None
    upto: Any = None
    more: bool = False


def _own_events(body: Mapping[str, Any], route: Route) -> Batch:
    """A kiosk's own events: each one's kiosk and store must be the topic's."""
    events = tuple(from_wire(d) for d in _list(body, "events", {"head": _count}))
    for e in events:
        if e.kiosk_id != route.kiosk or e.store_id != route.store:
            raise WrongSender(f"event {e.id} of {e.store_id}/{e.kiosk_id} sent on {route.store}/{route.kiosk}'s topic")
    if events[-1].seq > body["head"]:
        raise _Wrong(f"head {body['head']} is below the batch's sequence {events[-1].seq}")
    return Batch(events, head=body["head"])


def _event_page(body: Mapping[str, Any], route: Route) -> Batch:
    events = tuple(from_wire(d) for d in _list(body, "events", {"upto": _cursors, "more": _flag}, empty=True))
    return Batch(events, upto=body["upto"], more=body["more"])


def _change_page(body: Mapping[str, Any], route: Route) -> Batch:
    changes = _list(body, "changes", {"upto": _count, "more": _flag}, empty=True)
    return Batch(tuple(directory_codec.from_wire(d) for d in changes), upto=body["upto"], more=body["more"])


def _own_changes(body: Mapping[str, Any], route: Route) -> Batch:
    changes = tuple(directory_codec.from_wire(d) for d in _list(body, "changes", {"upto": _count}))
    for c in changes:
        if c.kiosk_id != route.kiosk:
            raise WrongSender(f"directory change {c.id} of {c.kiosk_id} sent on {route.kiosk}'s topic")
    return Batch(changes, upto=body["upto"])


def _pull(body: Mapping[str, Any], route: Route) -> dict[str, Any]:
    return _fields(body, {"events": _cursors, "directory": _count, "restore": lambda v: v is None or _count(v)},
                   "pull")


def _flag(value: Any) -> bool:
    return type(value) is bool


def _cursors(value: Any) -> bool:
    """{kiosk id: sequence}, for at most 10,000 kiosks."""
    return type(value) is dict and len(value) <= 10_000 and all(_id_ok(k) and _count(n) for k, n in value.items())


def _fields(body: Mapping[str, Any], spec: Mapping[str, Callable[[Any], bool]], what: str) -> dict[str, Any]:
    """Exactly the keys of `spec`, each passing its check."""
    if set(body) != set(spec):
        raise _Wrong(f"{what} must have exactly the keys {sorted(spec)}")
    for key, ok in spec.items():
        if not ok(body[key]):
            raise _Wrong(f"{what}: {key} = {body[key]!r} is not valid")
    return dict(body)


def _count(value: Any) -> bool:
    return type(value) is int and 0 <= value < 2 ** 53


def _amounts(value: Any) -> bool:
    """Non-negative stored value (fen), points and visits per pack: what a spend or an allowance covers."""
    if type(value) is not dict or not set(value) <= {"stored_value", "points", "visits"}:
        return False
    visits = value.get("visits", {})
    return (all(_count(value[k]) for k in ("stored_value", "points") if k in value) and type(visits) is dict
            and all(_id_ok(k) and _count(n) for k, n in visits.items()))


def _id_ok(value: Any) -> bool:
    try:
        return bool(topics.check_id(value))
    except BadTopic:
        return False


def _ack(body: Mapping[str, Any], route: Route) -> dict[str, Any]:
    """acked_seq: the highest contiguous sequence the hub committed; resend_from: where a gap starts, or null."""
    return _fields(body, {"acked_seq": _count, "resend_from": lambda v: v is None or (_count(v) and v >= 1),
                          "directory": lambda v: v is None or _count(v)}, "ack")


def _allowances(body: Mapping[str, Any], route: Route) -> dict[str, Any]:
    """What the kiosk may spend per listed member without asking, as of its watermark `as_of`."""
    doc = _fields(body, {"epoch": _count, "as_of": _count,
                         "allowances": lambda v: type(v) is dict and len(v) <= 10_000}, "allowances")
    for member, amounts in doc["allowances"].items():
        if not _id_ok(member) or not _amounts(amounts):
            raise _Wrong(f"allowance of {member!r}: {amounts!r} is not valid")
    return doc


def _spend_request(body: Mapping[str, Any], route: Route) -> dict[str, Any]:
    return _fields(body, {"member_id": _id_ok, "amounts": _amounts}, "spend request")


def _spend_reply(body: Mapping[str, Any], route: Route) -> dict[str, Any]:
    return _fields(body, {"granted": _flag, "reason": lambda v: v is None or type(v) is str and len(v) <= 200,
                          "allowance": _amounts, "as_of": _count}, "spend reply")


_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _enrol_request(body: Mapping[str, Any], route: Route) -> dict[str, Any]:
    return _fields(body, {"nonce": lambda v: type(v) is str and bool(_NONCE.match(v)), "expires_at": _count,
                          "installation": lambda v: type(v) is str and bool(_NONCE.match(v))}, "enrol request")


def _enrol_reply(body: Mapping[str, Any], route: Route) -> dict[str, Any]:
    return _fields(body, {"ok": _flag, "reason": lambda v: v is None or type(v) is str and len(v) <= 200},
                   "enrol reply")


def _document(body: Mapping[str, Any], route: Route) -> dict[str, Any]:
    doc = _fields(body, {"name": lambda v: v == route.name, "format": lambda v: v in ("toml", "csv", "json"),
                         "version": lambda v: _count(v) and v >= 1, "text": lambda v: type(v) is str}, "document")
    return doc


def _check_request_properties(route: Route, response_topic: str | None, correlation: bytes | None,
                              topic: str) -> None:
    """A request (spend, enrol) names its sender's own reply topic; both directions carry correlation data."""
    if type(correlation) is not bytes or not 1 <= len(correlation) <= MAX_CORRELATION:
        raise Malformed(f"{route.kind} message without 1-{MAX_CORRELATION} bytes of correlation data", topic)
    if route.direction == topics.UP:
        try:
            topics.check_response_topic(response_topic or "", route.store, route.kiosk or "", route.kind)
        except BadTopic as e:
            raise WrongSender(str(e), topic) from None


_SCHEMAS: dict[tuple[str, str], Callable[[Mapping[str, Any], Route], Any]] = {
    (topics.UP, "events"): _own_events,
    (topics.UP, "directory"): _own_changes,
    (topics.UP, "spend"): _spend_request,
    (topics.UP, "pull"): _pull,
    (topics.DOWN, "events"): _event_page,
    (topics.DOWN, "directory"): _change_page,
    (topics.DOWN, "acks"): _ack,
    (topics.DOWN, "allowances"): _allowances,
    (topics.DOWN, "spend"): _spend_reply,
    (topics.UP, "enrol"): _enrol_request,
    (topics.DOWN, "enrol"): _enrol_reply,
    (topics.DOWN, "documents"): _document,
}
