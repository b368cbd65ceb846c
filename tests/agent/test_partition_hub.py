"""Two kiosks of two stores cut off from head office spend one member's stored value on what the real hub granted
them: after they reconnect, the hub and both kiosks agree and nothing was overdrawn (seeded random trials)."""
from __future__ import annotations

import random

from core.errors import InsufficientBalance, SpendOffline
from kiosk.store import pins as pin_rows
from tests.agent.test_protocol import wait_until
from tests.sync.helpers import load_shop, member_with, spend, stored

TRIALS = 3
OPS = 10
SEED = 20261130


def granted(k, member: str) -> int:
    """The stored value kiosk `k` was promised of the member, as its status shows."""
    return sum(a["amount"] for a in k.chain.status()["allowances"]
               if a["member_id"] == member and a["kind"] == "stored_value")


def knows_pin(k, member: str) -> bool:
    """Whether kiosk `k` holds the member's PIN: it comes with the directory feed, apart from the balance's events."""
    with k.db.reading() as conn:
        row = pin_rows.get(conn, "members", member)
    return row is not None and row[0] is not None


def test_partitioned_kiosks_spend_within_the_hubs_grants_and_never_overdraw(open_kiosk, start_agent,
                                                                            start_hub) -> None:
    hub = start_hub()
    a, b = open_kiosk("shop1-k1"), open_kiosk("shop2-k1")
    for k in (a, b):
        load_shop(k)
    refused = spent = 0
    for trial in range(TRIALS):
        rng = random.Random(SEED + trial)
        member = member_with(a, f"1390000000{trial}", rng.randrange(3_000, 12_000, 100))
        agents = [start_agent(a), start_agent(b)]
        for k, agent in zip((a, b), agents):
            k.set_asker(agent.asker)
        wait_until(lambda: stored(b, member) == stored(a, member) and granted(a, member) > 0
                   and knows_pin(b, member))
        spend(b, member, 1)  # online: beyond B's allowance (none), the hub grants it; then B is offered a share
        wait_until(lambda: granted(b, member) > 0 and stored(a, member) == stored(b, member), timeout=15)
        promised = granted(a, member) + granted(b, member)
        assert promised <= hub.balances(member).stored_value  # escrow: never more promised than there is
        for agent in agents:  # the partition: neither kiosk reaches head office
            agent.stop()
        for k in (a, b):
            k.set_asker(None)
        for _ in range(OPS):
            try:
                spend(rng.choice((a, b)), member, rng.randint(1, 3))
                spent += 1
            except (SpendOffline, InsufficientBalance):
                refused += 1
        agents = [start_agent(a), start_agent(b)]  # healed
        for k in (a, b):
            wait_until(lambda k=k: k.chain.state().acked_seq == k.chain.head(), timeout=15)
        wait_until(lambda: stored(a, member) == stored(b, member) == hub.balances(member).stored_value, timeout=15)
        assert stored(a, member) >= 0
        assert [r for r in hub.reconcile() if r.member_id == member] == []  # no overdraft for a manager to settle
        for agent in agents:
            agent.stop()
    assert spent > 0 and refused > 0  # offline sales went through, and the trials reached the edge guarded
