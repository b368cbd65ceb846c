"""What pricing needs from the store: the rulebook and catalog documents, a member's pricing state, coupon use.

Reads only; every function takes the open connection so a checkout can read and write in ONE transaction.
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping, NamedTuple

from core.catalog import Product, from_document
from core.errors import CouponRejected, NotFound
from core.quote_input import MemberState
from core.rules import ROLLING_12_MONTHS, Coupon, Rules
from core.rules_toml import parse_rules
from kiosk.clock import Clock
from kiosk.store import ledger, lookups
from kiosk.store import members as member_rows

RULES_TABLE = "rules"
CATALOG_TABLE = "catalog"
YEAR_MS = 365 * 24 * 3600 * 1000


def load_rules(docs: Any) -> Rules:
    """The loaded rulebook; a kiosk without one cannot price."""
    rows = docs.table(RULES_TABLE).all()
    if not rows:
        raise NotFound("no rules loaded: run 'memberkiosk rules load rules.toml'")
    return parse_rules(rows[-1]["source"])


def load_products(docs: Any) -> dict[str, Product]:
    """The catalog document (stock as last loaded; the ledger has the live level)."""
    products = from_document(docs.table(CATALOG_TABLE).all())
    if not products:
        raise NotFound("no catalog loaded: run 'memberkiosk catalog load catalog.csv'")
    return products


def with_stock(conn: sqlite3.Connection, products: Mapping[str, Product], skus: Iterable[str]) -> dict[str, Product]:
    """The products of `skus` (those in the catalog), counted ones with their stock as the ledger has it now."""
    out = {}
    for sku in skus:
        p = products.get(sku)
        if p is not None:
            out[sku] = p if p.stock is None else replace(p, stock=ledger.load_stock(conn, sku))
    return out


def load_catalog(docs: Any, conn: sqlite3.Connection) -> dict[str, Product]:
    """The whole catalog with live stock."""
    products = load_products(docs)
    return with_stock(conn, products, products)


class Pricing(NamedTuple):
    """The rulebook, catalog by SKU and SKU by barcode one basket is priced with, from its first scan to its sale."""

    rules: Rules
    products: Mapping[str, Product]
    barcodes: Mapping[str, str]

    def sku(self, code: str) -> str:
        """The SKU of a scanned barcode; a typed SKU passes through."""
        return self.barcodes.get(code, code)


class PricingDocs:
    """The rulebook and catalog parsed once, and again only when the documents file has been replaced.

    A scan must not re-parse TOML and rebuild thousands of products; a `rules load` from another process
    renames a new documents file into place, which changes its inode and mtime, so the cache sees it.
    """

    def __init__(self, docs: Any, path: Path) -> None:
        self.docs, self.path = docs, path
        self._key: tuple[int, int, int] | None = None
        self._pricing: Pricing | None = None

    def current(self) -> Pricing:
        """(rulebook, catalog by SKU, SKU by barcode), re-read only when the documents file was replaced; a read
        builds a new value, so one already handed out never changes."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise NotFound("no rules loaded: run 'memberkiosk rules load rules.toml'") from None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key != self._key or self._pricing is None:
            products = load_products(self.docs)
            barcodes = {p.barcode: sku for sku, p in products.items() if p.barcode}
            self._pricing = Pricing(load_rules(self.docs), MappingProxyType(products), MappingProxyType(barcodes))
            self._key = key
        return self._pricing


def member_state(conn: sqlite3.Connection, member_id: str, rules: Rules, now_ms: int, clock: Clock) -> MemberState:
    """Balances, tier, birthday, 12-month spend, visit expiries and this year's birthday bonus of a member."""
    member = member_rows.get(conn, member_id)
    if member is None:
        raise NotFound(f"no member {member_id}")
    b = ledger.load_balances(conn, member_id)
    rolling = lookups.spend_since(conn, member_id, now_ms - YEAR_MS) if rules.tiers.basis == ROLLING_12_MONTHS else 0
    bonus_at = lookups.last_birthday_bonus(conn, member_id)
    expires: dict[str, dt.date] = {}
    for pack in (p for p, n in b.visits.items() if n > 0):  # the latest purchase of a pack sets its expiry
        day = lookups.pack_expiry(conn, member_id, pack)
        if day:
            expires[pack] = dt.date.fromisoformat(day)
    return MemberState(
        member_id=member_id, tier=b.tier, points=b.points, stored_value=b.stored_value,
        lifetime_spend=b.lifetime_spend, rolling_spend=rolling, visits=dict(b.visits), visits_expire=expires,
        birthday=member.birthday, birthday_bonus_year=clock.local(bonus_at).year if bonus_at else None,
    )


def coupons_for(conn: sqlite3.Connection, codes: Iterable[str], rules: Mapping[str, Coupon]) -> list[Coupon]:
    """The presented coupons with their use state from the ledger; an unknown code is refused."""
    out = []
    for code in codes:
        coupon = rules.get(code)
        if coupon is None:
            raise CouponRejected(f"coupon {code} is not a coupon of this shop")
        out.append(replace(coupon, used=lookups.coupon_used(conn, code)))
    return out


def sale(conn: sqlite3.Connection, sale_id: str) -> tuple[str | None, dict[str, Any], set[int]]:
    """(member, sale data, lines already refunded) of a committed sale."""
    found = lookups.sale(conn, sale_id)
    if found is None:
        raise NotFound(f"no sale {sale_id}")
    return found[0], found[1], lookups.refunded_lines(conn, sale_id)
