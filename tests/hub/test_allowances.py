"""Escrow at the hub: a member's allowances never add up to more than the balance, whatever kiosks do."""
from __future__ import annotations

import itertools
import threading
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqtt.hub.apply import Batch
from mqtt.hub.store import HubStore
from tests.hub.helpers import event

KIOSKS = ("k1", "k2", "k3")
KINDS = ("stored_value", "points", "visits:wash")


def promised(hub: HubStore, member: str, kind: str) -> int:
    return sum(a.amount for a in hub.allowances(member) if a.kind == kind)


def balance(hub: HubStore, member: str, kind: str) -> int:
    b = hub.balances(member)
    return b.visits.get("wash", 0) if kind == "visits:wash" else getattr(b, kind)


class Kiosks:
    """Kiosks that make events for one member, each numbering its own and spending only within its allowance."""

    def __init__(self, hub: HubStore, member: str) -> None:
        self.hub, self.member = hub, member
        self.seq = dict.fromkeys(KIOSKS, 0)
        self.prefix = uuid.uuid4().hex[:8]  # kiosk ids of this example only: event ids never repeat across examples

    def post(self, kiosk: str, kind: str, delta: int) -> None:
        """Commit one event at `kiosk` and deliver it to the hub."""
        self.seq[kiosk] += 1
        k = f"{self.prefix}-{kiosk}"
        amounts = {"visits": {"wash": delta}} if kind == "visits:wash" else {kind: delta}
        e = event(k, self.seq[kiosk], self.member)
        e = type(e)(**{**e.__dict__, "deltas": amounts})
        self.hub.apply([Batch(k, [e])])

    def allowance(self, kiosk: str, kind: str) -> int:
        k = f"{self.prefix}-{kiosk}"
        return sum(a.amount for a in self.hub.allowances(self.member) if a.kiosk_id == k and a.kind == kind)


ops = st.lists(st.tuples(st.sampled_from(("earn", "grant", "spend", "release")), st.sampled_from(KIOSKS),
                         st.sampled_from(KINDS), st.integers(1, 500)), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops)
def test_allowances_never_exceed_the_balance(hub: HubStore, script: list[tuple[str, str, str, int]]) -> None:
    member = f"m-{uuid.uuid4().hex[:12]}"
    kiosks = Kiosks(hub, member)
    for op, kiosk, kind, n in script:
        k = f"{kiosks.prefix}-{kiosk}"
        if op == "earn":
            kiosks.post(kiosk, kind, n)
        elif op == "grant":
            hub.grant(member, k, kind, n)
        elif op == "spend":  # offline: the kiosk spends what its allowance covers, no more
            n = min(n, kiosks.allowance(kiosk, kind))
            if n:
                kiosks.post(kiosk, kind, -n)
        else:
            hub.release(member, k, kind, n)
        for kd in KINDS:
            assert 0 <= promised(hub, member, kd) <= balance(hub, member, kd)
    assert hub.reconcile() == []  # spending within allowances never overdraws


def test_a_grant_gives_only_what_no_other_kiosk_was_promised(hub: HubStore) -> None:
    hub.apply([Batch("k1", [event("k1", 1, stored_value=1000)])])
    assert hub.grant("m1", "k1", "stored_value", 700) == 700
    assert hub.grant("m1", "k2", "stored_value", 700) == 300
    assert hub.grant("m1", "k3", "stored_value", 1) == 0
    assert hub.release("m1", "k1", "stored_value", 200) == 500
    assert hub.grant("m1", "k3", "stored_value", 500) == 200
    assert hub.release("m1", "k2", "stored_value") == 0
    hub.apply([Batch("k3", [event("k3", 1, stored_value=-150)])])  # k3 spent within its allowance
    assert [(a.kiosk_id, a.amount) for a in hub.allowances("m1")] == [("k1", 500), ("k3", 50)]
    assert hub.balances("m1").stored_value == 850
    with pytest.raises(ValueError, match="no spendable balance is called 'gold'"):
        hub.grant("m1", "k1", "gold", 1)


def test_workers_granting_at_once_never_promise_the_same_money_twice(store_url: str) -> None:
    """Four hub workers, each with its own connection, grant one member's balance to kiosks as fast as they can."""
    with HubStore.open(store_url) as setup:
        setup.apply([Batch("k0", [event("k0", 1, stored_value=5000)])])
    start = threading.Barrier(4)
    granted: list[int] = []

    def worker(w: int) -> None:
        with HubStore.open(store_url) as store:
            start.wait(timeout=10)
            for i in itertools.islice(itertools.count(), 40):
                kiosk = f"k{w}-{i % 3}"
                before = sum(a.amount for a in store.allowances("m1") if a.kiosk_id == kiosk)
                granted.append(store.grant("m1", kiosk, "stored_value", 97) - before)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    with HubStore.open(store_url) as store:
        assert promised(store, "m1", "stored_value") == 5000 == sum(granted)
