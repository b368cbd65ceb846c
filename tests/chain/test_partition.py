"""Two kiosks cut off from head office spend one member's stored value on their own: with allowances that sum to at
most the balance, the member's stored value never goes below zero once their events meet (seeded random trials).
The same trials without the escrow overdraw, which shows the trials reach the edge they guard."""
from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Iterator

import pytest

from core.errors import SpendOffline
from core.quote_input import BasketLine, TenderRequest
from kiosk.app import Kiosk
from kiosk.services.members import Registration
from kiosk.services.topup import top_up
from kiosk.store.ingest import overdrafts
from tests.chain.conftest import open_chain_kiosk
from tests.pricing.conftest import CATALOG, DEMO
from tests.sync.helpers import stored

TRIALS = 60
OPS = 16
SEED = 20261118
BASKETS = (("CHIPS", 1, 6), ("NUTS", 1, 1), ("TEA-500", 1, 10), ("MILK-1L", 1, 4))


@pytest.fixture
def partitioned(tmp_path: Path, clock) -> Iterator[tuple[Kiosk, Kiosk]]:
    """Kiosks A and B of one store in a chain, with the demo rules and an unstocked catalog, no way to head office."""
    kiosks = [open_chain_kiosk(tmp_path, clock, name) for name in ("A", "B")]
    unstocked = {sku: dataclasses.replace(p, stock=None) for sku, p in CATALOG.items()}
    for k in kiosks:
        k.staff.add("M01", "店长 陈", "manager", "888888")  # pays with stored value by override: no PIN hash per sale
        k.sales.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
        k.sales.load_catalog(unstocked)
    yield kiosks[0], kiosks[1]
    for k in kiosks:
        k.close()


def _meet(src: Kiosk, dst: Kiosk) -> None:
    """`dst` takes what head office would pass on from `src`: its member changes, and its events of members."""
    dst.chain.apply_directory_page([c for _pos, c in src.chain.directory_outbox(0, 100_000)], 0)
    after = dst.chain.state().cursors.get(src.who.kiosk_id, 0)
    dst.chain.apply_events_page([e for e in src.chain.outbox(after, 100_000) if e.member_id],
                                {src.who.kiosk_id: src.chain.head()})


def _grant(k: Kiosk, member: str, amount: int, epoch: int) -> None:
    """Head office holds all of `k`'s events and promises it `amount` of the member's stored value."""
    head = k.chain.head()
    k.chain.record_ack(head, None)
    k.chain.set_allowances(epoch, head, {member: {"stored_value": amount}})


@pytest.mark.parametrize("escrow", [True, False], ids=["escrow", "no-escrow"])
def test_partitioned_kiosks_never_overdraw_a_member_within_their_allowances(partitioned, escrow: bool) -> None:
    a, b = partitioned
    if not escrow:
        a.gateway.escrow = b.gateway.escrow = None
    overdrawn, refused = 0, 0
    for trial in range(TRIALS):
        rng = random.Random(SEED + trial)
        member = a.members.register(Registration(phone=f"138{trial:08d}", consent=True, name="张三")).member.member_id
        top_up(a.members, member, rng.randrange(2_000, 20_000, 100))
        _meet(a, b)
        balance = stored(a, member)
        share_a = rng.randint(0, balance)
        _grant(a, member, share_a, trial + 1)
        _grant(b, member, rng.randint(0, balance - share_a), trial + 1)
        for _ in range(OPS):
            k = rng.choice((a, b))
            if rng.random() < 0.2:
                top_up(k.members, member, rng.choice((100, 500, 1_000)))
                continue
            sku, low, high = rng.choice(BASKETS)
            try:
                k.sales.checkout(member, [BasketLine(sku, rng.randint(low, high))],
                                 tender=TenderRequest(stored_value=True), override=True)
            except SpendOffline:
                refused += 1
        _meet(a, b)
        _meet(b, a)
        assert stored(a, member) == stored(b, member)
        overdrawn += stored(a, member) < 0
    if escrow:
        assert overdrawn == 0 and refused > 0
        for k in (a, b):
            with k.db.reading() as conn:
                assert [o for o in overdrafts(conn) if o[1] == "stored_value"] == []
    else:
        assert overdrawn > 0
