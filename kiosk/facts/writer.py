"""Writes the fact rows of committed events through a DB-API cursor (SQLite '?' or PostgreSQL '%s').

Strings become ids through `fact_dict`, cached in memory. Writing an event's rows again changes nothing (every
insert is ON CONFLICT DO NOTHING, and a sale's SKU pairs are counted only when its sale row is new), so a
follower replaying a batch after a crash, or two processes following the same ledger, never double a row.
Call `write` inside the transaction that records the follower's position; after a rollback call `forget`.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from operator import itemgetter
from typing import Any, Callable, Iterable, NamedTuple

import native
from core.events import Event
from core.facts import LINE_COLUMNS, REFUND, TOTALS, FactRows, Row, coupon_cost, extract, refund_rows
from core.facts import pairs as sku_pairs
from core.payloads import BadPayload
from kiosk.background import cyclic_gc_paused
from kiosk.facts.schema import KINDS, NONE

Resolve = Callable[[str], "tuple[str, int] | None"]  # an event id -> its (kiosk id, seq), None when not here

SALE_COLUMNS = ("kiosk", "seq", "kind", "sale_kiosk", "sale_seq", "ts", "day", "hour", "store", "member", "tier",
                "operator", "items", "gross", "discount", "coupon", "net", "points_used", "points_fen", "stored_value",
                "cash", "external", "visits_used", "visits_fen", "earned", "coupon_code", "coupons", "bonus", "lines")
MOVE_COLUMNS = ("kiosk", "seq", "ts", "day", "store", "member", "type", "points", "stored_value", "visits", "paid",
                "bonus_value", "bonus_points")
COUPON_COLUMNS = ("kiosk", "seq", "coupon", "sale_kiosk", "sale_seq", "day", "cost", "reinstated")
SHIFT_COLUMNS = ("kiosk", "seq", "ts", "day", "store", "staff", "dir")
_COUPON = TOTALS.index("coupon")
_SKU = itemgetter(LINE_COLUMNS.index("sku"))


class SaleInfo(NamedTuple):
    """What a refund or a coupon of a sale needs from the sale's facts."""

    lines: list[Row]  # its fact_lines rows
    tier: int
    coupon: int  # the sale's coupon share (fen)
    coupons: int
    first_coupon: int


class _Codes(dict):
    """One kind's ids by string; a string not seen yet gets the next id, noted for insertion (a plain dict lookup in
    C for the strings already known: the writer encodes several strings per sale line)."""

    def __init__(self, kind: str, new: list[tuple[str, int, str]]) -> None:
        super().__init__()
        self.kind, self.new = kind, new

    def __missing__(self, value: str) -> int:
        id_ = self[value] = len(self)
        self.new.append((self.kind, id_, value))
        return id_


class FactWriter:
    """Dictionary encoding and inserts of fact rows; `resolve` finds the sale a refund or coupon names."""

    def __init__(self, cursor: Any, placeholder: str = "?", resolve: Resolve = lambda event_id: None) -> None:
        self.cur, self.ph, self.resolve = cursor, placeholder, resolve
        self._ids: dict[str, _Codes] = {}
        self._count = -1  # fact_dict rows when the cache was loaded; another writer's rows make it reload
        self._new: list[tuple[str, int, str]] = []
        self._insert = {table: self._sql(table, cols) for table, cols in (
            ("fact_sales", SALE_COLUMNS), ("fact_lines", LINE_COLUMNS), ("fact_moves", MOVE_COLUMNS),
            ("fact_coupons", COUPON_COLUMNS), ("fact_shifts", SHIFT_COLUMNS), ("fact_dict", ("kind", "id", "value")))}

    def _sql(self, table: str, columns: tuple[str, ...]) -> str:
        marks = ", ".join([self.ph] * len(columns))
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING"

    def forget(self) -> None:
        """Drop the cached dictionary (after a rollback, ids handed out in it were never stored)."""
        self._count = -1
        self._new.clear()

    def _load(self) -> None:
        self.cur.execute("SELECT COUNT(*) FROM fact_dict")
        count = self.cur.fetchone()[0]
        if count == self._count:
            return
        self._ids = {kind: _Codes(kind, self._new) for kind in KINDS}
        self.cur.execute("SELECT kind, id, value FROM fact_dict")
        for kind, id_, value in self.cur.fetchall():
            if kind not in self._ids:  # a kind a newer writer added
                self._ids[kind] = _Codes(kind, self._new)
            dict.__setitem__(self._ids[kind], value, id_)
        self._count = count

    def id(self, kind: str, value: str | None) -> int:
        """The id of `value` among `kind`'s strings, given a new one when it is new; NONE for None."""
        return NONE if value is None else self._ids[kind][value]

    def write(self, events: Iterable[Event], tz: dt.tzinfo | None) -> int:
        """Write the fact rows of `events` (in ledger order); returns how many events gave facts."""
        with cyclic_gc_paused():
            try:
                return self._write(events, tz)
            except BadPayload:
                self.forget()  # ids the batch handed out before its bad event stay unwritten
                raise

    def _write(self, events: Iterable[Event], tz: dt.tzinfo | None) -> int:
        self._load()
        facts = [f for f in (extract(e, tz) for e in events) if not f.empty]
        known = self._known_sales(facts)
        rows: dict[str, list[tuple]] = {t: [] for t in ("fact_sales", "fact_lines", "fact_moves", "fact_coupons",
                                                         "fact_shifts")}
        baskets: list[frozenset[int]] = []  # each new sale's SKU ids: a batch counts the pairs of each basket once
        recent: dict[tuple[int, int], SaleInfo] = {}
        for f in facts:
            kiosk = self.id("kiosk", f.kiosk)
            if f.sale is not None:
                lines = self._sale(kiosk, f, rows, recent)
                if f.sale.kind != REFUND and (kiosk, f.seq) not in known:
                    baskets.append(frozenset(map(_SKU, lines)))
            if f.move is not None:
                m = f.move
                rows["fact_moves"].append((kiosk, f.seq, m.ts, m.day, self.id("store", m.store), self.id("member", m.member),
                                           self.id("type", m.type), m.points, m.stored_value, m.visits, m.paid,
                                           m.bonus_value, m.bonus_points))
            if f.coupon is not None:
                c = f.coupon
                sale_key = self._key(c.sale)
                info = self._info(sale_key, recent)
                code = self.id("coupon", c.code)
                cost = coupon_cost(info.coupon, info.coupons, code == info.first_coupon) if info else 0
                rows["fact_coupons"].append((kiosk, f.seq, code, *sale_key, c.day, -cost if c.reinstated else cost,
                                             int(c.reinstated)))
            if f.shift is not None:
                s = f.shift
                rows["fact_shifts"].append((kiosk, f.seq, s.ts, s.day, self.id("store", s.store), self.id("staff", s.staff),
                                            s.dir))
        if self._new:
            self.cur.executemany(self._insert["fact_dict"], self._new)
            self._count += len(self._new)
            self._new.clear()
        for table, table_rows in rows.items():
            if table_rows:
                self.cur.executemany(self._insert[table], table_rows)
        pairs: Counter[tuple[int, int]] = Counter()
        for basket, sales in Counter(baskets).items():
            for pair in sku_pairs(basket):
                pairs[pair] += sales
        if pairs:
            p = self.ph
            self.cur.executemany(f"INSERT INTO fact_pairs (a, b, n) VALUES ({p}, {p}, {p}) ON CONFLICT (a, b) DO UPDATE "
                                 "SET n = fact_pairs.n + excluded.n", [(a, b, n) for (a, b), n in pairs.items()])
        return len(facts)

    def _sale(self, kiosk: int, f: FactRows, rows: dict[str, list[tuple]],
              recent: dict[tuple[int, int], SaleInfo]) -> list[Row]:
        """Add a sale's or refund's rows; returns its fact_lines rows."""
        s = f.sale
        assert s is not None
        member = self.id("member", s.member)
        if s.kind == REFUND:
            sale_key = self._key(s.sale)
            info = self._info(sale_key, recent)
            lines = refund_rows(s, info.lines if info else (), kiosk, f.seq, member)
            tier = info.tier if info else NONE
        else:
            sale_key, tier = (kiosk, f.seq), self.id("tier", s.tier)
            lines = native.line_rows(s, kiosk, f.seq, member, self._ids["sku"], self._ids["name"])
        t = s.amounts(native.totals(lines))
        first = self.id("coupon", s.coupon_code)
        rows["fact_sales"].append((kiosk, f.seq, s.kind, *sale_key, s.ts, s.day, s.hour, self.id("store", s.store),
                                   member, tier, self.id("staff", s.operator), *t, first, s.coupons, s.bonus,
                                   len(lines)))
        rows["fact_lines"] += lines
        if s.kind != REFUND:
            recent[kiosk, f.seq] = SaleInfo(lines, tier, t[_COUPON], s.coupons, first)
        return lines

    def _key(self, event_id: str | None) -> tuple[int, int]:
        """The (kiosk id, seq) of the sale with `event_id`; (NONE, NONE) when it is not here."""
        found = self.resolve(event_id) if event_id else None
        return (self.id("kiosk", found[0]), found[1]) if found else (NONE, NONE)

    def _info(self, key: tuple[int, int], recent: dict[tuple[int, int], SaleInfo]) -> SaleInfo | None:
        """A sale's facts: from this batch, or as stored."""
        if key[0] == NONE or key in recent:
            return recent.get(key)
        p = self.ph
        self.cur.execute(f"SELECT tier, coupon, coupons, coupon_code FROM fact_sales WHERE kiosk = {p} AND seq = {p}", key)
        row = self.cur.fetchone()
        if row is None:
            return None
        self.cur.execute(f"SELECT {', '.join(LINE_COLUMNS)} FROM fact_lines WHERE kiosk = {p} AND seq = {p} ORDER BY line",
                         key)
        return SaleInfo(list(self.cur.fetchall()), *row)

    def _known_sales(self, facts: list[FactRows]) -> set[tuple[int, int]]:
        """The sales of `facts` already written (their SKU pairs are counted already)."""
        seqs: dict[int, list[int]] = {}
        for f in facts:
            if f.sale is not None and f.sale.kind != REFUND and f.kiosk in self._ids["kiosk"]:
                seqs.setdefault(self._ids["kiosk"][f.kiosk], []).append(f.seq)
        known: set[tuple[int, int]] = set()
        p = self.ph
        for kiosk, numbers in seqs.items():
            self.cur.execute(f"SELECT seq FROM fact_sales WHERE kiosk = {p} AND seq >= {p} AND seq <= {p}",
                             (kiosk, min(numbers), max(numbers)))
            known.update((kiosk, seq) for (seq,) in self.cur.fetchall())
        return known
