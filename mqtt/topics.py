"""The versioned MQTT topic tree of the chain, shaped so that the broker's ACL can say who may write where.

    mk/v1/<store>/<kiosk>/up/events        kiosk -> hub   its own events, in batches (QoS 1)
    mk/v1/<store>/<kiosk>/up/directory     kiosk -> hub   member directory changes made at the kiosk
    mk/v1/<store>/<kiosk>/up/spend         kiosk -> hub   a spend beyond the allowance (v5 response topic +
                                                          correlation data; the response topic is down/spend)
    mk/v1/<store>/<kiosk>/up/pull          kiosk -> hub   "send me what I lack": its cursors into the hub's feeds
    mk/v1/<store>/<kiosk>/up/telemetry     kiosk -> hub   health every fleet.telemetry_seconds and on a change
    mk/v1/<store>/<kiosk>/up/outcome       kiosk -> hub   what became of a signed config or command (QoS 1)
    mk/v1/<store>/<kiosk>/up/enrol         kiosk -> hub   "is this enrolment token's nonce unused?" (v5 response
                                                          topic + correlation data; the response topic is down/enrol)
    mk/v1/<store>/<kiosk>/status           kiosk          JSON online/offline state (retained; the last will)
    mk/v1/<store>/<kiosk>/down/<kind>      hub -> kiosk   acks, events, directory, allowances, spend replies
    mk/v1/<store>/down/documents/<name>    hub -> store   catalog and rules documents (retained)
    <address>/down/config/<kind>           operator       a signed config document (retained, one per kind)
    <address>/down/command                 operator       a signed command (not retained)
        <address> is mk/v1/<store>/<kiosk> (one kiosk), mk/v1/<store> (a store) or mk/v1/fleet (every kiosk)
    mk/v1/hub/status                       hub            "online" / "offline" (retained; the last will)
    $share/hub/mk/v1/+/+/up/<kind>         hub workers    one shared subscription per kind, load shared

Why this shape:
- `mk/v1`: the version comes first, so a v2 tree can run beside v1 on one broker while a chain upgrades, and a
  broker shared with other applications keeps us under one prefix.
- The kiosk id is one whole level right after the store, and the broker user name is the kiosk id, so one
  mosquitto pattern says "a kiosk writes only under its own id" (`pattern write mk/v1/+/%u/up/#`) and "reads only
  its own down topics" (`pattern read mk/v1/+/%u/down/#`). A pattern cannot also bind the store level: the hub
  checks the store of the topic against the kiosk's registered store, and every event's ids against the topic.
- `up` and `down` are separate sub-trees, so a kiosk's ACL never lets it write where the hub writes (a forged ack
  or allowance) and the hub's subscriptions are `+/+/up/<kind>`, never matching its own down traffic.
- The kind is the last level, so a hub worker shares one kind's load (`$share/hub/...`) and a slow kind (spend
  authorization) never queues behind a backlog of events.
- Ids are a single level of [A-Za-z0-9_.@:-]: no `/`, `+`, `#` or `$`, which would break a pattern.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

ROOT = "mk/v1"
UP = "up"
DOWN = "down"
SHARE_GROUP = "hub"
# Kinds of each direction; messages.py gives each its schema.
UP_KINDS = frozenset({"events", "directory", "spend", "pull", "telemetry", "outcome", "enrol"})
DOWN_KINDS = frozenset({"acks", "events", "directory", "allowances", "spend", "enrol"})
REQUEST_KINDS = frozenset({"spend", "enrol"})  # v5 request/response: the reply goes to the asker's own down/<kind>
ONLINE, OFFLINE = b"online", b"offline"

FLEET = "fleet"  # the address level of configs and commands for every kiosk of the chain
CONFIG, COMMAND = "config", "command"  # the fleet's down kinds, at any address
CONFIG_KINDS = frozenset({"catalog", "prices", "rules", "settings", "devices"})
RESERVED = frozenset({"hub", FLEET})  # the hub's user name and topic levels: never a store or kiosk id
_ID = re.compile(r"^[A-Za-z0-9_.@:-]{1,64}$")
_DOCUMENT = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class BadTopic(ValueError):
    """A topic, or an id for one, that is not in the tree; the message says which part is wrong."""


@dataclass(frozen=True)
class Route:
    """Where a message came from, read off its topic: its direction, kind, store and kiosk (None for store-wide)."""

    direction: str
    kind: str
    store: str
    kiosk: str | None = None
    name: str | None = None  # the document's name, for documents


def check_id(value: str, what: str = "id") -> str:
    """An id that is safe as one topic level (and as a mosquitto %u substitution); `hub` is no store or kiosk."""
    if not isinstance(value, str) or not _ID.match(value):
        raise BadTopic(f"{what} {value!r} cannot be a topic level: use 1-64 of A-Z a-z 0-9 _ . @ : -")
    if what in ("store", "kiosk") and value in RESERVED:
        raise BadTopic(f"{what} id {value!r} is reserved ({', '.join(sorted(RESERVED))} are topic levels of their own)")
    return value


def up(store: str, kiosk: str, kind: str) -> str:
    """The topic a kiosk publishes `kind` on."""
    if kind not in UP_KINDS:
        raise BadTopic(f"no up topic of kind {kind!r}; kinds: {', '.join(sorted(UP_KINDS))}")
    return f"{ROOT}/{check_id(store, 'store')}/{check_id(kiosk, 'kiosk')}/{UP}/{kind}"


def down(store: str, kiosk: str, kind: str) -> str:
    """The topic the hub sends `kind` to one kiosk on."""
    if kind not in DOWN_KINDS:
        raise BadTopic(f"no down topic of kind {kind!r}; kinds: {', '.join(sorted(DOWN_KINDS))}")
    return f"{ROOT}/{check_id(store, 'store')}/{check_id(kiosk, 'kiosk')}/{DOWN}/{kind}"


def kiosk_down(store: str, kiosk: str) -> str:
    """The filter a kiosk subscribes to for everything the hub sends it."""
    return f"{ROOT}/{check_id(store, 'store')}/{check_id(kiosk, 'kiosk')}/{DOWN}/+"


def document(store: str, name: str) -> str:
    """The retained topic of one store-wide document (catalog, rules)."""
    if not _DOCUMENT.match(name):
        raise BadTopic(f"document name {name!r}: use a-z 0-9 _ - (1-32, a letter first)")
    return f"{ROOT}/{check_id(store, 'store')}/{DOWN}/documents/{name}"


def store_documents(store: str) -> str:
    """The filter a kiosk subscribes to for its store's documents."""
    return f"{ROOT}/{check_id(store, 'store')}/{DOWN}/documents/+"


def _address(store: str | None, kiosk: str | None) -> str:
    """mk/v1/fleet, mk/v1/<store> or mk/v1/<store>/<kiosk>: whom a config or command is for."""
    if store is None:
        if kiosk is not None:
            raise BadTopic(f"kiosk {kiosk!r} needs its store to be addressed")
        return f"{ROOT}/{FLEET}"
    address = f"{ROOT}/{check_id(store, 'store')}"
    return address if kiosk is None else f"{address}/{check_id(kiosk, 'kiosk')}"


def config(kind: str, store: str | None = None, kiosk: str | None = None) -> str:
    """The retained topic of one config kind for every kiosk, a store (`store`) or one kiosk (`store`, `kiosk`)."""
    if kind not in CONFIG_KINDS:
        raise BadTopic(f"no config of kind {kind!r}; kinds: {', '.join(sorted(CONFIG_KINDS))}")
    return f"{_address(store, kiosk)}/{DOWN}/{CONFIG}/{kind}"


def configs(store: str | None = None, kiosk: str | None = None) -> str:
    """The filter of every config kind at an address (every kiosk, a store, or one kiosk)."""
    return f"{_address(store, kiosk)}/{DOWN}/{CONFIG}/+"


def command(store: str | None = None, kiosk: str | None = None) -> str:
    """The topic of commands for every kiosk, a store (`store`) or one kiosk (`store`, `kiosk`)."""
    return f"{_address(store, kiosk)}/{DOWN}/{COMMAND}"


def status(store: str, kiosk: str) -> str:
    """A kiosk's retained online/offline status, which is also its last will."""
    return f"{ROOT}/{check_id(store, 'store')}/{check_id(kiosk, 'kiosk')}/status"


HUB_STATUS = f"{ROOT}/hub/status"


def hub_subscription(kind: str, shared: bool = True) -> str:
    """What a hub worker subscribes to for one up kind: shared among the workers of group `hub` by default."""
    if kind not in UP_KINDS:
        raise BadTopic(f"no up topic of kind {kind!r}")
    topic = f"{ROOT}/+/+/{UP}/{kind}"
    return f"$share/{SHARE_GROUP}/{topic}" if shared else topic


def parse(topic: str) -> Route:
    """The route of a topic of the tree; BadTopic for anything else (a message there is dropped, not guessed at).

    A config or command for every kiosk has the store FLEET and no kiosk; a config's kind is the route's name.
    """
    parts = topic.split("/")
    if parts[:2] != ROOT.split("/") or len(parts) not in (5, 6, 7):
        raise BadTopic(f"{topic!r} is not under {ROOT}/<store>/...")
    fleet = _parse_fleet(topic, parts)
    if fleet is not None:
        return fleet
    if len(parts) == 7:
        raise BadTopic(f"{topic!r} is not a topic of the tree")
    store = parts[2]
    check_id(store, "store")
    if len(parts) == 6 and parts[3] == DOWN and parts[4] == "documents":
        if not _DOCUMENT.match(parts[5]):
            raise BadTopic(f"{topic!r}: bad document name {parts[5]!r}")
        return Route(DOWN, "documents", store, None, parts[5])
    if len(parts) != 6:
        raise BadTopic(f"{topic!r} is not mk/v1/<store>/<kiosk>/up|down/<kind>")
    kiosk, direction, kind = check_id(parts[3], "kiosk"), parts[4], parts[5]
    kinds = {UP: UP_KINDS, DOWN: DOWN_KINDS}.get(direction)
    if kinds is None or kind not in kinds:
        raise BadTopic(f"{topic!r}: no {direction}/{kind} in the tree")
    return Route(direction, kind, store, kiosk)


def _parse_fleet(topic: str, parts: list[str]) -> Route | None:
    """The route of a config or command topic at any address; None for a topic of another shape."""
    if parts[-1] == COMMAND:
        address, down, kind = parts[2:-2], parts[-2], None
    elif len(parts) >= 6 and parts[-2] == CONFIG:
        address, down, kind = parts[2:-3], parts[-3], parts[-1]
    else:
        return None
    if down != DOWN or not 1 <= len(address) <= 2:
        return None
    if address == [FLEET]:
        store, kiosk = FLEET, None
    else:
        store, kiosk = check_id(address[0], "store"), check_id(address[1], "kiosk") if len(address) == 2 else None
    if kind is None:
        return Route(DOWN, COMMAND, store, kiosk)
    if kind not in CONFIG_KINDS:
        raise BadTopic(f"{topic!r}: no config of kind {kind!r}; kinds: {', '.join(sorted(CONFIG_KINDS))}")
    return Route(DOWN, CONFIG, store, kiosk, kind)


def check_response_topic(response_topic: str, store: str, kiosk: str, kind: str = "spend") -> str:
    """The response topic of a request (spend, enrol), which must be the asking kiosk's own down/<kind>.

    The hub may write to every kiosk's down topics, so replying wherever a request says would let one kiosk
    make the hub write into another's (a confused deputy); the hub replies only to the sender's own topic.
    """
    expected = down(store, kiosk, kind)
    if response_topic != expected:
        raise BadTopic(f"response topic {response_topic!r} is not the sender's own {expected!r}")
    return response_topic
