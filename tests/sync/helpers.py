"""Helpers for two kiosks of one store: members, spending, moving events and files between them."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from core.codec import from_wire, to_wire
from core.events import Event
from core.quote_input import BasketLine, TenderRequest
from kiosk.app import Kiosk
from kiosk.services.members import Registration
from kiosk.services.topup import top_up
from kiosk.store import ledger
from kiosk.store.verify import verify_ledger
from tests.pricing.conftest import CATALOG, DEMO

STORE = "s1"
PIN = "123456"  # every helper member's: stored value is spent only with it


def share_pii_key(chain: Path, *key_dirs: Path) -> None:
    """Give each kiosk's key dir the chain's one pii.key, as the hub does when it enrols a kiosk: member records
    travel sealed in sync files, and only a kiosk holding the same key opens them."""
    if not chain.exists():
        chain.write_bytes(os.urandom(32))
    for key_dir in key_dirs:
        key_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
        shutil.copyfile(chain, key_dir / "pii.key")
        (key_dir / "pii.key").chmod(0o640)


def load_shop(k: Kiosk) -> None:
    """The demo rules and catalog."""
    k.sales.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
    k.sales.load_catalog(CATALOG)


def member_with(k: Kiosk, phone: str, fen: int, card: str | None = None) -> str:
    """A member registered at `k` with `fen` of stored value."""
    reg = Registration(phone=phone, consent=True, card=card, name="张三", pin=PIN)
    member_id = k.members.register(reg).member.member_id
    top_up(k.members, member_id, fen)
    return member_id


def spend(k: Kiosk, member_id: str, chips: int) -> None:
    """Buy `chips` bags of chips (¥7.50 each) with stored value."""
    k.sales.checkout(member_id, [BasketLine("CHIPS", chips)], tender=TenderRequest(stored_value=True), pin=PIN)


def events_of(k: Kiosk) -> list[Event]:
    """Every event `k` holds, through the wire codec (as another kiosk receives them)."""
    with k.db.reading() as conn:
        return [from_wire(to_wire(e)) for _pos, e, _crc, _c in ledger.all_events(conn)]


def stored(k: Kiosk, member_id: str) -> int:
    """The member's stored value in fen at `k`."""
    with k.db.reading() as conn:
        return ledger.load_balances(conn, member_id).stored_value


def clean(k: Kiosk) -> list[str]:
    """What verify finds wrong at `k`."""
    with k.db.reading() as conn:
        return [str(p) for p in verify_ledger(conn)]


def exchange(a: Kiosk, b: Kiosk, tmp: Path) -> None:
    """A's file into B, then B's into A."""
    a.sync.export(tmp / "a.sync")
    b.sync.import_file(tmp / "a.sync")
    b.sync.export(tmp / "b.sync")
    a.sync.import_file(tmp / "b.sync")
