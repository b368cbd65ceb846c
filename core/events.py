"""Ledger events: the only way any balance, tier or stock level changes.

`core` produces EventDrafts (what happened, with its balance deltas); the store stamps them with a global
id, the kiosk and store ids, a per-kiosk sequence number and the time when it commits them. Balances are
the sum of deltas, so the fold needs no knowledge of why an event happened and new event types need no
change to it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from core.payloads import Payload

# Event types. Members and cards:
MEMBER_REGISTERED = "member.registered"
MEMBER_EDITED = "member.edited"
MEMBER_ERASED = "member.erased"
CARD_LINKED = "card.linked"
CARD_BLOCKED = "card.blocked"
# Money and balances:
TOPPED_UP = "stored_value.topped_up"
TIER_CHANGED = "tier.changed"
SALE_COMPLETED = "sale.completed"
SALE_REFUNDED = "sale.refunded"
POINTS_ADJUSTED = "points.adjusted"
POINTS_EXPIRED = "points.expired"
VISITS_SOLD = "visits.sold"
STOCK_ADJUSTED = "stock.adjusted"
BALANCE_SETTLED = "member.balance_settled"  # balances closed before erasure: stored value paid out in cash
# Staff:
CLOCKED_IN = "staff.clocked_in"
CLOCKED_OUT = "staff.clocked_out"
PIN_UNLOCKED = "staff.pin_unlocked"  # a manager lifted a staff member's PIN lock
OVERRIDE = "staff.override"  # a manager let a step through without its usual check (a member's PIN)
# Coupons: single use is tracked in the ledger so the use commits with its sale.
COUPON_REDEEMED = "coupon.redeemed"
COUPON_REINSTATED = "coupon.reinstated"
BIRTHDAY_BONUS = "points.birthday_bonus"  # marks the year's tier birthday bonus as given (points are in the sale)
# Documents (rulebook, catalog, shop settings) live outside the ledger; their changes are recorded in it for the audit.
RULES_LOADED = "rules.loaded"
CATALOG_LOADED = "catalog.loaded"
SETTINGS_CHANGED = "settings.changed"

# Who did it, when no staff member did: a customer at the self-service screens, or the system itself.
CUSTOMER = "customer"
SYSTEM = "system"

# Keys of `Deltas` a draft may carry.
DELTA_KEYS = frozenset({"points", "stored_value", "lifetime_spend", "visits", "stock"})


@dataclass(frozen=True)
class EventDraft:
    """An event before commit. `deltas` holds the balance changes: points, stored_value (fen),
    lifetime_spend (fen), visits {pack_id: n} and stock {sku: n}; `data` holds the facts (no personal data:
    the ledger is never erased, so phone numbers and names stay in the member record)."""

    type: str
    member_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    deltas: Mapping[str, Any] = field(default_factory=dict)
    v: int = 1  # schema version of `data`

    @classmethod
    def of(cls, payload: Payload, member_id: str | None = None, deltas: Mapping[str, Any] | None = None) -> EventDraft:
        """The draft of a typed payload (core.payloads): its event type, encoded data and schema version."""
        from core.payloads import encode  # imported here: core.payloads names its types with this module's constants

        return cls(payload.event_type, member_id, encode(payload), dict(deltas or {}), payload.version)


@dataclass(frozen=True)
class Event:
    """A committed ledger event; immutable and globally unique by `id`."""

    id: str
    kiosk_id: str
    store_id: str
    seq: int
    ts: int  # milliseconds since the Unix epoch, UTC
    txn: str  # id shared by the events committed together
    type: str
    member_id: str | None
    data: Mapping[str, Any]
    deltas: Mapping[str, Any]
    operator: str | None = None  # staff number, CUSTOMER at self-service, cli:<user>; None on events before it was kept
    v: int = 1  # schema version of `data`
