"""The product catalog: what a SKU or barcode is, what it costs, how many points it earns."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

from core.errors import RulesError
from core.fields import MAX_RATE, Table, hundredths, integer, text, yuan
from core.text import fold_number

COLUMNS = ("sku", "barcode", "name", "price", "category", "stock", "points_rate", "low_stock")


@dataclass(frozen=True)
class Product:
    """One sellable item; stock None means not counted (services); points_rate in hundredths per yuan, None = rules;
    low_stock: the level at or below which staff are told to restock (None: never)."""

    sku: str
    name: str
    price: int
    category: str = ""
    barcode: str | None = None
    stock: int | None = None
    points_rate: int | None = None
    low_stock: int | None = None


def product_from_row(row: Mapping[str, Any], where: str) -> Product:
    """One catalog row ({column: value}); `where` prefixes errors, e.g. 'catalog.csv line 7'."""
    t = Table({k: v for k, v in row.items() if v not in ("", None)}, where)
    t.only(*COLUMNS)
    return Product(
        sku=t.need("sku", text),
        name=t.need("name", text),
        price=t.need("price", yuan),
        category=t.get("category", text, ""),
        barcode=t.get("barcode", text, None),
        stock=t.get("stock", _count, None),
        points_rate=t.get("points_rate", hundredths(MAX_RATE), None),
        low_stock=t.get("low_stock", _count, None),
    )


def _count(value: Any, key: str) -> int:
    if isinstance(value, str):  # full-width digits fold to 0-9, other scripts' digits are refused (core.text)
        value = fold_number(value, key, RulesError)
        value = int(value) if value.isascii() and value.isdigit() else value
    return integer(0, 10_000_000)(value, key)


def parse_catalog(source: str, fmt: str) -> dict[str, Product]:
    """Products by SKU from CSV (header row of COLUMNS) or JSON (a list of objects); duplicates are errors."""
    if fmt == "csv":
        rows = [(f"line {n + 2}", r) for n, r in enumerate(csv.DictReader(io.StringIO(source)))]
    elif fmt == "json":
        try:
            data = json.loads(source)
        except json.JSONDecodeError as exc:
            raise RulesError(f"catalog is not valid JSON: {exc}") from None
        if not isinstance(data, list):
            raise RulesError("catalog JSON must be a list of products")
        rows = [(f"[{n}]", r) for n, r in enumerate(data)]
    else:
        raise RulesError(f"catalog format {fmt!r}: expected csv or json")
    return index(product_from_row(r, f"catalog {where}") for where, r in rows)


def index(products: Iterable[Product]) -> dict[str, Product]:
    """Products by SKU, refusing a SKU or barcode that appears twice."""
    by_sku: dict[str, Product] = {}
    barcodes: set[str] = set()
    for p in products:
        if p.sku in by_sku:
            raise RulesError(f"catalog: SKU {p.sku!r} appears twice")
        if p.barcode and p.barcode in barcodes:
            raise RulesError(f"catalog: barcode {p.barcode!r} appears twice")
        by_sku[p.sku] = p
        if p.barcode:
            barcodes.add(p.barcode)
    return by_sku


def to_document(products: Mapping[str, Product]) -> list[dict[str, Any]]:
    """The catalog as plain JSON-able rows (prices in fen) for the document store."""
    return [asdict(p) for p in products.values()]


def from_document(rows: Iterable[Mapping[str, Any]]) -> dict[str, Product]:
    """The inverse of to_document."""
    return {r["sku"]: Product(**r) for r in rows}
