"""The one codec of events: the same canonical JSON in a ledger row, a sync file and an MQTT message.

Decoding is strict about the envelope (ids, kiosk, sequence, time, deltas) because a foreign event must never
corrupt a ledger, and lenient about `data`: an event of a newer schema version keeps every key it came with, so a
kiosk on older software stores it intact and passes it on unchanged.
"""
from __future__ import annotations

import json
import re
from typing import Any, Mapping

from core.errors import InvalidInput
from core.events import Event

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ID = re.compile(r"^[A-Za-z0-9_:.@-]{1,64}$")
_TYPE = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
WIRE_KEYS = ("id", "kiosk_id", "store_id", "seq", "ts", "txn", "type", "member_id", "data", "deltas", "operator", "v")


class BadEvent(InvalidInput):
    """An event from elsewhere (a sync file, the hub) that is not well formed; it is refused, never stored."""


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))  # one encoder: ingest is hot


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text; equal values always give equal strings."""
    return _CANONICAL.encode(value)


def to_wire(e: Event) -> dict[str, Any]:
    """An event as a JSON-ready mapping with every envelope field."""
    return {"id": e.id, "kiosk_id": e.kiosk_id, "store_id": e.store_id, "seq": e.seq, "ts": e.ts, "txn": e.txn,
            "type": e.type, "member_id": e.member_id, "data": dict(e.data), "deltas": dict(e.deltas),
            "operator": e.operator, "v": e.v}


def from_wire(d: Mapping[str, Any]) -> Event:
    """An event from its wire mapping; BadEvent names the first field that is wrong."""
    if not isinstance(d, Mapping):
        raise BadEvent("an event must be a JSON object")
    missing = [k for k in WIRE_KEYS if k not in d and k not in ("operator", "v")]
    if missing:
        raise BadEvent(f"event {d.get('id', '?')} has no {missing[0]}")
    _check(d, "id", str, _UUID.match)
    _check(d, "txn", str, _UUID.match)
    _check(d, "kiosk_id", str, _ID.match)
    _check(d, "store_id", str, _ID.match)
    _check(d, "type", str, _TYPE.match)
    _check(d, "seq", int, lambda n: n >= 1)
    _check(d, "ts", int, lambda n: n >= 0)
    _check(d, "v", int, lambda n: n >= 1, optional=True)
    _check(d, "member_id", str, _ID.match, optional=True)
    _check(d, "operator", str, _ID.match, optional=True)
    _check(d, "data", dict, lambda x: True)
    _check(d, "deltas", dict, _deltas_ok)
    return Event(d["id"], d["kiosk_id"], d["store_id"], d["seq"], d["ts"], d["txn"], d["type"], d["member_id"],
                 data=d["data"], deltas=d["deltas"], operator=d.get("operator"), v=d.get("v") or 1)


def _check(d: Mapping[str, Any], key: str, kind: type, ok: Any, optional: bool = False) -> None:
    value = d.get(key)
    if value is None and optional:
        return
    if type(value) is not kind or not ok(value):
        raise BadEvent(f"event {d.get('id', '?')}: {key} = {value!r} is not valid")


def _deltas_ok(deltas: Mapping[str, Any]) -> bool:
    """Integers, or maps of name to integer (visits, stock); unknown keys are allowed (a newer schema's)."""
    for value in deltas.values():
        values = value.values() if isinstance(value, dict) else [value]
        if not all(type(v) is int for v in values):
            return False
    return True
