"""A child process for the hub crash test: applies a kiosk's events in a loop and reports each commit after it returns.

Run as `python -m tests.hub.apply_child URL KIOSK`; the parent SIGKILLs it at a random moment. Each round resumes
from the hub's watermark and re-sends the tail before it (a kiosk that never saw its last ack does), so the hub must
ignore those. A line `acked SEQ` means every event of KIOSK up to SEQ was committed and must survive the kill.
"""
from __future__ import annotations

import random
import sys

from mqtt.hub.apply import Batch
from mqtt.hub.store import HubStore
from tests.hub.helpers import event

MEMBERS = 5


def amount(seq: int) -> int:
    """The stored value event `seq` moves: deterministic, so a re-sent event is the same event."""
    return (seq * 7919) % 1000 - 300


def loop(url: str, kiosk: str) -> None:
    """Apply batches of 1 to 50 events, each overlapping what the hub already holds."""
    with HubStore.open(url) as hub:
        seq = hub.watermark(kiosk)
        print("ready", flush=True)
        while True:
            first = max(1, seq - random.randrange(0, 5))
            last = seq + random.randrange(1, 51)
            events = [event(kiosk, s, f"m{s % MEMBERS}", amount(s)) for s in range(first, last + 1)]
            random.shuffle(events)
            half = len(events) // 2  # two batches of one kiosk in one group commit
            [*_, ack] = hub.apply([Batch(kiosk, events[:half]), Batch(kiosk, events[half:])])
            seq = ack.watermark
            print(f"acked {seq}", flush=True)


if __name__ == "__main__":
    loop(sys.argv[1], sys.argv[2])
