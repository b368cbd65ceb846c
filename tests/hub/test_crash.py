"""Kill -9 a process in the middle of applying: what it acked survives, nothing is applied twice, nothing is lost."""
from __future__ import annotations

import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from mqtt.hub.store import HubStore
from tests.hub.apply_child import MEMBERS, amount

ROUNDS = 6
REPO = Path(__file__).resolve().parents[2]


def _run_and_kill(url: str, rng: random.Random) -> int:
    """Start the child, let it apply for a random while, SIGKILL it; the last watermark it reported acked."""
    child = subprocess.Popen([sys.executable, "-m", "tests.hub.apply_child", url, "k1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, text=True)
    ready, _, _ = select.select([child.stdout], [], [], 30)
    assert ready and child.stdout.readline().strip() == "ready", child.stderr.read()
    time.sleep(rng.uniform(0.05, 0.4))
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    acked = [int(line.split()[1]) for line in out.splitlines()]
    return acked[-1] if acked else 0


def test_the_store_survives_kill_minus_nine_mid_apply(store_url: str) -> None:
    rng = random.Random(20261110)
    acked = 0
    for _ in range(ROUNDS):
        acked = max(acked, _run_and_kill(store_url, rng))
        with HubStore.open(store_url) as hub:
            held = hub.watermark("k1")
            assert held >= acked, f"the child was acked up to {acked} but the hub holds only {held}"
            events = hub.events("k1", limit=10**6)
            assert [e.seq for e in events] == list(range(1, held + 1)), "a gap or an event past the watermark"
            assert all(e.deltas.get("stored_value", 0) == amount(e.seq) for e in events)
            for m in range(MEMBERS):  # each event counted exactly once in the balances
                assert hub.balances(f"m{m}").stored_value == sum(amount(s) for s in range(1, held + 1) if s % MEMBERS == m)
    assert acked > 100, "the child barely applied anything: the test proved nothing"
