"""The member directory feed: member records (personal data, never in events) replicated as changes and merged.

Every change to a member record is a `Change` with an id, the member, the kiosk it was made on and a time.
Any set of changes, in any order, merges to one record:
- personal fields and the PIN hash: per field, the change with the greatest (ts, kiosk id, id) wins;
- cards: a card linked to the member stays linked; blocked wins over active (a lost card never comes back);
- erasure wins over everything, before or after an edit: the personal fields and PIN hash are cleared, and the
  personal data of every other change of that member is scrubbed from the feed itself (`scrub`).
Kinds this software does not know (a newer version's) are kept in the feed and ignored by the merge.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from core.errors import InvalidInput
from core.members import Member

REGISTERED = "registered"
EDITED = "edited"
CARD_LINKED = "card_linked"
CARD_BLOCKED = "card_blocked"
PIN_SET = "pin_set"
ERASED = "erased"

PERSONAL = ("phone", "name", "birthday", "gender", "consent_at", "marketing_consent_at")  # what an erasure clears
MERGED = (*PERSONAL, "pin_hash")  # per-field last writer wins

_ID = re.compile(r"^[A-Za-z0-9_:.@-]{1,80}$")
_KIND = re.compile(r"^[a-z_]{1,32}$")


class BadChange(InvalidInput):
    """A directory change from elsewhere that is not well formed; it is refused, never stored."""


Stamp = tuple[int, str, str]  # (ts, kiosk id, change id): a total order over the changes of every kiosk


@dataclass(frozen=True)
class Change:
    """One change to a member record, made on `kiosk_id` at `ts` (ms)."""

    id: str
    member_id: str
    kiosk_id: str
    ts: int
    kind: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def stamp(self) -> Stamp:
        """Its place in the last-writer order."""
        return (self.ts, self.kiosk_id, self.id)


@dataclass(frozen=True)
class Card:
    """A card of the merged record."""

    uid: str
    status: str  # active | blocked
    linked_at: int
    blocked_at: int | None
    linked: Stamp  # who linked it first, when two members claim one card


@dataclass(frozen=True)
class Record:
    """A member record merged from its changes; `phone_at` is the stamp of the change that set the phone."""

    member_id: str
    created_at: int
    erased_at: int | None
    values: Mapping[str, Any]  # MERGED fields
    cards: Mapping[str, Card]
    phone_at: Stamp | None

    def get(self, name: str) -> Any:
        """A merged field (None when never set or erased)."""
        return self.values.get(name)


def merge(member_id: str, changes: Iterable[Change]) -> Record:
    """The member's record from its changes, the same for every order and duplication of them."""
    changes = sorted({c.id: c for c in changes if c.member_id == member_id}.values(), key=lambda c: c.stamp)
    values: dict[str, Any] = {}
    set_at: dict[str, Stamp] = {}
    cards: dict[str, Card] = {}
    for c in changes:  # ascending stamps: a later change overwrites an earlier one
        if c.kind in (REGISTERED, EDITED, PIN_SET):
            for name in MERGED:
                if name in c.fields:
                    values[name], set_at[name] = c.fields[name], c.stamp
        elif c.kind == CARD_LINKED and c.fields.get("uid"):
            uid = c.fields["uid"]
            old = cards.get(uid)
            cards[uid] = old or Card(uid, "active", c.ts, None, c.stamp)
    for c in changes:  # blocked wins over active, whatever the order
        if c.kind == CARD_BLOCKED and c.fields.get("uid") in cards:
            old = cards[c.fields["uid"]]
            cards[old.uid] = Card(old.uid, "blocked", old.linked_at, old.blocked_at or c.ts, old.linked)
    registered = [c.ts for c in changes if c.kind == REGISTERED]
    created_at = min(registered or [c.ts for c in changes] or [0])
    erasures = [c.ts for c in changes if c.kind == ERASED]
    erased_at = min(erasures) if erasures else None
    if erased_at is not None:
        values, set_at = {}, {}
    return Record(member_id, created_at, erased_at, values, cards, set_at.get("phone") if values.get("phone") else None)


def personal_fields(m: Member, names: Iterable[str] = PERSONAL) -> dict[str, Any]:
    """The named personal fields of a member record as a change carries them (birthday as YYYY-MM-DD)."""
    values = {"phone": m.phone, "name": m.name, "birthday": m.birthday.isoformat() if m.birthday else None,
              "gender": m.gender, "consent_at": m.consent_at, "marketing_consent_at": m.marketing_consent_at}
    return {name: values[name] for name in names}


def scrub(change: Change) -> Change:
    """The change without personal data or PIN hash: what the feed keeps of a member once they are erased."""
    kept = {k: v for k, v in change.fields.items() if k not in MERGED}
    return Change(change.id, change.member_id, change.kiosk_id, change.ts, change.kind, kept)


def first_claim(claims: Iterable[tuple[Stamp, str]]) -> str:
    """Who keeps a phone or card two members claim: the member whose claim came first (smallest stamp)."""
    return min(claims)[1]


def to_wire(c: Change) -> dict[str, Any]:
    """A change as a JSON-ready mapping."""
    return {"id": c.id, "member_id": c.member_id, "kiosk_id": c.kiosk_id, "ts": c.ts, "kind": c.kind,
            "fields": dict(c.fields)}


def from_wire(d: Mapping[str, Any]) -> Change:
    """A change from its wire mapping; BadChange names the first field that is wrong."""
    if not isinstance(d, Mapping):
        raise BadChange("a directory change must be a JSON object")
    for key, kind, ok in (("id", str, _ID.match), ("member_id", str, _ID.match), ("kiosk_id", str, _ID.match),
                          ("kind", str, _KIND.match), ("ts", int, lambda n: n >= 0), ("fields", dict, lambda x: True)):
        value = d.get(key)
        if type(value) is not kind or not ok(value):
            raise BadChange(f"directory change {d.get('id', '?')}: {key} = {value!r} is not valid")
    return Change(d["id"], d["member_id"], d["kiosk_id"], d["ts"], d["kind"], d["fields"])
