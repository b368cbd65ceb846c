"""A full disk, and a nearly full one, on a real (tmpfs) filesystem: money pauses below store.min_free_mb with a
message a cashier can act on, nothing is half-written, and sales resume by themselves once space is freed; below
that, SQLite's own ENOSPC leaves the last commit standing."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from kiosk.app import Kiosk
from kiosk.services.members import Registration
from kiosk.services.topup import top_up
from kiosk.store.documents import DOCS_FILE, load_verified, replace_table
from kiosk.store.errors import StoreFull, StoreNearlyFull
from kiosk.store.space import RECHECK_S
from kiosk.store.verify import verify_ledger
from kiosk.ui.i18n import error_text

MIB = 1024 * 1024


def _fill_until_free(disk: Path, free: int) -> Path:
    """A file that leaves about `free` bytes on the filesystem of `disk`."""
    st = os.statvfs(disk)
    filler = disk / "filler"
    with filler.open("wb") as f:
        f.write(b"\0" * (st.f_bavail * st.f_frsize - free))
    return filler


def _events(kiosk: Kiosk) -> int:
    with kiosk.db.reading() as conn:
        return conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]


@pytest.mark.parametrize("tiny_disk", ["8m"], indirect=True)
def test_sales_pause_below_the_floor_and_resume_when_space_returns(tiny_disk: Path, clock, monkeypatch) -> None:
    monkeypatch.setenv("MEMBERKIOSK_MIN_FREE_MB", "3")
    data = tiny_disk / "data"
    with Kiosk.open(data, clock=clock, kiosk_id="f") as kiosk:
        member_id = kiosk.members.register(Registration(phone="13800138000", consent=True)).member.member_id
        top_up(kiosk.members, member_id, 100)
        filler = _fill_until_free(tiny_disk, 2 * MIB)
        time.sleep(RECHECK_S)  # the last measure (room) stands this long
        before = _events(kiosk)
        with pytest.raises(StoreNearlyFull, match="Storage almost full: sales are paused") as refused:
            top_up(kiosk.members, member_id, 100)
        assert isinstance(refused.value, StoreFull) and "MiB free, 3 MiB needed" in str(refused.value)
        assert "存储空间即将用尽" in error_text("zh_CN", refused.value)  # what the touch screen says
        assert _events(kiosk) == before and kiosk.members.get(member_id).balances.stored_value == 100
        kiosk.members.register(Registration(phone="13800138001", consent=True))  # moving no money still works
        filler.unlink()
        top_up(kiosk.members, member_id, 100)  # no restart: the next sale measures again
        assert kiosk.members.get(member_id).balances.stored_value == 200
        with kiosk.db.reading() as conn:
            assert verify_ledger(conn) == []


@pytest.mark.parametrize("tiny_disk", ["2m"], indirect=True)
def test_commits_fail_cleanly_when_the_disk_fills(tiny_disk: Path, clock, monkeypatch) -> None:
    monkeypatch.setenv("MEMBERKIOSK_MIN_FREE_MB", "0")  # no floor: fill the disk to SQLite's own ENOSPC
    data = tiny_disk / "data"
    with Kiosk.open(data, clock=clock, kiosk_id="f") as kiosk:
        member_id = kiosk.members.register(Registration(phone="13800138000", consent=True)).member.member_id
        replace_table(kiosk.docs, "settings", [{"store_name": "小店"}])
        filler = tiny_disk / "filler"
        with filler.open("wb") as f:  # leave a little room, then fill it with top-ups
            f.write(b"\0" * (2 * MIB - sum(p.stat().st_size for p in tiny_disk.rglob("*") if p.is_file()) - 120_000))
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
