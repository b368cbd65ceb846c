"""Demo rulebook and catalog (every rule kind), loaded beside the demo members so checkout works in the demo."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from core.catalog import parse_catalog

HERE = Path(__file__).resolve().parent


def seed_pricing(kiosk: Any) -> None:
    """Load kiosk/demo/rules.toml and catalog.csv into the kiosk's documents (stock through the ledger)."""
    sales = kiosk.sales
    sales.load_rules((HERE / "rules.toml").read_text(encoding="utf-8"))
    sales.load_catalog(parse_catalog((HERE / "catalog.csv").read_text(encoding="utf-8"), "csv"))
