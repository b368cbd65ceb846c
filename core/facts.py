"""Sales facts: the narrow rows that reports, analytics and simulate scan, extracted from one ledger event.

Pure: `extract` turns a committed event into rows keyed by strings (member id, SKU, ...); the writer
(kiosk.facts.writer) encodes the strings as integers and resolves the sale a refund or a coupon names, and
`line_rows` (native.line_rows in a rebuild) and `refund_rows` give a sale's and a refund's fact_lines rows.
Amounts are fen; a refund's amounts are negative so that sums over sales and refunds net out.
"""
from __future__ import annotations

import datetime as dt
from itertools import combinations
from operator import itemgetter
from typing import Any, Iterable, Mapping, NamedTuple, Sequence, TypeVar

from core import events as ev
from core.events import Event
from core.payloads import (BadPayload, ClockedIn, ClockedOut, CouponRedeemed, CouponReinstated, SaleRefunded,
                           ToppedUp, of)

SALE, REFUND = 1, -1
T = TypeVar("T", str, int)
IN, OUT = 1, -1


LINE_COLUMNS = ("kiosk", "seq", "line", "sku", "qty", "price", "gross", "discount", "net", "day", "member", "name",
                "coupon", "points_used", "points_fen", "visits_used", "visits_fen", "stored_value", "cash", "external",
                "earned", "kind")
# A fact_sales row's amounts (items .. earned, in column order) and the LINE_COLUMNS they sum
TOTALS = ("items", "gross", "discount", "coupon", "net", "points_used", "points_fen", "stored_value", "cash",
          "external", "visits_used", "visits_fen", "earned")
SUMMED = tuple(LINE_COLUMNS.index("qty" if name == "items" else name) for name in TOTALS)
Row = tuple  # a fact_lines row, LINE_COLUMNS


class SaleFact(NamedTuple):
    """A sale or a refund. A refund names its sale by event id (`sale`) and lists the sale's line numbers it gave
    back; its line rows are the sale's, negated (`refund_rows`), and its tenders are what the event recorded."""

    kind: int
    sale: str | None  # a refund: the sale's event id; a sale: None (itself)
    ts: int
    day: int
    hour: int
    store: str
    member: str | None
    tier: str | None
    operator: str | None
    lines: Sequence[Mapping[str, Any]]  # a sale: its lines as recorded (SaleLine's keys); a refund: ()
    refunded: tuple[int, ...] = ()  # a refund: the sale's line numbers
    coupon_code: str | None = None  # the first coupon used (simulate prices with it)
    coupons: int = 0  # how many coupons the sale used
    bonus: int = 0  # birthday bonus points the sale gave
    tenders: Mapping[str, int] | None = None  # a refund: what went back to each tender, as the event says

    def amounts(self, sums: list[int]) -> list[int]:
        """The fact_sales amounts (TOTALS) from the `totals` of its line rows, with a refund's tenders as its event
        recorded them."""
        for name, value in (self.tenders or {}).items():
            sums[TOTALS.index(name)] = value
        return sums


class MoveFact(NamedTuple):
    """An event's moves of points, stored value and visits (summed over packs), with a top-up's payment and bonus."""

    ts: int
    day: int
    store: str
    member: str
    type: str
    points: int
    stored_value: int
    visits: int
    paid: int = 0
    bonus_value: int = 0
    bonus_points: int = 0


class CouponFact(NamedTuple):
    """A coupon used (or reinstated, when its sale was refunded whole) on the sale with event id `sale`."""

    code: str
    sale: str
    day: int
    reinstated: bool


class ShiftFact(NamedTuple):
    """A staff member clocking in (1) or out (-1)."""

    ts: int
    day: int
    store: str
    staff: str
    dir: int


class FactRows(NamedTuple):
    """Every fact row one event gives, keyed by the event's (kiosk, seq) (a sale's SKU pairs: `pairs` of its lines)."""

    kiosk: str
    seq: int
    sale: SaleFact | None = None
    move: MoveFact | None = None
    coupon: CouponFact | None = None
    shift: ShiftFact | None = None

    @property
    def empty(self) -> bool:
        """Whether the event gives no fact at all."""
        return self.sale is None and self.move is None and self.coupon is None and self.shift is None


# The event types that give facts besides balance moves, which any member's event may carry (a newer type too).
TYPES = frozenset({ev.SALE_COMPLETED, ev.SALE_REFUNDED, ev.COUPON_REDEEMED, ev.COUPON_REINSTATED, ev.CLOCKED_IN,
                   ev.CLOCKED_OUT})
BALANCES = ("points", "stored_value", "visits")


def gives_facts(event: Event) -> bool:
    """Whether `extract` may give rows for the event (a cheap test, to skip the rest)."""
    return event.type in TYPES or (event.member_id is not None and any(k in event.deltas for k in BALANCES))


def local(ts: int, tz: dt.tzinfo | None) -> dt.datetime:
    """The shop's local wall time of a ledger timestamp (tz None: the system's zone, as kiosk.clock does)."""
    return dt.datetime.fromtimestamp(ts / 1000, tz)


def extract(event: Event, tz: dt.tzinfo | None) -> FactRows:
    """The fact rows of one committed event (FactRows.empty for an event that gives none)."""
    if not gives_facts(event):
        return FactRows(event.kiosk_id, event.seq)
    when = local(event.ts, tz)
    day, hour = when.toordinal(), when.hour
    move = _move(event, day)
    if event.type == ev.SALE_COMPLETED:
        fact = _sale(event, hour)
        return FactRows(event.kiosk_id, event.seq, sale=fact, move=move)
    if event.type == ev.SALE_REFUNDED:
        refund = of(event)
        assert isinstance(refund, SaleRefunded)
        tenders = {"cash": -refund.cash, "external": -refund.external, "stored_value": -refund.stored_value,
                   "points_used": -refund.points_back, "earned": -refund.points_clawed}
        fact = SaleFact(REFUND, refund.sale, event.ts, day, hour, event.store_id, event.member_id, None,
                        event.operator, (), refunded=tuple(refund.lines), tenders=tenders)
        return FactRows(event.kiosk_id, event.seq, sale=fact, move=move)
    if event.type in (ev.COUPON_REDEEMED, ev.COUPON_REINSTATED):
        used = of(event)
        assert isinstance(used, (CouponRedeemed, CouponReinstated))
        # a coupon is redeemed in its sale's transaction, whose id is the sale's event id
        sale_id = used.sale if isinstance(used, CouponReinstated) else event.txn
        return FactRows(event.kiosk_id, event.seq, move=move,
                        coupon=CouponFact(used.code, sale_id, day, isinstance(used, CouponReinstated)))
    if event.type in (ev.CLOCKED_IN, ev.CLOCKED_OUT):
        clocking = of(event)
        assert isinstance(clocking, (ClockedIn, ClockedOut))
        shift = ShiftFact(event.ts, day, event.store_id, clocking.staff_no, IN if event.type == ev.CLOCKED_IN else OUT)
        return FactRows(event.kiosk_id, event.seq, move=move, shift=shift)
    return FactRows(event.kiosk_id, event.seq, move=move)


def _sale(event: Event, hour: int) -> SaleFact:
    """A sale's facts, read straight from its recorded data (a million sales decoded as typed payloads would take
    minutes); `line_rows` reads its lines. The keys are SaleCompleted's."""
    try:
        d = event.data
        coupons = d["coupons"]
        return SaleFact(SALE, None, event.ts, dt.date.fromisoformat(d["day"]).toordinal(), hour, event.store_id,
                        event.member_id, d["tier"] if event.member_id else None, event.operator, d["lines"],
                        coupon_code=coupons[0] if coupons else None, coupons=len(coupons), bonus=d["birthday_bonus"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadPayload(f"sale {event.kiosk_id}-{event.seq} ({event.id}) has data its facts cannot be read from: "
                         f"{exc!r}") from None


# SaleLine's keys in fact_lines order around discount (+ threshold), read in C by itemgetter: the hot path of a rebuild
_LINE_PRICES = itemgetter("qty", "price", "gross")
_LINE_SHARES = itemgetter("coupon", "points_used", "points_fen", "visits_used", "visits_fen", "stored_value", "cash",
                          "external", "earned")


def line_rows(sale: SaleFact, kiosk: int, seq: int, member: int, skus: Mapping[str, int],
              names: Mapping[str, int]) -> list[Row]:
    """A sale's fact_lines rows, its SKUs and names encoded by `skus` and `names` (mappings that give new strings
    an id); BadPayload when a recorded line lacks a key."""
    day, kind = sale.day, sale.kind
    try:
        return [(kiosk, seq, n, skus[x["sku"]], *_LINE_PRICES(x), x["discount"] + x["threshold"], x["net"], day, member,
                 names[x["name"]], *_LINE_SHARES(x), kind) for n, x in enumerate(sale.lines)]
    except (KeyError, TypeError, ValueError) as exc:
        raise bad_line(kiosk, seq, exc) from None


def bad_line(kiosk: int, seq: int, exc: Exception) -> BadPayload:
    """The error of a sale line that lacks a key or holds a wrong type (the native kernel raises the same)."""
    return BadPayload(f"sale {seq} of the kiosk with fact_dict id {kiosk} has a line its facts cannot be read "
                      f"from: {exc!r}")


def totals(rows: Sequence[Row]) -> list[int]:
    """The sums of line rows that a fact_sales row holds (TOTALS, in column order)."""
    if not rows:
        return [0] * len(TOTALS)
    columns = list(zip(*rows))
    return [sum(columns[i]) for i in SUMMED]


def refund_rows(refund: SaleFact, sale_rows: Sequence[Row], kiosk: int, seq: int, member: int) -> list[Row]:
    """A refund's fact_lines rows: the sale's lines it gave back, negated (the price stays what it was), on the
    refund's day and member (a sale unknown here: none)."""
    by_number = {row[2]: row for row in sale_rows}
    picked = [by_number[n] for n in refund.refunded if n in by_number]
    return [(kiosk, seq, r[2], r[3], -r[4], r[5], -r[6], -r[7], -r[8], refund.day, member, r[11],
             *(-v for v in r[12:21]), REFUND) for r in picked]


def _move(event: Event, day: int) -> MoveFact | None:
    """The event's balance moves, as the fold counts them (integer deltas of a member's event), or None."""
    if event.member_id is None:
        return None
    d = event.deltas
    points, stored = _int(d.get("points", 0)), _int(d.get("stored_value", 0))
    packs = d.get("visits", {})
    visits = sum(v for v in packs.values() if type(v) is int) if isinstance(packs, Mapping) else 0
    if not (points or stored or visits):
        return None
    paid = bonus_value = bonus_points = 0
    if event.type == ev.TOPPED_UP:
        topup = of(event)
        assert isinstance(topup, ToppedUp)
        paid, bonus_value, bonus_points = topup.amount, topup.bonus_value or 0, topup.bonus_points or 0
    return MoveFact(event.ts, day, event.store_id, event.member_id, event.type, points, stored, visits, paid,
                    bonus_value, bonus_points)


def _int(value: object) -> int:
    return value if type(value) is int else 0


def pairs(skus: Iterable[T]) -> list[tuple[T, T]]:
    """Every two distinct SKUs (or their ids) of one sale, once each, the smaller first: the rows of fact_pairs."""
    return list(combinations(sorted(set(skus)), 2))


def coupon_cost(share: int, coupons: int, first: bool) -> int:
    """What one coupon of a sale cost: the sale's coupon share split evenly over its coupons (the sale records
    only their sum), the remainder on the first so the costs add up to the share."""
    if coupons <= 1:
        return share
    each = share // coupons
    return share - each * (coupons - 1) if first else each
