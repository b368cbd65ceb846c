"""Typed event payloads: one frozen type per event type, with its schema version, and the one codec of `data`.

The ledger row and the wire both carry `encode(payload)`; readers get the type back with `of(event)`. Decoding is
lossless: keys this software does not know (a newer version's) stay in `extra` and are written back unchanged, so
decode then encode of any data dict gives the same dict, and a kiosk on older software passes a newer event on
intact. An event type it does not know at all decodes to `Unknown`, which keeps the data whole.
Rule for new versions: add keys; never change the meaning or the kind of value of a key an older version wrote.
"""
from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field, fields
from typing import Any, Callable, ClassVar, Mapping, NamedTuple, TypeVar

from core import events as ev
from core.errors import InvalidInput
from core.events import Event, EventDraft

P = TypeVar("P", bound="Payload")
_NO_EXTRA: Mapping[str, Any] = types.MappingProxyType({})


class BadPayload(InvalidInput):
    """The data of a known event type lacks a key or holds the wrong kind of value there; the event stays as it came."""


class _Wrong(Exception):
    """A JSON value of the wrong kind, caught by `decode` to name the event and the key."""


def optional(key: str | None = None) -> Any:
    """A key written only when it has a value: None means the key is absent from `data`."""
    return field(default=None, metadata={"optional": True, "key": key})


def renamed(key: str) -> Any:
    """A required key that is not a Python name (`from`)."""
    return field(metadata={"key": key})


class SaleLine(NamedTuple):
    """One recorded sale line: core.quote.QuoteLine field for field, then a newer version's keys. Refunds reverse
    exactly these shares."""

    sku: str
    name: str
    qty: int
    price: int
    gross: int
    discount: int
    threshold: int
    coupon: int
    net: int
    visits_pack: str | None
    visits_used: int
    visits_fen: int
    points_used: int
    points_fen: int
    stored_value: int
    cash: int
    external: int
    earned: int
    stocked: bool
    pack_bought: str | None
    pack_visits: int
    extra: Mapping[str, Any] = _NO_EXTRA

    @classmethod
    def of(cls, quote_line: tuple) -> SaleLine:
        """A quote line as it is recorded (tuple-made: a checkout records one per line)."""
        return cls._make((*quote_line, _NO_EXTRA))


@dataclass(frozen=True)
class Payload:
    """The data of one event type; `extra` holds the keys of a newer version, exactly as they came."""

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    extra: Mapping[str, Any] = field(default_factory=dict, kw_only=True)

    @property
    def event_type(self) -> str:
        """The event type this payload is the data of."""
        return self.TYPE

    @property
    def version(self) -> int:
        """The schema version this payload is written as."""
        return self.VERSION

    @classmethod
    def from_data(cls: type[P], data: Mapping[str, Any], v: int = 1) -> P:
        """The payload of `data` written at version `v`; BadPayload names the key that does not fit."""
        values: dict[str, Any] = {}
        extra = dict(data)
        for attr, key, is_optional, read, _ in _SPECS[cls]:
            if key not in data or (is_optional and data[key] is None):
                if is_optional:
                    continue  # absent, or an explicit null: that one stays in `extra` and is written back
                raise BadPayload(f"event {cls.TYPE} (v{v}) has no {key!r} in its data")
            try:
                values[attr] = read(extra.pop(key))
            except _Wrong as exc:
                raise BadPayload(f"event {cls.TYPE} (v{v}): {key} {exc}") from None
        return cls(**values, extra=extra)


@dataclass(frozen=True)
class Unknown(Payload):
    """An event type this software does not know: its data kept whole in `extra`, to store, fold and pass on."""

    type_name: str
    v: int

    @property
    def event_type(self) -> str:
        """The type the event came with."""
        return self.type_name

    @property
    def version(self) -> int:
        """The schema version the event came with."""
        return self.v


# A field's attribute, its key in `data`, whether it is optional, and how its value is read from and written to JSON.
_Spec = tuple[str, str, bool, Callable[[Any], Any], Callable[[Any], Any]]
_SPECS: dict[type[Payload], tuple[_Spec, ...]] = {}
REGISTRY: dict[str, type[Payload]] = {}


def register(cls: type[P]) -> type[P]:
    """Make `cls` the payload of its TYPE, with its codec derived from its type hints."""
    if cls.TYPE in REGISTRY:
        raise ValueError(f"{cls.TYPE} already has the payload {REGISTRY[cls.TYPE].__name__}")
    hints = typing.get_type_hints(cls)
    _SPECS[cls] = tuple(
        (f.name, f.metadata.get("key") or f.name, bool(f.metadata.get("optional")), *_codec(hints[f.name]))
        for f in fields(cls) if f.name != "extra"
    )
    REGISTRY[cls.TYPE] = cls
    return cls


def _same(value: Any) -> Any:
    return value


_KIND_NAMES = {int: "a whole number", str: "text", bool: "true or false"}


def _exact(kind: type) -> Callable[[Any], Any]:
    def read(value: Any) -> Any:
        if type(value) is not kind:  # exact: a bool is not an int here
            raise _Wrong(f"= {value!r} is not {_KIND_NAMES[kind]}")
        return value
    return read


def _codec(hint: Any) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """(read, write) for a field's type: int, str, bool, SaleLine, `X | None` and `tuple[X, ...]` of those."""
    if hint in (int, str, bool):
        return _exact(hint), _same
    if hint is SaleLine:
        return _read_line, _write_line
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        read, write = _codec(next(a for a in args if a is not type(None)))
        return (lambda x: None if x is None else read(x)), (lambda x: None if x is None else write(x))
    if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis:
        read, write = _codec(args[0])

        def read_all(value: Any) -> tuple:
            if not isinstance(value, (list, tuple)):
                raise _Wrong(f"= {value!r} is not a list")
            return tuple(read(item) for item in value)
        return read_all, lambda items: [write(item) for item in items]
    raise TypeError(f"payload fields hold int, str, bool, SaleLine, optional or tuples of them, not {hint!r}")


_LINE_KEYS = SaleLine._fields[:-1]
_LINE_KEY_SET = frozenset(_LINE_KEYS)
_LINE_READERS = tuple((key, _codec(hint)[0]) for key, hint in typing.get_type_hints(SaleLine).items() if key != "extra")


def _read_line(value: Any) -> SaleLine:
    if not isinstance(value, dict):
        raise _Wrong(f"holds {value!r}, not a sale line")
    missing = [key for key in _LINE_KEYS if key not in value]
    if missing:
        raise _Wrong(f"holds a line without {missing[0]!r}")
    known = []
    for key, read in _LINE_READERS:
        try:
            known.append(read(value[key]))
        except _Wrong as exc:
            raise _Wrong(f"holds a line whose {key} {exc}") from None
    extra = {k: v for k, v in value.items() if k not in _LINE_KEY_SET} if len(value) > len(_LINE_KEYS) else _NO_EXTRA
    return SaleLine(*known, extra=extra)


def _write_line(line: SaleLine) -> dict[str, Any]:
    data = dict(zip(_LINE_KEYS, line))
    return {**line.extra, **data} if line.extra else data


def encode(payload: Payload) -> dict[str, Any]:
    """The `data` of an event: the typed fields (optional ones only when set) over the kept `extra` keys."""
    data = dict(payload.extra)
    for attr, key, is_optional, _, write in _SPECS.get(type(payload), ()):
        value = getattr(payload, attr)
        if value is not None or not is_optional:
            data[key] = write(value)
    return data


def decode(event_type: str, data: Mapping[str, Any], v: int = 1) -> Payload:
    """The payload of an event's data; an unknown type gives Unknown with the data as is."""
    cls = REGISTRY.get(event_type)
    return Unknown(event_type, v, extra=dict(data)) if cls is None else cls.from_data(data, v)


def of(event: Event | EventDraft) -> Payload:
    """The typed payload of a committed event or a draft."""
    return decode(event.type, event.data, event.v)


# Members and cards (personal data never goes in a payload: the member record holds it).

@register
@dataclass(frozen=True)
class MemberRegistered(Payload):
    """A member joined; consent_at is when they agreed to the terms (ms). A tier, when given, is where they start."""

    TYPE = ev.MEMBER_REGISTERED
    consent_at: int
    tier: str | None = optional()


@register
@dataclass(frozen=True)
class MemberEdited(Payload):
    """Which fields of the member record changed (never their values)."""

    TYPE = ev.MEMBER_EDITED
    fields: tuple[str, ...]


@register
@dataclass(frozen=True)
class MemberErased(Payload):
    """The member's personal data was erased on request; balances stay."""

    TYPE = ev.MEMBER_ERASED


@register
@dataclass(frozen=True)
class CardLinked(Payload):
    """A card (normalized UID) now belongs to the member."""

    TYPE = ev.CARD_LINKED
    uid: str


@register
@dataclass(frozen=True)
class CardBlocked(Payload):
    """A card stopped working for good (lost, stolen)."""

    TYPE = ev.CARD_BLOCKED
    uid: str
    reason: str


# Money and balances (the amounts that move balances are in the event's deltas; these are the facts behind them).

@register
@dataclass(frozen=True)
class ToppedUp(Payload):
    """Stored value paid in (fen), with the bracket's bonus; an imported opening balance has a source instead."""

    TYPE = ev.TOPPED_UP
    amount: int
    bonus_value: int | None = optional()
    bonus_points: int | None = optional()
    source: str | None = optional()


@register
@dataclass(frozen=True)
class TierChanged(Payload):
    """The member moved from one tier to another, on an upgrade or at the yearly review."""

    TYPE = ev.TIER_CHANGED
    tier: str
    previous: str = renamed("from")
    reason: str  # upgrade or review


@register
@dataclass(frozen=True)
class SaleCompleted(Payload):
    """A checkout: its lines with every tender's share, coupons used, cash given and change, the local day."""

    TYPE = ev.SALE_COMPLETED
    lines: tuple[SaleLine, ...]
    coupons: tuple[str, ...]
    cash_given: int
    change: int
    day: str  # ISO local date
    tier: str | None  # the member's tier at the sale; None for a guest
    birthday_bonus: int


@register
@dataclass(frozen=True)
class SaleRefunded(Payload):
    """Lines of a sale given back, with what went back to each tender and the points taken back or short."""

    TYPE = ev.SALE_REFUNDED
    sale: str
    lines: tuple[int, ...]  # 0-based line numbers of the sale
    cash: int
    external: int
    stored_value: int
    points_back: int
    points_clawed: int
    points_short: int


@register
@dataclass(frozen=True)
class PointsAdjusted(Payload):
    """Points added or taken by hand, and why."""

    TYPE = ev.POINTS_ADJUSTED
    reason: str


@register
@dataclass(frozen=True)
class PointsExpired(Payload):
    """Points earned in one year, unspent, expired at the end of the next."""

    TYPE = ev.POINTS_EXPIRED
    earned_year: int
    expired_on: str  # ISO date


@register
@dataclass(frozen=True)
class VisitsSold(Payload):
    """A visit pack bought on line `line` of the sale committed with it; expires is an ISO date or None."""

    TYPE = ev.VISITS_SOLD
    pack: str
    line: int
    expires: str | None


@register
@dataclass(frozen=True)
class StockAdjusted(Payload):
    """Stock levels set by hand or by a catalog load."""

    TYPE = ev.STOCK_ADJUSTED
    reason: str


@register
@dataclass(frozen=True)
class BalanceSettled(Payload):
    """A member's balances closed before erasure: `cash` fen of stored value paid out, `points` and visits given up."""

    TYPE = ev.BALANCE_SETTLED
    cash: int
    points: int


# Staff.

@dataclass(frozen=True)
class _Clocking(Payload):
    staff_no: str


@register
@dataclass(frozen=True)
class ClockedIn(_Clocking):
    """A staff member started a shift."""

    TYPE = ev.CLOCKED_IN


@register
@dataclass(frozen=True)
class ClockedOut(_Clocking):
    """A staff member ended a shift."""

    TYPE = ev.CLOCKED_OUT


@register
@dataclass(frozen=True)
class PinUnlocked(Payload):
    """A manager (the event's operator) lifted the PIN lock of staff member `staff_no`."""

    TYPE = ev.PIN_UNLOCKED
    staff_no: str


@register
@dataclass(frozen=True)
class Override(Payload):
    """A manager (the event's operator) let `what` through without its usual check, e.g. a member's PIN."""

    TYPE = ev.OVERRIDE
    what: str


# Coupons and perks.

@register
@dataclass(frozen=True)
class CouponRedeemed(Payload):
    """A single-use coupon used by the sale committed with it."""

    TYPE = ev.COUPON_REDEEMED
    code: str


@register
@dataclass(frozen=True)
class CouponReinstated(Payload):
    """A coupon usable again because its sale was refunded whole."""

    TYPE = ev.COUPON_REINSTATED
    code: str
    sale: str


@register
@dataclass(frozen=True)
class BirthdayBonus(Payload):
    """The tier's birthday bonus of `year` was given (its points are in the sale's deltas)."""

    TYPE = ev.BIRTHDAY_BONUS
    year: int
    points: int


# Documents: who changed prices, rules or settings, and a fingerprint of what they became (the document itself is
# kept in documents.json, outside the ledger).

@register
@dataclass(frozen=True)
class RulesLoaded(Payload):
    """A rulebook became the kiosk's rules; sha256 is the hex digest of its TOML source."""

    TYPE = ev.RULES_LOADED
    sha256: str


@register
@dataclass(frozen=True)
class CatalogLoaded(Payload):
    """A catalog of `products` products became the kiosk's; sha256 is the hex digest of the stored document."""

    TYPE = ev.CATALOG_LOADED
    sha256: str
    products: int


@register
@dataclass(frozen=True)
class SettingsChanged(Payload):
    """The shop settings changed in `keys`; sha256 is the hex digest of the whole new settings document."""

    TYPE = ev.SETTINGS_CHANGED
    sha256: str
    keys: tuple[str, ...]
