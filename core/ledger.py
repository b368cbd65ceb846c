"""The fold from ledger events to balances, tier and stock: projections are this function's cache."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from core.errors import InsufficientBalance, InvalidInput
from core.events import DELTA_KEYS, MEMBER_ERASED, MEMBER_REGISTERED, TIER_CHANGED, EventDraft

DEFAULT_TIER = "普通"


@dataclass(frozen=True)
class Balances:
    """What a member holds: points, stored value in fen, visits per pack, lifetime spend in fen, tier."""

    points: int = 0
    stored_value: int = 0
    lifetime_spend: int = 0
    visits: Mapping[str, int] = field(default_factory=dict)
    tier: str = DEFAULT_TIER


def check_deltas(draft: EventDraft) -> None:
    """Reject drafts whose deltas are not integers under known keys (a bug, never a customer's fault)."""
    unknown = set(draft.deltas) - DELTA_KEYS
    if unknown:
        raise InvalidInput(f"event {draft.type} has unknown balance keys {sorted(unknown)}")
    for key, value in draft.deltas.items():
        values = value.values() if isinstance(value, Mapping) else [value]
        if not all(type(v) is int for v in values):
            raise InvalidInput(f"event {draft.type} has a non-integer {key} delta")


def apply(balances: Balances, draft: EventDraft) -> Balances:
    """Balances after one event; raises InsufficientBalance rather than go below zero."""
    d = draft.deltas
    tier = draft.data.get("tier", balances.tier) if draft.type in (TIER_CHANGED, MEMBER_REGISTERED) else balances.tier
    visits = dict(balances.visits)
    for pack, n in d.get("visits", {}).items():
        visits[pack] = visits.get(pack, 0) + n
    new = replace(
        balances,
        points=balances.points + d.get("points", 0),
        stored_value=balances.stored_value + d.get("stored_value", 0),
        lifetime_spend=balances.lifetime_spend + d.get("lifetime_spend", 0),
        visits=visits,
        tier=tier,
    )
    _refuse_overdraft(new, draft)
    return new


def _refuse_overdraft(b: Balances, draft: EventDraft) -> None:
    if b.points < 0:
        raise InsufficientBalance(f"not enough points: {-b.points} short")
    if b.stored_value < 0:
        raise InsufficientBalance(f"not enough stored value: {-b.stored_value} fen short")
    short = {p: -n for p, n in b.visits.items() if n < 0}
    if short:
        raise InsufficientBalance(f"not enough visits left on {', '.join(sorted(short))}")
    if b.lifetime_spend < 0 and draft.type != MEMBER_ERASED:
        raise InsufficientBalance("lifetime spend cannot go below zero")


def apply_stock(stock: dict[str, int], draft: EventDraft) -> None:
    """Move stock levels in place by one event; stock may not go below zero."""
    for sku, n in draft.deltas.get("stock", {}).items():
        have = stock.get(sku, 0)
        if have + n < 0:
            raise InsufficientBalance(f"only {have} of {sku} left in stock")
        stock[sku] = have + n


def step(members: dict[str, Balances], stock: dict[str, int], event: EventDraft) -> None:
    """Move the replay state (balances by member id, stock by SKU) in place by one event."""
    if event.member_id is not None:
        members[event.member_id] = apply(members.get(event.member_id, Balances()), event)
    apply_stock(stock, event)


def fold(events: Iterable[EventDraft]) -> tuple[dict[str, Balances], dict[str, int]]:
    """Replay events from nothing: member balances by member id, and stock by SKU."""
    members: dict[str, Balances] = {}
    stock: dict[str, int] = {}
    for ev in events:
        step(members, stock, ev)
    return members, stock
