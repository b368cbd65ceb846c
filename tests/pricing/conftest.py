"""Shared fixtures of the pricing tests: the demo rulebook and catalog, members, and both pricing engines."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import native
from core.catalog import parse_catalog
from core.pricing import price_basket
from core.quote_input import MemberState
from core.rules_toml import parse_rules

DEMO = Path(__file__).resolve().parents[2] / "kiosk" / "demo"
RULES = parse_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
CATALOG = parse_catalog((DEMO / "catalog.csv").read_text(encoding="utf-8"), "csv")
MONDAY = dt.datetime(2026, 11, 23, 10, 0)  # not a member day, not in the fruit promotion's edge
WEDNESDAY = dt.datetime(2026, 11, 25, 10, 0)  # member day in the demo rules


def load_demo_shop(cli, folder: Path) -> None:
    """Load the demo rulebook and catalog through the installed command. The console script reads the real clock,
    so the rulebook goes in without its dated windows and the tests hold in any year."""
    rules = folder / "rules.toml"
    rules.write_text("\n".join(line for line in (DEMO / "rules.toml").read_text(encoding="utf-8").splitlines()
                               if not line.startswith("valid_")), encoding="utf-8")
    cli("rules", "load", str(rules))
    cli("catalog", "load", str(DEMO / "catalog.csv"))


def member(tier: str = "普通", **kw) -> MemberState:
    """A member with a birthday outside November unless the test says otherwise."""
    return MemberState(member_id=kw.pop("member_id", "M1"), tier=tier, birthday=kw.pop("birthday", dt.date(1990, 5, 17)), **kw)


@pytest.fixture(params=["reference", "native"])
def pricer(request):
    """Every quote test runs on the pure reference and on the Cython kernel."""
    if request.param == "reference":
        return price_basket
    if not native.AVAILABLE:
        pytest.skip(f"native kernels not in use ({native.REASON}); `pip install -e .` builds them")
    return native.price_basket
