"""Rulebook and catalog: check a rules file, load it, load the product catalog."""
from __future__ import annotations

import argparse
from pathlib import Path

from core.catalog import parse_catalog
from core.rules_toml import parse_rules
from kiosk.cli.common import add_command, emit, open_kiosk


def _summary(path: str) -> tuple[str, dict]:
    source = Path(path).read_text(encoding="utf-8")
    r = parse_rules(source)
    counts = {"tiers": len(r.tiers.levels), "topup_brackets": len(r.topup), "punch_cards": len(r.punch_cards),
              "coupons": len(r.coupons), "category_discounts": len(r.category_discounts),
              "threshold_discounts": len(r.thresholds)}
    return source, counts


def _check(args: argparse.Namespace) -> int:
    _, counts = _summary(args.file)
    emit(args, {"ok": True, **counts}, f"{args.file}: ok (" + ", ".join(f"{v} {k}" for k, v in counts.items()) + ")")
    return 0


def _load(args: argparse.Namespace) -> int:
    source, counts = _summary(args.file)
    with open_kiosk(args) as kiosk:
        kiosk.sales.load_rules(source)
    emit(args, {"loaded": True, **counts}, f"{args.file}: loaded")
    return 0


def _catalog_load(args: argparse.Namespace) -> int:
    path = Path(args.file)
    products = parse_catalog(path.read_text(encoding="utf-8"), "json" if path.suffix == ".json" else "csv")
    with open_kiosk(args) as kiosk:
        events = kiosk.sales.load_catalog(products)
    moved = sum(len(e.deltas.get("stock", {})) for e in events)
    emit(args, {"products": len(products), "stock_adjusted": moved},
         f"{len(products)} products loaded, stock set for {moved}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `rules check|load` and `catalog load`."""
    rules = add_command(subparsers, "rules", None, "check or load the pricing and points rulebook")
    sub = rules.add_subparsers(dest="rules_command", metavar="COMMAND", required=True)
    add_command(sub, "check", _check, "validate a rules file; errors name the bad key").add_argument("file")
    add_command(sub, "load", _load, "validate a rules file and make it the kiosk's rulebook").add_argument("file")
    catalog = add_command(subparsers, "catalog", None, "the product catalog")
    sub = catalog.add_subparsers(dest="catalog_command", metavar="COMMAND", required=True)
    add_command(sub, "load", _catalog_load, "load products from CSV or JSON (SKU, barcode, name, price, category, "
                "stock, points_rate, low_stock); stock levels are set through the ledger").add_argument("file")
