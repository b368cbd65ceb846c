"""A full disk: a clear error, the last commit stands, nothing half-written, and work resumes once space is freed."""
from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.app import Kiosk
from kiosk.services.members import Registration
from kiosk.services.topup import top_up
from kiosk.store.documents import DOCS_FILE, load_verified, replace_table
from kiosk.store.errors import StoreFull
from kiosk.store.verify import verify_ledger



def test_commits_fail_cleanly_when_the_disk_fills(tiny_disk: Path, clock) -> None:
    data = tiny_disk / "data"
    with Kiosk.open(data, clock=clock, kiosk_id="f") as kiosk:
        member_id = kiosk.members.register(Registration(phone="13800138000", consent=True)).member.member_id
        replace_table(kiosk.docs, "settings", [{"store_name": "小店"}])
        filler = tiny_disk / "filler"
        with filler.open("wb") as f:  # leave a little room, then fill it with top-ups
            f.write(b"\0" * (1024 * 1024 - sum(p.stat().st_size for p in tiny_disk.rglob("*") if p.is_file()) - 120_000))
        credited = 0
        with pytest.raises(StoreFull, match="disk is full: nothing was saved"):
            for _ in range(5000):
                top_up(kiosk.members, member_id, 100)
                credited += 100
        assert credited > 0
        assert kiosk.members.get(member_id).balances.stored_value == credited
        with pytest.raises(StoreFull, match="documents.json was not changed"):
            replace_table(kiosk.docs, "catalog", [{"sku": f"S{i}", "name": "商品" * 50} for i in range(2000)])
        assert load_verified(data / DOCS_FILE) == {"settings": {"1": {"store_name": "小店"}}}
        assert not list(data.glob(".*.tmp"))
        filler.unlink()
        top_up(kiosk.members, member_id, 100)
    with Kiosk.open(data, clock=clock) as kiosk:
        assert kiosk.members.get(member_id).balances.stored_value == credited + 100
        with kiosk.db.reading() as conn:
            assert verify_ledger(conn) == []
