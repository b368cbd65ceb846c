"""The fold from ledger events to balances, tier and stock: projections are this function's cache.

The fold must give the same result whatever order the events arrive in, because kiosks that sync ingest each
other's events in different orders. Balances are sums of deltas (commutative). Tier is not a sum: the
tier-setting event with the greatest (ts, kiosk id, seq) wins, so two kiosks never disagree about it.
Deltas under keys this software does not know (a newer schema's) are ignored by the fold and kept in the row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from core.errors import InsufficientBalance, InvalidInput
from core.events import DELTA_KEYS, MEMBER_ERASED, MEMBER_REGISTERED, TIER_CHANGED, Event, EventDraft

DEFAULT_TIER = "普通"

Stamp = tuple[int, str, int]  # (ts, kiosk id, seq): a total order over events of every kiosk
NO_STAMP: Stamp = (0, "", 0)


@dataclass(frozen=True)
class Balances:
    """What a member holds: points, stored value in fen, visits per pack, lifetime spend in fen, tier, and the
    stamp of the event that set the tier (a later-arriving but earlier tier change must not replace it)."""

    points: int = 0
    stored_value: int = 0
    lifetime_spend: int = 0
    visits: Mapping[str, int] = field(default_factory=dict)
    tier: str = DEFAULT_TIER
    tier_at: Stamp = NO_STAMP


@dataclass(frozen=True)
class Shortfall:
    """One balance an event took below zero: `what` is points, stored_value, lifetime_spend, visits:PACK or
    stock:SKU, and `amount` how far below zero this event took it."""

    what: str
    amount: int


def check_deltas(draft: EventDraft) -> None:
    """Reject drafts whose deltas are not integers under known keys (a bug, never a customer's fault)."""
    unknown = set(draft.deltas) - DELTA_KEYS
    if unknown:
        raise InvalidInput(f"event {draft.type} has unknown balance keys {sorted(unknown)}")
    for key, value in draft.deltas.items():
        values = value.values() if isinstance(value, Mapping) else [value]
        if not all(type(v) is int for v in values):
            raise InvalidInput(f"event {draft.type} has a non-integer {key} delta")


def stamp_of(event: Event | EventDraft) -> Stamp | None:
    """The event's place in the tier order; a draft (not yet committed) has none."""
    return (event.ts, event.kiosk_id, event.seq) if isinstance(event, Event) else None


def move(balances: Balances, draft: Event | EventDraft, at: Stamp | None = None) -> Balances:
    """Balances after one event, below zero if it says so (`apply` refuses that; ingest flags it).
    `at` is the event's stamp; without one, a tier-setting event replaces the tier as it comes."""
    d = draft.deltas
    tier, tier_at = balances.tier, balances.tier_at
    if draft.type in (TIER_CHANGED, MEMBER_REGISTERED) and "tier" in draft.data and (at is None or at >= tier_at):
        tier, tier_at = draft.data["tier"], at or tier_at
    visits = balances.visits
    if "visits" in d:
        visits = dict(visits)
        for pack, n in _ints(d["visits"]).items():
            visits[pack] = visits.get(pack, 0) + n
    return Balances(balances.points + _int(d.get("points", 0)), balances.stored_value + _int(d.get("stored_value", 0)),
                    balances.lifetime_spend + _int(d.get("lifetime_spend", 0)), visits, tier, tier_at)


def shortfalls(before: Balances, after: Balances, draft: Event | EventDraft) -> list[Shortfall]:
    """What this event took below zero. A balance already below zero (an overdraft flagged earlier) that the
    event does not lower is not this event's shortfall: earning while in overdraft is fine."""
    if after.points >= 0 and after.stored_value >= 0 and after.lifetime_spend >= 0 and (
            after.visits is before.visits or all(n >= 0 for n in after.visits.values())):
        return []  # the common case, checked first: ingest folds every event through here
    pairs = [("points", before.points, after.points), ("stored_value", before.stored_value, after.stored_value)]
    if draft.type != MEMBER_ERASED:
        pairs.append(("lifetime_spend", before.lifetime_spend, after.lifetime_spend))
    pairs += [(f"visits:{p}", before.visits.get(p, 0), n) for p, n in sorted(after.visits.items())]
    return [Shortfall(what, min(was - now, -now)) for what, was, now in pairs if now < 0 and now < was]


def apply(balances: Balances, draft: Event | EventDraft, at: Stamp | None = None) -> Balances:
    """Balances after one event of ours; raises InsufficientBalance rather than go below zero."""
    new = move(balances, draft, at)
    short = shortfalls(balances, new, draft)
    if short:
        raise InsufficientBalance(_refusal(short[0]))
    return new


def _refusal(s: Shortfall) -> str:
    if s.what == "points":
        return f"not enough points: {s.amount} short"
    if s.what == "stored_value":
        return f"not enough stored value: {s.amount} fen short"
    if s.what == "lifetime_spend":
        return "lifetime spend cannot go below zero"
    return f"not enough visits left on {s.what.removeprefix('visits:')}"


def move_stock(stock: dict[str, int], draft: Event | EventDraft) -> list[Shortfall]:
    """Move stock levels in place by one event; returns the SKUs it took below zero (ingest flags them)."""
    short: list[Shortfall] = []
    if "stock" not in draft.deltas:
        return short
    for sku, n in sorted(_ints(draft.deltas["stock"]).items()):
        have = stock.get(sku, 0)
        if n < 0 and have + n < 0:
            short.append(Shortfall(f"stock:{sku}", min(-n, -(have + n))))
        stock[sku] = have + n
    return short


def apply_stock(stock: dict[str, int], draft: Event | EventDraft) -> None:
    """Move stock levels in place by one event of ours; stock may not go below zero."""
    trial = dict(stock)
    short = move_stock(trial, draft)
    if short:
        sku = short[0].what.removeprefix("stock:")
        raise InsufficientBalance(f"only {stock.get(sku, 0)} of {sku} left in stock")
    stock.update(trial)


def moves_shelf(event: Event | EventDraft, store_id: str | None) -> bool:
    """Whether an event's stock deltas are this store's shelf: another store's sales moved another store's stock."""
    return store_id is None or not isinstance(event, Event) or event.store_id == store_id


def step(members: dict[str, Balances], stock: dict[str, int], event: Event | EventDraft,
         store_id: str | None = None) -> list[Shortfall]:
    """Move the replay state (balances by member id, stock by SKU of `store_id`) in place by one event,
    going below zero where the events say so; returns what it took below zero."""
    short: list[Shortfall] = []
    if event.member_id is not None:
        before = members.get(event.member_id, Balances())
        members[event.member_id] = after = move(before, event, stamp_of(event))
        short += shortfalls(before, after, event)
    if moves_shelf(event, store_id):
        short += move_stock(stock, event)
    return short


def fold(events: Iterable[Event | EventDraft], store_id: str | None = None) -> tuple[dict[str, Balances], dict[str, int]]:
    """Replay events from nothing: member balances by member id, and stock by SKU of `store_id`."""
    members: dict[str, Balances] = {}
    stock: dict[str, int] = {}
    for ev in events:
        step(members, stock, ev, store_id)
    return members, stock


def _int(value: object) -> int:
    """A delta the fold understands: an int (a newer schema may put something else under a known key)."""
    return value if type(value) is int else 0


def _ints(value: object) -> dict[str, int]:
    return {k: v for k, v in value.items() if type(v) is int} if isinstance(value, Mapping) else {}
