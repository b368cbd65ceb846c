"""The sales history as flat int64 columns for what-if re-pricing, scanned from the sales fact tables.

The facts follower keeps fact_sales and fact_lines in the ledger database (kiosk/followers/facts.py); reading
the history is two scans of narrow integer rows after catching it up, where decoding every sale's JSON from the
ledger took minutes for a million sales.
"""
from __future__ import annotations

import datetime as dt
from array import array
from dataclasses import dataclass, field
from itertools import accumulate

from kiosk.clock import Clock
from kiosk.facts import load
from kiosk.followers.facts import FactsFollower
from kiosk.followers.runner import catch_up
from kiosk.store import members as member_rows
from kiosk.store.db import Database

COLUMNS = ("offsets", "sku", "qty", "tier", "coupon", "points", "day", "member", "bonus")

# Sales in key order; ids index the fact_dict strings, -1 for none.
SALES = ("SELECT tier, coupon_code, points_used, day, member, bonus, lines FROM fact_sales WHERE kind = 1"
         " ORDER BY kiosk, seq")
LINES = "SELECT sku, qty FROM fact_lines WHERE kind = 1 ORDER BY kiosk, seq, line"
# newest lines first (the table is written in ledger order): each SKU's price and name on the last line it was sold
# on is its first row here, and the read stops once every SKU has one (recent sales hold nearly all of them)
LAST_SOLD = "SELECT sku, price, name FROM fact_lines WHERE kind = 1 ORDER BY rowid DESC"


@dataclass
class History:
    """Sales as columns: lines of sale i are offsets[i]:offsets[i+1]; strings live in the tables."""

    skus: list[str] = field(default_factory=list)
    prices: list[int] = field(default_factory=list)  # last price each SKU sold at, for SKUs since removed
    names: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    coupons: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    cols: dict[str, array] = field(default_factory=lambda: {c: array("q", [0] if c == "offsets" else []) for c in COLUMNS})

    @property
    def count(self) -> int:
        """Number of sales."""
        return len(self.cols["offsets"]) - 1


def load_history(db: Database, clock: Clock) -> History:
    """Every sale the ledger holds (ingested ones too), after the facts follower has caught up."""
    catch_up(db, FactsFollower(db, clock))
    with db.reading() as conn:
        cur = conn.cursor()
        sales = load.columns(cur, SALES, ("tier", "coupon", "points", "day", "member", "bonus", "lines"))
        lines = load.columns(cur, LINES, ("sku", "qty"))
        h = History(skus=load.dictionary(cur, "sku"), tiers=load.dictionary(cur, "tier"),
                    coupons=load.dictionary(cur, "coupon"), members=load.dictionary(cur, "member"))
        last: dict[int, tuple[int, int]] = {}
        for sku, price, name in conn.execute(LAST_SOLD):
            last.setdefault(sku, (price, name))
            if len(last) == len(h.skus):
                break
        names = load.dictionary(cur, "name")
    h.prices = [last[i][0] if i in last else 0 for i in range(len(h.skus))]
    h.names = [names[last[i][1]] if i in last else "" for i in range(len(h.skus))]
    h.cols = {"offsets": array("q", accumulate(sales.pop("lines"), initial=0)), "sku": lines["sku"],
              "qty": lines["qty"], **{name: sales[name] for name in ("tier", "coupon", "points", "day", "member")},
              "bonus": array("q", map(bool, sales["bonus"]))}  # whether the sale gave the birthday bonus
    return h


def birthdays(db: Database, member_ids: list[str]) -> list[dt.date | None]:
    """Each member's birthday as recorded now (None when unknown or erased)."""
    with db.reading() as conn:
        found = [member_rows.get(conn, m) for m in member_ids]
    return [m.birthday if m is not None else None for m in found]
