"""The sales history as flat int64 arrays, cached beside the ledger: a ledger follower that rebuilds from zero.

What-if re-pricing walks every recorded sale; decoding a million sales' JSON from the ledger takes minutes,
walking arrays takes seconds. The cache is derived data: its position is the last sale it holds (in the file
itself, so the arrays and the position can never disagree); it is rewritten whole (temp file, fsync, rename)
when new sales arrived, and rebuilt from the ledger when it is missing, unreadable or from another ledger.

It follows at read time (`load_history`, from `memberkiosk simulate`), not in the kiosk's follower thread: the
file is rewritten whole, so following every sale would rewrite megabytes of flash per sale for a reader that
runs a few times a year.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import struct
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from core.events import SALE_COMPLETED
from kiosk.followers.base import Batch
from kiosk.followers.runner import catch_up
from kiosk.store import cursors
from kiosk.store import members as member_rows
from kiosk.store.db import Database
from kiosk.store.documents import atomic_write

CACHE_FILE = "sales-history.cache"
MAGIC = b"MKSH0001"
COLUMNS = ("offsets", "sku", "qty", "tier", "coupon", "points", "day", "member", "bonus")


@dataclass
class History:
    """Sales as columns: lines of sale i are offsets[i]:offsets[i+1]; strings live in the tables."""

    ledger_id: str = ""
    last_pos: int = 0
    last_id: str = ""  # id of the event at last_pos: a restored older backup no longer has it there
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

    def _id(self, table: list[str], index: dict[str, int], value: str) -> int:
        if value not in index:
            index[value] = len(table)
            table.append(value)
        return index[value]

    def add(self, rows: list[tuple[int, str, str | None, Mapping[str, Any]]]) -> None:
        """Append sales (ledger position, event id, member, sale data) in ledger order."""
        sku_ix = {s: i for i, s in enumerate(self.skus)}
        ix = {name: {v: i for i, v in enumerate(getattr(self, name))} for name in ("tiers", "coupons", "members")}
        c = self.cols
        for pos, sale_id, member_id, sale in rows:
            for line in sale["lines"]:
                i = self._id(self.skus, sku_ix, line["sku"])
                if i == len(self.prices):
                    self.prices.append(line["price"])
                    self.names.append(line["name"])
                self.prices[i] = line["price"]
                c["sku"].append(i)
                c["qty"].append(line["qty"])
            c["offsets"].append(len(c["sku"]))
            c["tier"].append(self._id(self.tiers, ix["tiers"], sale["tier"]) if member_id and sale.get("tier") else -1)
            c["coupon"].append(self._id(self.coupons, ix["coupons"], sale["coupons"][0]) if sale["coupons"] else -1)
            c["points"].append(sum(line["points_used"] for line in sale["lines"]))
            c["day"].append(dt.date.fromisoformat(sale["day"]).toordinal())
            c["member"].append(self._id(self.members, ix["members"], member_id) if member_id else -1)
            c["bonus"].append(1 if sale.get("birthday_bonus") else 0)
            self.last_pos, self.last_id = pos, sale_id


def _matches(conn: sqlite3.Connection, h: History) -> bool:
    """Whether the cache was read from this ledger (named by its first event: a restored backup keeps it, a new
    store has another), up to an event that is still where it was."""
    if h.ledger_id != cursors.first_event_id(conn):
        return False
    return h.last_pos == 0 or cursors.event_id_at(conn, h.last_pos) == h.last_id


def _read(path: Path) -> History | None:
    try:
        raw = path.read_bytes()
        if raw[:8] != MAGIC:
            return None
        (size,) = struct.unpack_from("<Q", raw, 8)
        header = json.loads(raw[16:16 + size])
        h = History(**{k: header[k] for k in ("ledger_id", "last_pos", "last_id", "skus", "prices", "names", "tiers", "coupons",
                                              "members")})
        at = 16 + size
        for name in COLUMNS:
            column = array("q")
            column.frombytes(raw[at:at + 8 * header["lengths"][name]])
            at += 8 * header["lengths"][name]
            h.cols[name] = column
        return h if at == len(raw) else None
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None  # a damaged cache is rebuilt from the ledger, which is the truth


def _write(path: Path, h: History) -> None:
    header = {k: getattr(h, k) for k in ("ledger_id", "last_pos", "last_id", "skus", "prices", "names", "tiers", "coupons",
                                         "members")}
    header["lengths"] = {name: len(h.cols[name]) for name in COLUMNS}
    blob = json.dumps(header, ensure_ascii=False).encode()
    atomic_write(path, MAGIC + struct.pack("<Q", len(blob)) + blob + b"".join(h.cols[n].tobytes() for n in COLUMNS))


class HistoryCache:
    """The follower that keeps the cache file: it appends the sales it is handed and writes the file on `save`."""

    name = "sales-history"
    kiosk_id = None  # every sale this ledger holds, ingested ones too
    types = (SALE_COMPLETED,)
    batch = 10_000

    def __init__(self, db: Database, path: Path) -> None:
        self.db, self.path = db, path
        with db.reading() as conn:
            h = _read(path)
            self.history = h if h is not None and _matches(conn, h) else History(ledger_id=cursors.first_event_id(conn))
        self._dirty = False

    def position(self) -> int:
        """The ledger position of the last sale in the cache."""
        return self.history.last_pos

    def handle(self, events: Batch, upto: int) -> None:
        """Append the sales (its position stays at the last sale: only sales are in the file)."""
        self.history.add([(pos, event.id, event.member_id, event.data) for pos, event in events])
        self._dirty = self._dirty or bool(events)

    def rewind(self) -> None:
        """Forget every sale; the next `save` writes the rebuilt file."""
        with self.db.reading() as conn:
            self.history = History(ledger_id=cursors.first_event_id(conn))
        self._dirty = True

    def save(self) -> None:
        """Write the file when sales were added since it was read."""
        if self._dirty:
            _write(self.path, self.history)
            self._dirty = False


def load_history(db: Database, data_dir: Path) -> History:
    """The sales history up to the ledger's last sale, from the cache plus whatever was committed since."""
    cache = HistoryCache(db, data_dir / CACHE_FILE)
    catch_up(db, cache)
    cache.save()
    return cache.history


def birthdays(db: Database, member_ids: list[str]) -> list[dt.date | None]:
    """Each member's birthday as recorded now (None when unknown or erased)."""
    with db.reading() as conn:
        found = [member_rows.get(conn, m) for m in member_ids]
    return [m.birthday if m is not None else None for m in found]

